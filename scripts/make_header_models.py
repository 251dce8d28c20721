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


def common(w, arch, blocks, embd):
    w.add_string("general.name", f"header-only {arch}")
    w.add_uint32(f"{arch}.block_count", blocks)
    w.add_uint32(f"{arch}.context_length", CTX)
    w.add_uint32(f"{arch}.embedding_length", embd)
    w.add_uint32(f"{arch}.vocab_size", 151936 if arch.startswith("qwen") else 131072)


def qwen(path, arch, blocks, embd, heads, kv, head, ssm, experts):
    w = gguf.GGUFWriter(path, arch)
    common(w, arch, blocks, embd)
    w.add_uint32(f"{arch}.attention.head_count", heads)
    w.add_uint32(f"{arch}.attention.head_count_kv", kv)
    w.add_uint32(f"{arch}.attention.key_length", head)
    w.add_uint32(f"{arch}.attention.value_length", head)
    w.add_uint32(f"{arch}.full_attention_interval", 4)
    conv, inner, state, groups, rank = ssm
    w.add_uint32(f"{arch}.ssm.conv_kernel", conv)
    w.add_uint32(f"{arch}.ssm.inner_size", inner)
    w.add_uint32(f"{arch}.ssm.state_size", state)
    w.add_uint32(f"{arch}.ssm.group_count", groups)
    w.add_uint32(f"{arch}.ssm.time_step_rank", rank)
    if experts:
        n, used, ff = experts
        w.add_uint32(f"{arch}.expert_count", n)
        w.add_uint32(f"{arch}.expert_used_count", used)
        w.add_uint32(f"{arch}.expert_feed_forward_length", ff)
    else:
        w.add_uint32(f"{arch}.feed_forward_length", 17408)
    finish(w)


def mistral_small_4(path):
    # Mistral-Small-4-119B converts to the deepseek2 (MLA) layout: K = latent 256 + rope 64,
    # head_count_kv 1, no V in the cache.
    arch = "deepseek2"
    w = gguf.GGUFWriter(path, arch)
    common(w, arch, 36, 4096)
    w.add_uint32(f"{arch}.attention.head_count", 32)
    w.add_uint32(f"{arch}.attention.head_count_kv", 1)
    w.add_uint32(f"{arch}.attention.key_length", 320)
    w.add_uint32(f"{arch}.attention.value_length", 256)
    w.add_uint32(f"{arch}.attention.key_length_mla", 192)
    w.add_uint32(f"{arch}.attention.value_length_mla", 128)
    w.add_uint32(f"{arch}.attention.kv_lora_rank", 256)
    w.add_uint32(f"{arch}.attention.q_lora_rank", 1024)
    w.add_uint32(f"{arch}.rope.dimension_count", 64)
    w.add_uint32(f"{arch}.expert_count", 128)
    w.add_uint32(f"{arch}.expert_used_count", 4)
    w.add_uint32(f"{arch}.expert_feed_forward_length", 2048)
    w.add_uint32(f"{arch}.feed_forward_length", 12288)
    finish(w)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/header-models"
    os.makedirs(out, exist_ok=True)
    for name, spec in QWEN_HYBRID.items():
        qwen(os.path.join(out, f"{name}.gguf"), **spec)
    mistral_small_4(os.path.join(out, "mistral-small-4-119b.gguf"))


if __name__ == "__main__":
    main()
