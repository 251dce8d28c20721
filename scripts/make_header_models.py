#!/usr/bin/env python3
"""Write header-only GGUFs shaped like real large models, for the KV-cache tests.

KV cache and recurrent-state sizes depend only on metadata (layer count, which layers have KV,
KV heads, head sizes, MLA latent size, SSM sizes), so these files carry the real
hyper-parameters of each model and no tensors at all: a few hundred bytes instead of 20-70 GB.
The numbers are those of the published GGUFs (config.json of each model); the tests compare the
planned KV to what users measured with llama.cpp (/work/shared/reference/seed-repo-notes.md §3-4).

Deterministic, written by gguf-py (the library llama.cpp's converters use).

Usage: python3 scripts/make_header_models.py OUT_DIR      (tests use target/header-models)
Needs: pip install gguf==0.19.0
"""
import os
import sys

import gguf

CTX = 262144

# Qwen3.5 / Qwen3-Next: gated DeltaNet layers, every 4th layer full attention with 2 or 4 KV heads
# of 256; ssm.* sizes give the recurrent state (n_embd_r = 3*(inner + 2*groups*state), s = state*inner).
QWEN_HYBRID = {
    "qwen35moe-35b-a3b": dict(arch="qwen35moe", blocks=40, embd=2048, heads=16, kv=2, head=256,
                              ssm=(4, 4096, 128, 16, 32), experts=(256, 8, 512)),
    "qwen3next-80b-a3b": dict(arch="qwen3next", blocks=48, embd=2048, heads=16, kv=2, head=256,
                              ssm=(4, 4096, 128, 16, 32), experts=(512, 10, 512)),
    "qwen35-27b": dict(arch="qwen35", blocks=64, embd=5120, heads=24, kv=4, head=256,
                       ssm=(4, 6144, 128, 16, 48), experts=None),
}


def uint32s(w, arch, values):
    """`ARCH.KEY = value` for each (KEY, value), in the order given (the file's order)."""
    for key, value in values:
        w.add_uint32(f"{arch}.{key}", value)


def common(w, arch, blocks, embd):
    w.add_string("general.name", f"header-only {arch}")
    vocab = 151936 if arch.startswith("qwen") else 131072
    uint32s(w, arch, [("block_count", blocks), ("context_length", CTX), ("embedding_length", embd),
                      ("vocab_size", vocab)])


def qwen(path, arch, blocks, embd, heads, kv, head, ssm, experts):
    w = gguf.GGUFWriter(path, arch)
    common(w, arch, blocks, embd)
    conv, inner, state, groups, rank = ssm
    uint32s(w, arch, [
        ("attention.head_count", heads), ("attention.head_count_kv", kv),
        ("attention.key_length", head), ("attention.value_length", head),
        ("full_attention_interval", 4),
        ("ssm.conv_kernel", conv), ("ssm.inner_size", inner), ("ssm.state_size", state),
        ("ssm.group_count", groups), ("ssm.time_step_rank", rank),
    ])
    if experts:
        n, used, ff = experts
        uint32s(w, arch, [("expert_count", n), ("expert_used_count", used),
                          ("expert_feed_forward_length", ff)])
    else:
        uint32s(w, arch, [("feed_forward_length", 17408)])
    finish(w)


def mistral_small_4(path):
    # Mistral-Small-4-119B converts to the deepseek2 (MLA) layout: K = latent 256 + rope 64,
    # head_count_kv 1, no V in the cache.
    arch = "deepseek2"
    w = gguf.GGUFWriter(path, arch)
    common(w, arch, 36, 4096)
    uint32s(w, arch, [
        ("attention.head_count", 32), ("attention.head_count_kv", 1),
        ("attention.key_length", 320), ("attention.value_length", 256),
        ("attention.key_length_mla", 192), ("attention.value_length_mla", 128),
        ("attention.kv_lora_rank", 256), ("attention.q_lora_rank", 1024),
        ("rope.dimension_count", 64),
        ("expert_count", 128), ("expert_used_count", 4), ("expert_feed_forward_length", 2048),
        ("feed_forward_length", 12288),
    ])
    finish(w)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------------------
