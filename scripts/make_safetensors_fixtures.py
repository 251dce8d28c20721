#!/usr/bin/env python3
"""Write the Hugging Face model fixtures: small real safetensors models and header-only large ones.

Small models (models/hf/NAME/): config.json + real *.safetensors written by the `safetensors`
package (the library transformers and vLLM load with), tiny dimensions, deterministic data. One
is sharded with a model.safetensors.index.json, as big checkpoints are.

Large models (tests/fixtures/hf-large/NAME/): config.json with the facts of the model card and
`shards.json`, the exact header JSON of every shard (names, dtypes, real shapes, offsets). The
Rust tests materialise each shard as a sparse file (8-byte length + header + a hole of the data
size), so a 16 GB checkpoint costs a few KB on disk and nothing in git.

Deterministic: a rerun rewrites every file byte-identically (`git diff --exit-code` is the check).
Usage: python3 scripts/make_safetensors_fixtures.py
Needs: pip install safetensors==0.8.0 numpy
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DTYPE_BYTES = {"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1, "U8": 1, "I32": 4}


def llama_tensors(c, dtype, qk_norm=False, moe=None, mla=None, sinks=False, qkv_bias=False, sandwich=False):
    """(name, shape, dtype) in HF naming, for the layouts transformers writes."""
    h, v, L = c["hidden_size"], c["vocab_size"], c["num_hidden_layers"]
    nh, nkv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    hd = c.get("head_dim") or h // nh
    out = [("model.embed_tokens.weight", [v, h], dtype)]
    for i in range(L):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", [h], dtype), (p + "post_attention_layernorm.weight", [h], dtype)]
        if sandwich:  # Gemma 2/3: norms before and after the feed-forward too
            out += [(p + "pre_feedforward_layernorm.weight", [h], dtype), (p + "post_feedforward_layernorm.weight", [h], dtype)]
        if mla:
            r, rope, nope, vd = mla["kv_lora_rank"], mla["qk_rope_head_dim"], mla["qk_nope_head_dim"], mla["v_head_dim"]
            out += [
                (p + "self_attn.q_proj.weight", [nh * (nope + rope), h], dtype),
                (p + "self_attn.kv_a_proj_with_mqa.weight", [r + rope, h], dtype),
                (p + "self_attn.kv_a_layernorm.weight", [r], dtype),
                (p + "self_attn.kv_b_proj.weight", [nh * (nope + vd), r], dtype),
                (p + "self_attn.o_proj.weight", [h, nh * vd], dtype),
            ]
        else:
            out += [
                (p + "self_attn.q_proj.weight", [nh * hd, h], dtype),
                (p + "self_attn.k_proj.weight", [nkv * hd, h], dtype),
                (p + "self_attn.v_proj.weight", [nkv * hd, h], dtype),
                (p + "self_attn.o_proj.weight", [h, nh * hd], dtype),
            ]
            if qkv_bias:
                out += [(p + "self_attn.q_proj.bias", [nh * hd], dtype), (p + "self_attn.k_proj.bias", [nkv * hd], dtype),
                        (p + "self_attn.v_proj.bias", [nkv * hd], dtype)]
            if qk_norm:
                out += [(p + "self_attn.q_norm.weight", [hd], dtype), (p + "self_attn.k_norm.weight", [hd], dtype)]
            if sinks:
                out += [(p + "self_attn.sinks", [nh], dtype)]
        if moe and i >= moe.get("first_dense", 0):
            e, fi = moe["experts"], moe["ff"]
            out += [(p + "mlp.gate.weight", [e, h], dtype)]
            for x in range(e):
                for n, shp in (("gate_proj", [fi, h]), ("up_proj", [fi, h]), ("down_proj", [h, fi])):
                    out += [(p + f"mlp.experts.{x}.{n}.weight", shp, dtype)]
            if moe.get("shared"):
                sf = fi * moe["shared"]
                for n, shp in (("gate_proj", [sf, h]), ("up_proj", [sf, h]), ("down_proj", [h, sf])):
                    out += [(p + f"mlp.shared_experts.{n}.weight", shp, dtype)]
        else:
            fi = c["intermediate_size"]
            out += [(p + "mlp.gate_proj.weight", [fi, h], dtype), (p + "mlp.up_proj.weight", [fi, h], dtype),
                    (p + "mlp.down_proj.weight", [h, fi], dtype)]
    out += [("model.norm.weight", [h], dtype)]
    if not c.get("tie_word_embeddings"):
        out += [("lm_head.weight", [v, h], dtype)]
    return out


def header(tensors):
    """The header JSON safetensors writes: tensors in order, contiguous offsets."""
    hdr, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, dt in tensors:
        n = int(np.prod(shape)) * DTYPE_BYTES[dt]
        hdr[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    return hdr


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def small(name, config, tensors, shards=1):
    d = os.path.join(ROOT, "models", "hf", name)
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), config)
    rng = np.random.default_rng(len(name))
    arrays = {}
    for tname, shape, dt in tensors:
        np_dt = {"F16": np.float16, "F32": np.float32}[dt]
        arrays[tname] = (rng.standard_normal(int(np.prod(shape)), dtype=np.float32) * 0.02).astype(np_dt).reshape(shape)
    names = [t[0] for t in tensors]
    if shards == 1:
        save_file(arrays, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        return
    per = -(-len(names) // shards)
    weight_map, total = {}, 0
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: arrays[n] for n in names[s * per:(s + 1) * per]}
        save_file(part, os.path.join(d, fname), metadata={"format": "pt"})
        for n, a in part.items():
            weight_map[n] = fname
            total += a.nbytes
    write_json(os.path.join(d, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})


def expect(name):
    """What the safetensors package's reader reports: every tensor's dtype and shape per shard."""
    from safetensors import safe_open
    d = os.path.join(ROOT, "models", "hf", name)
    view = {}
    for f in sorted(x for x in os.listdir(d) if x.endswith(".safetensors")):
        with safe_open(os.path.join(d, f), "np") as st:
            view[f] = {k: {"dtype": st.get_slice(k).get_dtype(), "shape": st.get_slice(k).get_shape()}
                       for k in st.keys()}
    write_json(os.path.join(ROOT, "models", "hf", name + ".expect.json"), view)


def large(name, config, tensors, shard_bytes=5 << 30):
    d = os.path.join(ROOT, "tests", "fixtures", "hf-large", name)
    os.makedirs(d, exist_ok=True)
    write_json(os.path.join(d, "config.json"), config)
    groups, cur, size = [], [], 0
    for t in tensors:
        n = int(np.prod(t[1])) * DTYPE_BYTES[t[2]]
        if cur and size + n > shard_bytes:
            groups.append(cur)
            cur, size = [], 0
        cur.append(t)
        size += n
    groups.append(cur)
    shards = {f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors": header(g) for i, g in enumerate(groups)}
    with open(os.path.join(d, "shards.json"), "w") as f:
        json.dump(shards, f, separators=(",", ":"))
        f.write("\n")


BASE = dict(hidden_size=64, vocab_size=320, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, intermediate_size=128, max_position_embeddings=4096,
            rms_norm_eps=1e-5, torch_dtype="float16", tie_word_embeddings=False)


def main():
    c = dict(BASE, model_type="llama", architectures=["LlamaForCausalLM"], rope_theta=500000.0,
             rope_scaling={"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 1024,
                           "low_freq_factor": 1.0, "high_freq_factor": 4.0})
    small("llama", c, llama_tensors(c, "F16"), shards=2)
    c = dict(BASE, model_type="qwen3", architectures=["Qwen3ForCausalLM"], head_dim=32,
             sliding_window=None, use_sliding_window=False, tie_word_embeddings=True)
    small("qwen3", c, llama_tensors(c, "F16", qk_norm=True))
    c = dict(BASE, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"], head_dim=16,
             num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, decoder_sparse_step=1,
             sliding_window=None, use_sliding_window=False)
    small("qwen3-moe", c, llama_tensors(c, "F16", qk_norm=True, moe={"experts": 8, "ff": 32}))
    mla = dict(kv_lora_rank=32, qk_rope_head_dim=8, qk_nope_head_dim=16, v_head_dim=16)
    c = dict(BASE, model_type="deepseek_v3", architectures=["DeepseekV3ForCausalLM"], **mla,
             q_lora_rank=None, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1,
             moe_intermediate_size=32, first_k_dense_replace=1, num_key_value_heads=4,
             max_position_embeddings=16384,
             rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4096,
                           "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 1.0})
    small("deepseek-mla", c, llama_tensors(c, "F16", mla=mla, moe={"experts": 8, "ff": 32, "shared": 1, "first_dense": 1}))
    c = dict(BASE, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], num_hidden_layers=6,
             head_dim=32, num_key_value_heads=1, sliding_window=512, tie_word_embeddings=True,
             max_position_embeddings=32768, torch_dtype="float32",
             layer_types=["sliding_attention"] * 5 + ["full_attention"],
             rope_scaling={"rope_type": "linear", "factor": 8.0})
    small("gemma3-swa", c, llama_tensors(c, "F32", qk_norm=True, sandwich=True))
    c = dict(BASE, model_type="gpt_oss", architectures=["GptOssForCausalLM"], head_dim=16,
             num_local_experts=4, experts_per_token=2, sliding_window=128, max_position_embeddings=131072,
             layer_types=["sliding_attention", "full_attention"] * 2,
             rope_scaling={"rope_type": "yarn", "factor": 32.0, "original_max_position_embeddings": 4096,
                           "beta_fast": 32.0, "beta_slow": 1.0, "truncate": False},
             quantization_config={"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn"]})
    small("gpt-oss", c, llama_tensors(c, "F16", sinks=True, moe={"experts": 4, "ff": 32}))
    for name in ("llama", "qwen3", "qwen3-moe", "deepseek-mla", "gemma3-swa", "gpt-oss"):
        expect(name)

    # Real shapes, facts from the model cards' config.json.
    c = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=4096, intermediate_size=14336,
             num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, vocab_size=128256,
             max_position_embeddings=131072, torch_dtype="bfloat16", tie_word_embeddings=False,
             rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                           "original_max_position_embeddings": 8192})
    large("Llama-3.1-8B-Instruct", c, llama_tensors(c, "BF16"))
    c = dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=3584, intermediate_size=18944,
             num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
             max_position_embeddings=32768, sliding_window=131072, use_sliding_window=False,
             max_window_layers=28, torch_dtype="bfloat16", tie_word_embeddings=False)
    large("Qwen2.5-7B-Instruct", c, llama_tensors(c, "BF16", qkv_bias=True))
    c = dict(model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"], hidden_size=2048, intermediate_size=6144,
             num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=4, head_dim=128, vocab_size=151936,
             num_experts=128, num_experts_per_tok=8, moe_intermediate_size=768, max_position_embeddings=40960,
             sliding_window=None, use_sliding_window=False, torch_dtype="bfloat16", tie_word_embeddings=False)
    large("Qwen3-30B-A3B", c, llama_tensors(c, "BF16", qk_norm=True, moe={"experts": 128, "ff": 768}))
    c = dict(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], hidden_size=1152, intermediate_size=6912,
             num_hidden_layers=26, num_attention_heads=4, num_key_value_heads=1, head_dim=256, vocab_size=262144,
             max_position_embeddings=32768, sliding_window=512, sliding_window_pattern=6, torch_dtype="bfloat16",
             tie_word_embeddings=True, rope_scaling=None)
    large("gemma-3-1b-it", c, llama_tensors(c, "BF16", qk_norm=True, sandwich=True))


if __name__ == "__main__":
    main()
