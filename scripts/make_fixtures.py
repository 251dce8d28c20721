#!/usr/bin/env python3
"""Write the small GGUF fixtures in models/ and, for each, gguf-py's own view of it.

The fixtures are real GGUF files written by gguf-py (the library llama.cpp's converters use), with
tiny dimensions and random-but-valid tensor bytes. Beside each `X.gguf` the script writes
`X.expect.json`: what gguf-py's GGUFReader reports (every tensor's name, type, ne, n_elements,
n_bytes, data offset; every metadata key with scalar values and array lengths). The Rust tests
compare the reader against those files, so the oracle is gguf-py, not our own reader.

Deterministic: a fixed seed per fixture, so a rerun rewrites every file byte-identically
(`git diff --exit-code models/` after a rerun is the check).

Usage:
  python3 scripts/make_fixtures.py [OUT_DIR]          # default: models/
  python3 scripts/make_fixtures.py --expect FILE.gguf  # print gguf-py's view of any GGUF as JSON
Needs: pip install gguf==0.19.0 numpy
"""
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf.constants import GGML_QUANT_SIZES

EMBD, HEADS, HEAD_DIM, VOCAB, CTX = 64, 4, 16, 320, 4096


class Fixture:
    def __init__(self, path, arch, seed, **writer_kw):
        self.w = gguf.GGUFWriter(path, arch, **writer_kw)
        self.arch = arch
        self.rng = np.random.default_rng(seed)

    def kv(self, key, val):
        k = key.replace("{a}", self.arch)
        if isinstance(val, bool):
            self.w.add_bool(k, val)
        elif isinstance(val, int):
            self.w.add_uint32(k, val)
        elif isinstance(val, float):
            self.w.add_float32(k, val)
        elif isinstance(val, (list, tuple)):
            self.w.add_array(k, list(val))
        else:
            self.w.add_string(k, val)

    def t(self, name, ne, qtype=QT.F32):
        """ne in ggml order (ne0 = row length); numpy wants it reversed."""
        shape = list(reversed(ne))
        n = int(np.prod(shape))
        if qtype == QT.F32:
            self.w.add_tensor(name, (self.rng.standard_normal(n, dtype=np.float32) * 0.02).reshape(shape))
            return
        if qtype == QT.F16:
            data = (self.rng.standard_normal(n, dtype=np.float32) * 0.02).astype(np.float16)
            self.w.add_tensor(name, data.reshape(shape))
            return
        blk, size = GGML_QUANT_SIZES[qtype]
        assert shape[-1] % blk == 0, (name, ne, qtype)
        # Random block bytes: the reader never decodes them, only sizes them.
        raw = self.rng.integers(0, 256, size=n // blk * size, dtype=np.uint8)
        self.w.add_tensor(name, raw.reshape(shape[:-1] + [shape[-1] // blk * size]), raw_dtype=qtype)

    def common(self, name, n_layer, n_ff, n_head_kv, extra_general=True, embd=None, heads=None):
        w = self.w
        w.add_name(name)
        w.add_basename(name.split("-")[0])
        w.add_size_label("tiny")
        w.add_file_type(7)
        w.add_quantization_version(2)
        if extra_general:
            w.add_string("general.sampling.sequence", "edskypmxt")
            w.add_int32("general.sampling.top_k", 40)
            w.add_float32("general.sampling.top_p", 0.95)
            w.add_float32("general.sampling.temp", 0.7)
        self.kv("{a}.context_length", CTX)
        self.kv("{a}.embedding_length", embd or EMBD)
        self.kv("{a}.block_count", n_layer)
        if n_ff is not None:
            self.kv("{a}.feed_forward_length", n_ff)
        self.kv("{a}.attention.head_count", heads or HEADS)
        self.kv("{a}.attention.head_count_kv", n_head_kv)
        self.kv("{a}.rope.freq_base", 10000.0)
        self.kv("{a}.attention.layer_norm_rms_epsilon", 1e-6)
        # SPM falls back to <0xXX> byte tokens for text it cannot match; without all 256 of them
        # llama.cpp loads the model but aborts (std::out_of_range) while tokenizing the prompt, so
        # no fixture could be served or generate. Type 6 = BYTE, 2 = UNKNOWN, 3 = CONTROL.
        toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
        toks += ["t%d" % i for i in range(VOCAB - len(toks))]
        types = [2, 3, 3] + [6] * 256 + [1] * (VOCAB - 259)
        w.add_tokenizer_model("llama")
        w.add_token_list(toks)
        w.add_token_scores([0.0] * VOCAB)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)

    def attn(self, i, n_head_kv, tq=QT.Q8_0, tk=QT.F16, tv=QT.Q8_0, to=QT.Q4_0, bias=False, kd=HEAD_DIM):
        self.t(f"blk.{i}.attn_norm.weight", [EMBD])
        self.t(f"blk.{i}.attn_q.weight", [EMBD, kd * HEADS], tq)
        self.t(f"blk.{i}.attn_k.weight", [EMBD, kd * n_head_kv], tk)
        self.t(f"blk.{i}.attn_v.weight", [EMBD, kd * n_head_kv], tv)
        self.t(f"blk.{i}.attn_output.weight", [kd * HEADS, EMBD], to)
        if bias:
            self.t(f"blk.{i}.attn_q.bias", [kd * HEADS])
            self.t(f"blk.{i}.attn_k.bias", [kd * n_head_kv])
            self.t(f"blk.{i}.attn_v.bias", [kd * n_head_kv])

    def dense_ffn(self, i, n_ff, tg=QT.Q8_0, td=QT.Q4_K):
        self.t(f"blk.{i}.ffn_norm.weight", [EMBD])
        self.t(f"blk.{i}.ffn_gate.weight", [EMBD, n_ff], tg)
        self.t(f"blk.{i}.ffn_up.weight", [EMBD, n_ff], tg)
        self.t(f"blk.{i}.ffn_down.weight", [n_ff, EMBD], td)

    def experts(self, i, n_exp, n_ff_exp, tg=QT.Q8_0, td=QT.Q4_0, prefix="ffn"):
        self.t(f"blk.{i}.{prefix}_norm.weight", [EMBD])
        self.t(f"blk.{i}.ffn_gate_inp.weight", [EMBD, n_exp])
        self.t(f"blk.{i}.ffn_gate_exps.weight", [EMBD, n_ff_exp, n_exp], tg)
        self.t(f"blk.{i}.ffn_up_exps.weight", [EMBD, n_ff_exp, n_exp], tg)
        self.t(f"blk.{i}.ffn_down_exps.weight", [n_ff_exp, EMBD, n_exp], td)

    def head_dims(self, k, v=None):
        """Per-head K and V widths when they differ from n_embd / n_head."""
        self.kv("{a}.attention.key_length", k)
        self.kv("{a}.attention.value_length", k if v is None else v)

    def expert_kv(self, n_exp, n_ff_exp):
        """n_exp experts, two used per token, each with an n_ff_exp-wide FFN."""
        self.kv("{a}.expert_count", n_exp)
        self.kv("{a}.expert_used_count", 2)
        self.kv("{a}.expert_feed_forward_length", n_ff_exp)

    def qk_norm(self, i, dim):
        self.t(f"blk.{i}.attn_q_norm.weight", [dim])
        self.t(f"blk.{i}.attn_k_norm.weight", [dim])

    def shared_expert(self, i, n_ff, gate_inp=False):
        """The shared expert's FFN (with its gate input when the model has one)."""
        if gate_inp:
            self.t(f"blk.{i}.ffn_gate_inp_shexp.weight", [EMBD])
        self.t(f"blk.{i}.ffn_gate_shexp.weight", [EMBD, n_ff], QT.Q8_0)
        self.t(f"blk.{i}.ffn_up_shexp.weight", [EMBD, n_ff], QT.Q8_0)
        self.t(f"blk.{i}.ffn_down_shexp.weight", [n_ff, EMBD], QT.Q8_0)

    def embd_out(self, tied=False):
        self.t("token_embd.weight", [EMBD, VOCAB], QT.Q8_0)
        self.t("output_norm.weight", [EMBD])
        if not tied:
            self.t("output.weight", [EMBD, VOCAB], QT.Q6_K if EMBD % 256 == 0 else QT.Q8_0)

    def finish(self):
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()


def llama(path, seed, **kw):
    f = Fixture(path, "llama", seed, **kw)
    f.common("tiny-llama-gqa", 4, 256, 2)
    f.kv("{a}.rope.dimension_count", HEAD_DIM)
    f.embd_out()
    for i in range(4):
        f.attn(i, 2, tq=QT.Q8_0 if i % 2 == 0 else QT.Q4_0)
        f.dense_ffn(i, 256)
    f.finish()


def qwen3moe(path, seed):
    f = Fixture(path, "qwen3moe", seed)
    f.common("tiny-qwen3moe", 3, 256, 2)
    f.expert_kv(8, 128)
    f.head_dims(HEAD_DIM)
    f.embd_out()
    for i in range(3):
        f.attn(i, 2, tk=QT.Q8_0)
        f.qk_norm(i, HEAD_DIM)
        f.experts(i, 8, 128)
    f.finish()


def qwen2moe(path, seed):
    f = Fixture(path, "qwen2moe", seed)
    f.common("tiny-qwen2moe-shexp", 2, 256, 4)
    f.expert_kv(4, 64)
    f.kv("{a}.expert_shared_feed_forward_length", 128)
    f.embd_out()
    for i in range(2):
        f.attn(i, 4, bias=True)
        f.experts(i, 4, 64, tg=QT.Q4_0, td=QT.Q8_0)
        f.shared_expert(i, 128, gate_inp=True)
    f.finish()


def gemma3(path, seed):
    f = Fixture(path, "gemma3", seed)
    f.common("tiny-gemma3", 7, 256, 1)
    f.head_dims(32)
    f.kv("{a}.attention.sliding_window", 512)
    f.embd_out(tied=True)
    for i in range(7):
        f.attn(i, 1, kd=32)
        f.qk_norm(i, 32)
        f.t(f"blk.{i}.post_attention_norm.weight", [EMBD])
        f.t(f"blk.{i}.post_ffw_norm.weight", [EMBD])
        f.dense_ffn(i, 256, tg=QT.Q5_0, td=QT.Q6_K)
    f.finish()


def lfm2(path, seed):
    kv_heads = [0, 0, 2, 0, 0, 2]
    f = Fixture(path, "lfm2", seed)
    f.common("tiny-lfm2", 6, 256, kv_heads)
    f.kv("{a}.shortconv.l_cache", 3)
    f.kv("{a}.vocab_size", VOCAB)
    f.t("token_embd.weight", [EMBD, VOCAB], QT.Q8_0)
    f.t("token_embd_norm.weight", [EMBD])
    for i, nkv in enumerate(kv_heads):
        if nkv:
            f.attn(i, nkv)
            f.qk_norm(i, HEAD_DIM)
        else:
            f.t(f"blk.{i}.attn_norm.weight", [EMBD])
            f.t(f"blk.{i}.shortconv.conv.weight", [3, EMBD])
            f.t(f"blk.{i}.shortconv.in_proj.weight", [EMBD, 3 * EMBD], QT.Q8_0)
            f.t(f"blk.{i}.shortconv.out_proj.weight", [EMBD, EMBD], QT.Q8_0)
        f.dense_ffn(i, 256)
    f.finish()


def qwen3next(path, seed):
    f = Fixture(path, "qwen3next", seed)
    f.common("tiny-qwen3next", 4, 256, 2)
    f.head_dims(32)
    f.kv("{a}.full_attention_interval", 4)
    f.kv("{a}.ssm.conv_kernel", 4)
    f.kv("{a}.ssm.inner_size", 128)
    f.kv("{a}.ssm.state_size", 32)
    f.kv("{a}.ssm.time_step_rank", 4)
    f.kv("{a}.ssm.group_count", 2)
    f.expert_kv(4, 64)
    f.kv("{a}.expert_shared_feed_forward_length", 64)
    f.embd_out()
    for i in range(4):
        if (i + 1) % 4 == 0:
            # Qwen3-Next's Q projection carries the output gate too: 2 * head_dim * n_head rows.
            f.t(f"blk.{i}.attn_norm.weight", [EMBD])
            f.t(f"blk.{i}.attn_q.weight", [EMBD, 2 * 32 * HEADS], QT.Q8_0)
            f.t(f"blk.{i}.attn_k.weight", [EMBD, 32 * 2], QT.F16)
            f.t(f"blk.{i}.attn_v.weight", [EMBD, 32 * 2], QT.Q8_0)
            f.t(f"blk.{i}.attn_output.weight", [32 * HEADS, EMBD], QT.Q4_0)
            f.qk_norm(i, 32)
        else:
            f.t(f"blk.{i}.attn_norm.weight", [EMBD])
            f.t(f"blk.{i}.attn_qkv.weight", [EMBD, 128 + 2 * 64], QT.Q8_0)
            f.t(f"blk.{i}.attn_gate.weight", [EMBD, 128], QT.Q8_0)
            f.t(f"blk.{i}.ssm_conv1d.weight", [4, 256])
            f.t(f"blk.{i}.ssm_dt.bias", [4])
            f.t(f"blk.{i}.ssm_a", [4])
            f.t(f"blk.{i}.ssm_ba.weight", [EMBD, 8])
            f.t(f"blk.{i}.ssm_norm.weight", [32])
            f.t(f"blk.{i}.ssm_out.weight", [128, EMBD], QT.Q8_0)
        f.experts(i, 4, 64, prefix="post_attention")
        f.shared_expert(i, 64, gate_inp=True)
    f.finish()


def deepseek2(path, seed):
    # GLM-4.7-Flash's shape (the corpus' main model): q-LoRA, MLA, sigmoid gating with
    # normalised, scaled expert weights and an expert-selection bias.
    mla_moe(path, seed, "tiny-deepseek2-mla", heads=HEADS, q_rank=96, rank=32, rope=16, nope=32,
            vhd=32, n_layer=3, scale=1.8, tq=QT.Q8_0)


def deepseek2_v3(path, seed):
    # DeepSeek-V3's proportions, scaled down: the latent rank (64) is not the no-rope head size
    # (32), so key_length (rank + rope, the cache) and key_length_mla (nope + rope, the queries)
    # differ, and the decompressed V head (32) is not the rank either. Q4_0 projections repack.
    mla_moe(path, seed, "tiny-deepseek2-v3", heads=8, q_rank=32, rank=64, rope=16, nope=32,
            vhd=32, n_layer=2, scale=2.5, tq=QT.Q4_0)


def mla_moe(path, seed, name, heads, q_rank, rank, rope, nope, vhd, n_layer, scale, tq):
    """A deepseek2 model with MLA: one dense block, then MoE blocks with a shared expert.
    `tq` is the type of the q_b and output projections."""
    f = Fixture(path, "deepseek2", seed)
    f.common(name, n_layer, 256, 1, heads=heads)
    f.kv("{a}.attention.q_lora_rank", q_rank)
    f.kv("{a}.attention.kv_lora_rank", rank)
    f.kv("{a}.attention.key_length", rank + rope)
    f.kv("{a}.attention.value_length", rank)
    f.kv("{a}.attention.key_length_mla", nope + rope)
    f.kv("{a}.attention.value_length_mla", vhd)
    f.kv("{a}.rope.dimension_count", rope)
    f.kv("{a}.leading_dense_block_count", 1)
    f.kv("{a}.expert_count", 4)
    f.kv("{a}.expert_used_count", 2)
    f.kv("{a}.expert_shared_count", 1)
    f.kv("{a}.expert_feed_forward_length", 64)
    f.kv("{a}.expert_weights_scale", scale)
    f.kv("{a}.expert_weights_norm", True)
    f.kv("{a}.expert_gating_func", 2)
    f.embd_out()
    for i in range(n_layer):
        f.t(f"blk.{i}.attn_norm.weight", [EMBD])
        f.t(f"blk.{i}.attn_q_a.weight", [EMBD, q_rank], QT.Q8_0)
        f.t(f"blk.{i}.attn_q_a_norm.weight", [q_rank])
        f.t(f"blk.{i}.attn_q_b.weight", [q_rank, heads * (nope + rope)], tq)
        f.t(f"blk.{i}.attn_kv_a_mqa.weight", [EMBD, rank + rope], QT.Q8_0)
        f.t(f"blk.{i}.attn_kv_a_norm.weight", [rank])
        f.t(f"blk.{i}.attn_k_b.weight", [nope, rank, heads], QT.F16)
        f.t(f"blk.{i}.attn_v_b.weight", [rank, vhd, heads], QT.F16)
        f.t(f"blk.{i}.attn_output.weight", [heads * vhd, EMBD], tq)
        if i < 1:
            f.dense_ffn(i, 256)
        else:
            f.experts(i, 4, 64)
            f.t(f"blk.{i}.exp_probs_b.bias", [4])
            f.shared_expert(i, 64)
    f.finish()


def llama_tied_h80(path, seed):
    # Head size 80 with 2 KV heads (GQA 4/2) and tied embeddings stored in Q4_0: without
    # output.weight llama.cpp duplicates token_embd for the output matmul, and on the CPU that
    # copy is repacked (CPU_REPACK gains a whole embedding; docs/memory-model.md §2).
    embd, heads, hd, nkv, n_ff = 320, 4, 80, 2, 64
    f = Fixture(path, "llama", seed)
    f.common("tiny-llama-h80-tied", 2, n_ff, nkv, embd=embd, heads=heads)
    f.kv("{a}.rope.dimension_count", hd)
    f.t("token_embd.weight", [embd, VOCAB], QT.Q4_0)
    f.t("output_norm.weight", [embd])
    for i in range(2):
        f.t(f"blk.{i}.attn_norm.weight", [embd])
        f.t(f"blk.{i}.attn_q.weight", [embd, hd * heads], QT.Q4_0)
        f.t(f"blk.{i}.attn_k.weight", [embd, hd * nkv], QT.Q4_0)
        f.t(f"blk.{i}.attn_v.weight", [embd, hd * nkv], QT.Q8_0)
        f.t(f"blk.{i}.attn_output.weight", [hd * heads, embd], QT.Q4_0)
        f.t(f"blk.{i}.ffn_norm.weight", [embd])
        f.t(f"blk.{i}.ffn_gate.weight", [embd, n_ff], QT.Q4_0)
        f.t(f"blk.{i}.ffn_up.weight", [embd, n_ff], QT.Q8_0)
        f.t(f"blk.{i}.ffn_down.weight", [n_ff, embd], QT.Q4_0)
    f.finish()


def gpt_oss(path, seed):
    f = Fixture(path, "gpt-oss", seed)
    f.common("tiny-gpt-oss", 4, 128, 1)
    f.head_dims(HEAD_DIM)
    f.kv("{a}.attention.sliding_window", 128)
    f.expert_kv(4, 64)
    f.embd_out()
    for i in range(4):
        f.attn(i, 1, tq=QT.Q8_0, tk=QT.Q8_0, tv=QT.Q8_0, to=QT.Q8_0, bias=True)
        f.t(f"blk.{i}.attn_output.bias", [EMBD])
        f.t(f"blk.{i}.attn_sinks.weight", [HEADS])
        f.t(f"blk.{i}.post_attention_norm.weight", [EMBD])
        f.t(f"blk.{i}.ffn_gate_inp.weight", [EMBD, 4])
        f.t(f"blk.{i}.ffn_gate_inp.bias", [4])
        for p in ("gate", "up"):
            f.t(f"blk.{i}.ffn_{p}_exps.weight", [EMBD, 64, 4], QT.MXFP4)
            f.t(f"blk.{i}.ffn_{p}_exps.bias", [64, 4])
        f.t(f"blk.{i}.ffn_down_exps.weight", [64, EMBD, 4], QT.MXFP4)
        f.t(f"blk.{i}.ffn_down_exps.bias", [EMBD, 4])
    f.finish()


FIXTURES = [
    ("llama-gqa.gguf", llama),
    ("qwen3moe.gguf", qwen3moe),
    ("qwen2moe-shexp.gguf", qwen2moe),
    ("gemma3-swa.gguf", gemma3),
    ("lfm2-hybrid.gguf", lfm2),
    ("qwen3next-hybrid.gguf", qwen3next),
    ("deepseek2-mla.gguf", deepseek2),
    ("gpt-oss-mxfp4.gguf", gpt_oss),
    # Appended: a fixture's seed is its position, so the ones above keep their bytes.
    ("llama-h80-tied.gguf", llama_tied_h80),
    ("deepseek2-v3.gguf", deepseek2_v3),
]


def jsonable(v):
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    return v


def expectation(path):
    r = gguf.GGUFReader(path)
    meta = {}
    for field in r.fields.values():
        if field.name.startswith("GGUF."):
            continue
        types = [t.name for t in field.types]
        if types[0] == "ARRAY":
            entry = {"type": "ARRAY", "elem": types[1] if len(types) > 1 else None, "len": len(field.data)}
            if len(field.data) <= 64 and types[1] != "STRING":
                entry["values"] = [jsonable(field.parts[i][0]) for i in field.data]
        else:
            v = field.contents()
            entry = {"type": types[0], "value": jsonable(v)}
        meta[field.name] = entry
    tensors = [
        {
            "name": t.name,
            "type": t.tensor_type.name,
            "ne": [int(x) for x in t.shape],
            "n_elements": int(t.n_elements),
            "n_bytes": int(t.n_bytes),
            "data_offset": int(t.data_offset),
        }
        for t in r.tensors
    ]
    return {
        "file": os.path.basename(path),
        "file_size": os.path.getsize(path),
        "metadata": meta,
        "tensors": tensors,
    }


def write_expect(path):
    out = path[: -len(".gguf")] + ".expect.json"
    with open(out, "w") as fh:
        json.dump(expectation(path), fh, indent=1, sort_keys=True)
        fh.write("\n")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--expect":
        json.dump(expectation(sys.argv[2]), sys.stdout, indent=1, sort_keys=True)
        print()
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "models")
    os.makedirs(out, exist_ok=True)
    for seed, (name, fn) in enumerate(FIXTURES, start=100):
        path = os.path.join(out, name)
        fn(path, seed)
        write_expect(path)
    # Split into three shards by tensor count: 4 layers x 11 + 3 = 47 tensors.
    split_base = os.path.join(out, "split-llama.gguf")
    llama(split_base, 99, split_max_tensors=16)
    for i in range(1, 4):
        write_expect(os.path.join(out, "split-llama-%05d-of-00003.gguf" % i))


if __name__ == "__main__":
    main()