# Shaped models: the same hyper-parameters plus a real tensor table (names, GGML types, shapes),
# so weights, KV and compute are exact for the placement solver. The data section is sparse: the
# file is extended to its full length (set_len) and no tensor byte is written, so a 60 GB model
# costs a few MB of disk. The quant mix approximates each published file's size (printed).

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf.constants import GGML_QUANT_SIZES

SHAPED = "shaped"


class Shaped:
    def __init__(self, path, arch, blocks, embd, vocab, ctx):
        self.path, self.arch, self.embd = path, arch, embd
        self.w = gguf.GGUFWriter(path, arch)
        self.w.add_string("general.name", f"shaped {os.path.basename(path)}")
        self.u("block_count", blocks)
        self.u("context_length", ctx)
        self.u("embedding_length", embd)
        self.u("vocab_size", vocab)
        self.vocab = vocab
        self.sizes = []

    def u(self, key, val):
        self.w.add_uint32(f"{self.arch}.{key}", val)

    def attention(self, heads, kv, head):
        self.u("attention.head_count", heads)
        self.u("attention.head_count_kv", kv)
        self.u("attention.key_length", head)
        self.u("attention.value_length", head)

    def experts(self, n, used, ff):
        self.u("expert_count", n)
        self.u("expert_used_count", used)
        self.u("expert_feed_forward_length", ff)

    def qkv(self, b, q_rows, kv_rows, t, tv=None):
        """Block `b`'s Q, K and V projections (V in `tv` when it differs)."""
        E = self.embd
        self.t(f"{b}.attn_q.weight", [E, q_rows], t)
        self.t(f"{b}.attn_k.weight", [E, kv_rows], t)
        self.t(f"{b}.attn_v.weight", [E, kv_rows], t if tv is None else tv)

    def qkv_bias(self, b, q_rows, kv_rows):
        self.t(f"{b}.attn_q.bias", [q_rows])
        self.t(f"{b}.attn_k.bias", [kv_rows])
        self.t(f"{b}.attn_v.bias", [kv_rows])

    def qk_norm(self, b, head):
        self.t(f"{b}.attn_q_norm.weight", [head])
        self.t(f"{b}.attn_k_norm.weight", [head])

    def t(self, name, ne, qt=QT.F32):
        blk, size = GGML_QUANT_SIZES[qt]
        n = int(np.prod(ne))
        assert ne[0] % blk == 0, (name, ne, qt)
        nbytes = n // blk * size
        self.w.add_tensor_info(name, list(reversed(ne)), np.float32, nbytes, raw_dtype=qt)
        self.sizes.append(nbytes)

    def dense_then_moe(self, b, i, sizes, dense, exps, shexp, n_dense=1):
        """Block `i`'s FFN in the deepseek2 / glm4moe layout: the first `n_dense` blocks dense
        (`n_ff`), the others routed experts with a score bias plus one shared expert; types as
        (gate, up, down)."""
        E = self.embd
        FF, FE, NE = sizes
        if i < n_dense:
            for name, ne, qt in (("gate", [E, FF], dense[0]), ("up", [E, FF], dense[1]),
                                 ("down", [FF, E], dense[2])):
                self.t(f"{b}.ffn_{name}.weight", ne, qt)
            return
        self.t(f"{b}.ffn_gate_inp.weight", [E, NE])
        self.t(f"{b}.exp_probs_b.bias", [NE])
        for name, ne, qt in (("gate", [E, FE, NE], exps[0]), ("up", [E, FE, NE], exps[1]),
                             ("down", [FE, E, NE], exps[2])):
            self.t(f"{b}.ffn_{name}_exps.weight", ne, qt)
        for name, ne, qt in (("gate", [E, FE], shexp[0]), ("up", [E, FE], shexp[1]),
                             ("down", [FE, E], shexp[2])):
            self.t(f"{b}.ffn_{name}_shexp.weight", ne, qt)

    def mla(self, heads, q_rank, rank, rope, nope, v_head):
        """deepseek2 MLA: one KV head holding the latent + rope (`key_length`/`value_length`),
        the decompressed heads as `key_length_mla` (nope + rope) and `value_length_mla`."""
        self.mla_dims = (heads, q_rank, rank, rope, nope, v_head)
        for key, val in (("attention.head_count", heads), ("attention.head_count_kv", 1),
                         ("attention.key_length", rank + rope), ("attention.value_length", rank),
                         ("attention.key_length_mla", nope + rope),
                         ("attention.value_length_mla", v_head),
                         ("attention.q_lora_rank", q_rank), ("attention.kv_lora_rank", rank),
                         ("rope.dimension_count", rope)):
            self.u(key, val)

    def dense_then_moe_meta(self, n_dense, experts, used, ff_exp, ff, scale):
        """The deepseek2 FFN keys: `n_dense` leading dense blocks of `ff`, then `experts` routed
        experts of `ff_exp` (`used` per token, sigmoid gating, normalised, scaled) + 1 shared."""
        for key, val in (("leading_dense_block_count", n_dense), ("expert_count", experts),
                         ("expert_used_count", used), ("expert_shared_count", 1),
                         ("expert_feed_forward_length", ff_exp), ("feed_forward_length", ff)):
            self.u(key, val)
        self.w.add_float32(f"{self.arch}.expert_weights_scale", scale)
        self.w.add_bool(f"{self.arch}.expert_weights_norm", True)
        self.w.add_uint32(f"{self.arch}.expert_gating_func", 2)

    def mla_attention(self, b, t_q, t_kv, t_out):
        """Block `b`'s MLA tensors up to `ffn_norm`: Q through its LoRA (`t_q`), the latent
        projection (`t_kv`), the output (`t_out`); Q8_0 `attn_k_b` (rows of `nope` elements, too
        short for a K-quant) and `attn_v_b`, as both published files have them."""
        E = self.embd
        H, QR, R, ROPE, NOPE, VH = self.mla_dims
        self.t(f"{b}.attn_norm.weight", [E])
        self.t(f"{b}.attn_q_a.weight", [E, QR], t_q)
        self.t(f"{b}.attn_q_a_norm.weight", [QR])
        self.t(f"{b}.attn_q_b.weight", [QR, H * (NOPE + ROPE)], t_q)
        self.t(f"{b}.attn_kv_a_mqa.weight", [E, R + ROPE], t_kv)
        self.t(f"{b}.attn_kv_a_norm.weight", [R])
        self.t(f"{b}.attn_k_b.weight", [NOPE, R, H], QT.Q8_0)
        self.t(f"{b}.attn_v_b.weight", [R, VH, H], QT.Q8_0)
        self.t(f"{b}.attn_output.weight", [H * VH, E], t_out)
        self.t(f"{b}.ffn_norm.weight", [E])

    def embd_out(self, te, to):
        self.t("token_embd.weight", [self.embd, self.vocab], te)
        self.t("output_norm.weight", [self.embd])
        self.t("output.weight", [self.embd, self.vocab], to)

    def finish(self):
        w = self.w
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        fout = w.fout[0]
        w.write_padding(fout, fout.tell())
        start = fout.tell()
        total = sum(gguf.GGUFWriter.ggml_pad(n, w.data_alignment) for n in self.sizes)
        fout.truncate(start + total)
        w.close()
        print(f"{os.path.basename(self.path)}: {(start + total) / 1e9:.1f} GB "
              f"({(start + total) / 2**30:.1f} GiB)")


def glm47_flash(path, q):
    # GLM-4.7-Flash (deepseek2 layout in llama.cpp): 47 blocks, MLA (kv_lora 512 + rope 64),
    # q_lora 768, 20 heads (nope 192, v 256), 64 routed experts (4 used) of 1536 + 1 shared,
    # first block dense (10240). q: "q4" (Q4_K_M, ~18 GB) or "q8" (Q8_0, ~30 GB).
    E, NE, FE, FF = 2048, 64, 1536, 10240
    s = Shaped(path, "deepseek2", 47, E, 154880, 202752)
    s.mla(heads=20, q_rank=768, rank=512, rope=64, nope=192, v_head=256)
    s.dense_then_moe_meta(1, NE, 4, FE, FF, 1.8)
    hi, lo = (QT.Q8_0, QT.Q8_0) if q == "q8" else (QT.Q6_K, QT.Q4_K)
    s.embd_out(lo, hi)
    for i in range(47):
        b = f"blk.{i}"
        s.mla_attention(b, lo, hi, lo)
        s.dense_then_moe(b, i, (FF, FE, NE), dense=(lo, lo, hi),
                         exps=(lo, lo, hi if i % 2 == 0 else lo), shexp=(lo, lo, hi))
    s.finish()


def deepseek_v3_ud_q2_k_xl(path):
    """DeepSeek-V3-0324 UD-Q2_K_XL (unsloth, GPU log case 9): the log's metadata dump (61 blocks,
    3 dense, 256 routed experts of 2048 + 1 shared, 128 heads, MLA latent 512 + rope 64, q_lora
    1536, nope 128 + rope 64 = key_length_mla 192, value_length_mla 128, vocab 129280) and its
    1086 tensors: F32 norms, routers and score biases (361), Q8_0 `attn_k_b`/`attn_v_b` (122).
    The log's buffers fix the experts: gate/up Q2_K (116), down Q3_K except five Q4_K. The host
    buffer (token_embd + experts 27-60) is exact only with a Q4_K token_embd and three Q4_K
    downs among 27-60; CUDA1 and CUDA2 each need one (blocks 8-11, 12-16). Which blocks is not
    in the counts: 8 and 12 stand in, and 39-41 for the host ones, because a Q4_K down among
    27-38 would make CUDA0's compute buffer 3380 MiB, not the logged 3285 (docs/accuracy.md).
    Output Q6_K, the dense blocks 0-2 Q6_K (10 of the 15 Q6_K), every other tensor Q4_K: the
    other 5 Q6_K, 23 Q5_K, 1 Q3_K and 6 Q2_K are non-expert tensors the counts do not place,
    so the GPUs' weights are 1.8 to 82 MiB (at most 0.2 %) below the log."""
    E, NE, FE, FF = 7168, 256, 2048, 18432
    s = Shaped(path, "deepseek2", 61, E, 129280, 163840)
    s.mla(heads=128, q_rank=1536, rank=512, rope=64, nope=128, v_head=128)
    s.dense_then_moe_meta(3, NE, 8, FE, FF, 2.5)
    s.w.add_float32("deepseek2.attention.layer_norm_rms_epsilon", 1e-6)
    q4 = QT.Q4_K
    s.embd_out(q4, QT.Q6_K)
    for i in range(61):
        b = f"blk.{i}"
        s.mla_attention(b, q4, q4, q4)
        down = q4 if i in (8, 12, 39, 40, 41) else QT.Q3_K
        s.dense_then_moe(b, i, (FF, FE, NE), dense=(QT.Q6_K,) * 3,
                         exps=(QT.Q2_K, QT.Q2_K, down), shexp=(q4, q4, q4), n_dense=3)
    s.finish()


def gpt_oss_120b(path):
    # GPT-OSS-120B (ggml-org F16 file: MXFP4 experts, F16 elsewhere): 36 blocks, 64 heads of 64,
    # 8 KV heads, sliding window 128 on every other block, 128 experts (4 used) of 2880.
    gpt_oss(path, 36, 128, QT.F16, QT.F16)


def gpt_oss(path, blocks, NE, dense, embd_t):
    """gpt-oss with `blocks` layers and `NE` experts; `dense` = type of attention and output,
    `embd_t` = token_embd (the 20B MXFP4 file of GPU log case 11: Q8_0 for both)."""
    a = "gpt-oss"
    E, H, KV, D, FE = 2880, 64, 8, 64, 2880
    s = Shaped(path, a, blocks, E, 201088, 131072)
    s.attention(H, KV, D)
    s.u("attention.sliding_window", 128)
    s.experts(NE, 4, FE)
    s.u("feed_forward_length", FE)
    s.embd_out(embd_t, dense)
    for i in range(blocks):
        b = f"blk.{i}"
        s.t(f"{b}.attn_norm.weight", [E])
        s.qkv(b, H * D, KV * D, dense)
        s.t(f"{b}.attn_output.weight", [H * D, E], dense)
        s.qkv_bias(b, H * D, KV * D)
        s.t(f"{b}.attn_output.bias", [E])
        s.t(f"{b}.attn_sinks.weight", [H])
        s.t(f"{b}.post_attention_norm.weight", [E])
        s.t(f"{b}.ffn_gate_inp.weight", [E, NE])
        s.t(f"{b}.ffn_gate_inp.bias", [NE])
        for p in ("gate", "up"):
            s.t(f"{b}.ffn_{p}_exps.weight", [E, FE, NE], QT.MXFP4)
            s.t(f"{b}.ffn_{p}_exps.bias", [FE, NE])
        s.t(f"{b}.ffn_down_exps.weight", [FE, E, NE], QT.MXFP4)
        s.t(f"{b}.ffn_down_exps.bias", [E, NE])
    s.finish()


def qwen_hybrid(path, arch, blocks, embd, heads, kv, ssm, experts, n_ff, vocab, mix):
    # Qwen3-Next / Qwen3.5: gated DeltaNet blocks, every 4th block gated full attention.
    # mix: (attention/ssm type, expert gate/up type, expert down type or dense FFN types, embd, out).
    conv, inner, state, groups, rank = ssm
    D = 256
    s = Shaped(path, arch, blocks, embd, vocab, 262144)
    s.attention(heads, kv, D)
    s.u("full_attention_interval", 4)
    s.u("ssm.conv_kernel", conv)
    s.u("ssm.inner_size", inner)
    s.u("ssm.state_size", state)
    s.u("ssm.group_count", groups)
    s.u("ssm.time_step_rank", rank)
    ta, tg, td, te, to = mix
    if experts:
        ne, used, fe = experts
        s.experts(ne, used, fe)
        s.u("expert_shared_feed_forward_length", fe)
    else:
        s.u("feed_forward_length", n_ff)
    s.embd_out(te, to)
    qkv = inner + 2 * groups * state
    for i in range(blocks):
        b = f"blk.{i}"
        s.t(f"{b}.attn_norm.weight", [embd])
        if (i + 1) % 4 == 0:
            s.qkv(b, 2 * D * heads, D * kv, ta)
            s.t(f"{b}.attn_output.weight", [D * heads, embd], ta)
            s.qk_norm(b, D)
        else:
            s.t(f"{b}.attn_qkv.weight", [embd, qkv], ta)
            s.t(f"{b}.attn_gate.weight", [embd, inner], ta)
            s.t(f"{b}.ssm_conv1d.weight", [conv, qkv])
            s.t(f"{b}.ssm_dt.bias", [rank])
            s.t(f"{b}.ssm_a", [rank])
            s.t(f"{b}.ssm_ba.weight", [embd, 2 * rank])
            s.t(f"{b}.ssm_norm.weight", [state])
            s.t(f"{b}.ssm_out.weight", [inner, embd], ta)
        s.t(f"{b}.post_attention_norm.weight", [embd])
        if experts:
            s.t(f"{b}.ffn_gate_inp.weight", [embd, ne])
            s.t(f"{b}.ffn_gate_exps.weight", [embd, fe, ne], tg)
            s.t(f"{b}.ffn_up_exps.weight", [embd, fe, ne], tg)
            s.t(f"{b}.ffn_down_exps.weight", [fe, embd, ne], td)
            s.t(f"{b}.ffn_gate_inp_shexp.weight", [embd])
            s.t(f"{b}.ffn_gate_shexp.weight", [embd, fe], ta)
            s.t(f"{b}.ffn_up_shexp.weight", [embd, fe], ta)
            s.t(f"{b}.ffn_down_shexp.weight", [fe, embd], ta)
        else:
            s.t(f"{b}.ffn_gate.weight", [embd, n_ff], tg)
            s.t(f"{b}.ffn_up.weight", [embd, n_ff], tg)
            s.t(f"{b}.ffn_down.weight", [n_ff, embd], td)
    s.finish()


def qwen3moe(path, dims, types):
    """A qwen3moe model: dims = (blocks, embd, heads, kv heads, head size, experts, expert ff,
    dense ff, n_ctx_train); types = (attention, attn_v, gate/up experts, down experts, output),
    token_embd in the attention type. Qwen3-30B-A3B / Qwen3-Coder-30B-A3B (GPU log cases 1, 13)
    and Qwen3-235B-A22B (cases 4-8, 10): the logs' metadata dumps and type counts."""
    blocks, embd, heads, kv, head, n_exp, n_ff, ff, ctx = dims
    attn, attn_v, exps, exps_down, out_t = types
    s = Shaped(path, "qwen3moe", blocks, embd, 151936, ctx)
    s.u("feed_forward_length", ff)
    s.attention(heads, kv, head)
    s.experts(n_exp, 8, n_ff)
    s.w.add_float32("qwen3moe.rope.freq_base", 1e6)
    s.w.add_float32("qwen3moe.attention.layer_norm_rms_epsilon", 1e-6)
    s.embd_out(attn, out_t)
    for il in range(blocks):
        b = f"blk.{il}"
        s.t(f"{b}.attn_norm.weight", [embd])
        s.qkv(b, heads * head, kv * head, attn, tv=attn_v)
        s.t(f"{b}.attn_output.weight", [heads * head, embd], attn)
        s.qk_norm(b, head)
        s.t(f"{b}.ffn_norm.weight", [embd])
        s.t(f"{b}.ffn_gate_inp.weight", [embd, n_exp])
        s.t(f"{b}.ffn_gate_exps.weight", [embd, n_ff, n_exp], exps)
        s.t(f"{b}.ffn_up_exps.weight", [embd, n_ff, n_exp], exps)
        s.t(f"{b}.ffn_down_exps.weight", [n_ff, embd, n_exp], exps_down)
    s.finish()


QWEN3_30B = (48, 2048, 32, 4, 128, 128, 768, 6144, 40960)
QWEN3_235B = (94, 4096, 64, 4, 128, 128, 1536, 12288, 131072)


def glm4_z1_32b(path):
    """GLM-Z1-32B-0414 IQ4_XS (glm4, GPU log cases 2/3): 61 blocks, 48 heads, 2 KV heads of 128,
    fused QKV and gate+up; IQ4_XS matrices (306 tensors in the log), F32 norms and biases."""
    a, E, H, KV, D, FF, V = "glm4", 6144, 48, 2, 128, 23040, 151552
    s = Shaped(path, a, 61, E, V, 32768)
    s.attention(H, KV, D)
    s.u("feed_forward_length", FF)
    s.u("rope.dimension_count", 64)
    t = QT.IQ4_XS
    s.embd_out(t, t)
    for i in range(61):
        b = f"blk.{i}"
        s.t(f"{b}.attn_norm.weight", [E])
        s.t(f"{b}.attn_qkv.weight", [E, (H + 2 * KV) * D], t)
        s.t(f"{b}.attn_qkv.bias", [(H + 2 * KV) * D])
        s.t(f"{b}.attn_output.weight", [H * D, E], t)
        s.t(f"{b}.post_attention_norm.weight", [E])
        s.t(f"{b}.ffn_norm.weight", [E])
        s.t(f"{b}.ffn_up.weight", [E, 2 * FF], t)
        s.t(f"{b}.ffn_down.weight", [FF, E], t)
        s.t(f"{b}.post_ffw_norm.weight", [E])
    s.finish()


def glm45_air(path):
    """GLM-4.5-Air (glm4moe, GPU log case 12): 46 blocks + 1 NextN block, 96 heads, 8 KV heads of
    128, first block dense (10944), 128 experts of 1408 (8 used) + 1 shared; the log's mix
    (Q8_0 / IQ4_NL / IQ4_XS) is approximated by Q8_0 attention, IQ4_XS gate/up experts and
    IQ4_NL down experts (1408 rows are no multiple of 256)."""
    a, E, H, KV, D, FF, FE, NE, V = "glm4moe", 4096, 96, 8, 128, 10944, 1408, 128, 151552
    s = Shaped(path, a, 47, E, V, 131072)
    s.attention(H, KV, D)
    s.u("feed_forward_length", FF)
    s.u("rope.dimension_count", 64)
    s.u("expert_count", NE)
    s.u("expert_used_count", 8)
    s.u("expert_shared_count", 1)
    s.u("expert_feed_forward_length", FE)
    s.u("leading_dense_block_count", 1)
    s.u("nextn_predict_layers", 1)
    s.u("expert_gating_func", 2)
    s.w.add_float32(f"{a}.expert_weights_scale", 1.0)
    s.w.add_bool(f"{a}.expert_weights_norm", True)
    hi, lo = QT.Q8_0, QT.IQ4_XS
    s.embd_out(hi, hi)
    for i in range(47):
        b = f"blk.{i}"
        s.t(f"{b}.attn_norm.weight", [E])
        s.qkv(b, H * D, KV * D, hi)
        s.qkv_bias(b, H * D, KV * D)
        s.t(f"{b}.attn_output.weight", [H * D, E], hi)
        s.t(f"{b}.post_attention_norm.weight", [E])
        s.dense_then_moe(b, i, (FF, FE, NE), dense=(hi, hi, hi), exps=(lo, lo, QT.IQ4_NL),
                         shexp=(hi, hi, hi))
    s.finish()


def shaped_models(out):
    d = os.path.join(out, SHAPED)
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)
    qwen3moe(p("qwen3-30b-a3b-q4_k_m.gguf"), QWEN3_30B,
             (QT.Q4_K, QT.Q6_K, QT.Q4_K, QT.Q4_K, QT.Q6_K))
    qwen3moe(p("qwen3-coder-30b-a3b-q8_0.gguf"), QWEN3_30B, (QT.Q8_0,) * 5)
    glm4_z1_32b(p("glm-z1-32b-iq4_xs.gguf"))
    glm45_air(p("glm-4.5-air-mix.gguf"))
    qwen3moe(p("qwen3-235b-a22b-q6_k.gguf"), QWEN3_235B, (QT.Q6_K,) * 5)
    qwen3moe(p("qwen3-235b-a22b-q8_0.gguf"), QWEN3_235B, (QT.Q8_0,) * 5)
    gpt_oss(p("gpt-oss-20b-mxfp4.gguf"), 24, 32, QT.Q8_0, QT.Q8_0)
    glm47_flash(p("glm-4.7-flash-q4_k_m.gguf"), "q4")
    glm47_flash(p("glm-4.7-flash-q8_0.gguf"), "q8")
    gpt_oss_120b(p("gpt-oss-120b-f16.gguf"))
    deepseek_v3_ud_q2_k_xl(p("deepseek-v3-0324-ud-q2_k_xl.gguf"))
    nxt = dict(arch="qwen3next", blocks=48, embd=2048, heads=16, kv=2,
               ssm=(4, 4096, 128, 16, 32), experts=(512, 10, 512), n_ff=None, vocab=151936)
    # Coder UD-Q5 is "~1.1 GB/layer" (seed notes): Q5_K experts like Next's UD-Q5.
    qwen_hybrid(p("qwen3-coder-next-ud-q5_k_xl.gguf"),
                mix=(QT.Q8_0, QT.Q5_K, QT.Q5_K, QT.Q6_K, QT.Q8_0), **nxt)
    qwen_hybrid(p("qwen3-coder-next-ud-q6_k_xl.gguf"),
                mix=(QT.Q8_0, QT.Q6_K, QT.Q6_K, QT.Q6_K, QT.Q8_0), **nxt)
    qwen_hybrid(p("qwen3-next-80b-a3b-ud-q5_k_xl.gguf"),
                mix=(QT.Q8_0, QT.Q5_K, QT.Q5_K, QT.Q6_K, QT.Q8_0), **nxt)
    qwen_hybrid(p("qwen3.5-35b-a3b-ud-q6_k_xl.gguf"), arch="qwen35moe", blocks=40, embd=2048,
                heads=16, kv=2, ssm=(4, 4096, 128, 16, 32), experts=(256, 8, 512), n_ff=None,
                vocab=248320, mix=(QT.Q8_0, QT.Q6_K, QT.Q8_0, QT.Q6_K, QT.Q8_0))
    qwen_hybrid(p("qwen3.5-122b-a10b-ud-q4_k_xl.gguf"), arch="qwen35moe", blocks=48, embd=3072,
                heads=32, kv=2, ssm=(4, 8192, 128, 16, 64), experts=(256, 8, 1024), n_ff=None,
                vocab=248320, mix=(QT.Q6_K, QT.Q4_K, QT.Q4_K, QT.Q6_K, QT.Q8_0))
    # Qwen3.5-9B Q4_K_M (GPU log cases 15/16): 32 blocks, 4 KV heads of 256 (KV 2176 MiB per
    # 262144 q8_0 cells over 8 layers), RS 50.25 MiB per sequence, Q4_K token_embd (545.62 MiB).
    qwen_hybrid(p("qwen3.5-9b-q4_k_m.gguf"), arch="qwen35", blocks=32, embd=4096, heads=16, kv=4,
                ssm=(4, 4096, 128, 16, 32), experts=None, n_ff=12288, vocab=248320,
                mix=(QT.Q4_K, QT.Q4_K, QT.Q6_K, QT.Q4_K, QT.Q6_K))
    dense27 = dict(arch="qwen35", blocks=64, embd=5120, heads=24, kv=4,
                   ssm=(4, 6144, 128, 16, 48), experts=None, n_ff=17408, vocab=248320)
    qwen_hybrid(p("qwen3.5-27b-ud-q6_k_xl.gguf"),
                mix=(QT.Q8_0, QT.Q6_K, QT.Q6_K, QT.Q6_K, QT.Q8_0), **dense27)
    qwen_hybrid(p("qwen3.5-27b-ud-q8_k_xl.gguf"),
                mix=(QT.F16, QT.Q8_0, QT.Q8_0, QT.Q8_0, QT.Q8_0), **dense27)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/header-models"
    os.makedirs(out, exist_ok=True)
    for name, spec in QWEN_HYBRID.items():
        qwen(os.path.join(out, f"{name}.gguf"), **spec)
    mistral_small_4(os.path.join(out, "mistral-small-4-119b.gguf"))
    shaped_models(out)


if __name__ == "__main__":
    main()
