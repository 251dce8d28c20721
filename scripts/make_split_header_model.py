#!/usr/bin/env python3
"""Write a split, header-only GGUF shaped like a Llama 3.1 8B Q4_K: three shards
(NAME-0000k-of-00003.gguf) with the real hyper-parameters, a 128,256-token tokenizer in the first
shard, a real tensor table, and a sparse data section (the files claim ~4.6 GB and cost a few MB
of disk). tests/remote_plan.rs serves them over HTTP to check that `plan hf://…` reads only the
headers (docs/remote.md).

Deterministic, written by gguf-py (the library llama.cpp's converters and gguf-split use; the split
keys are gguf-split's: split.no u16 0-based, split.count u16, split.tensors.count i32).

Usage: python3 scripts/make_split_header_model.py OUT_DIR
Needs: pip install gguf==0.19.0
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf import GGMLQuantizationType as QT  # noqa: E402
from make_header_models import Shaped  # noqa: E402

ARCH = "llama"
BLOCKS, EMBD, HEADS, KV, FF, VOCAB, CTX = 32, 4096, 32, 8, 14336, 128256, 131072
SHARDS = 3
NAME = "llama-3.1-8b-shaped-q4_k_m"


def tensors():
    out = [("token_embd.weight", [EMBD, VOCAB], QT.Q4_K)]
    for i in range(BLOCKS):
        b = f"blk.{i}"
        out += [
            (f"{b}.attn_norm.weight", [EMBD], QT.F32),
            (f"{b}.attn_q.weight", [EMBD, EMBD], QT.Q4_K),
            (f"{b}.attn_k.weight", [EMBD, KV * 128], QT.Q4_K),
            (f"{b}.attn_v.weight", [EMBD, KV * 128], QT.Q6_K),
            (f"{b}.attn_output.weight", [EMBD, EMBD], QT.Q4_K),
            (f"{b}.ffn_norm.weight", [EMBD], QT.F32),
            (f"{b}.ffn_gate.weight", [EMBD, FF], QT.Q4_K),
            (f"{b}.ffn_up.weight", [EMBD, FF], QT.Q4_K),
            (f"{b}.ffn_down.weight", [FF, EMBD], QT.Q6_K),
        ]
    out += [("output_norm.weight", [EMBD], QT.F32), ("output.weight", [EMBD, VOCAB], QT.Q6_K)]
    return out


def shard(path, no, items, total):
    # Shaped (make_header_models.py) writes the hyper-parameters, the tensor table and the
    # sparse data section; the split keys and the tokenizer are added here.
    s = Shaped(path, ARCH, BLOCKS, EMBD, VOCAB, CTX)
    w = s.w
    w.add_uint16("split.no", no)
    w.add_uint16("split.count", SHARDS)
    w.add_int32("split.tensors.count", total)
    if no == 0:
        s.u("feed_forward_length", FF)
        s.u("attention.head_count", HEADS)
        s.u("attention.head_count_kv", KV)
        w.add_float32(f"{ARCH}.rope.freq_base", 500000.0)
        w.add_float32(f"{ARCH}.attention.layer_norm_rms_epsilon", 1e-5)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("llama-bpe")
        w.add_token_list([f"tok{i:06d}" for i in range(VOCAB)])
        w.add_token_types([1] * VOCAB)
        w.add_bos_token_id(128000)
        w.add_eos_token_id(128009)
    for name, ne, qt in items:
        s.t(name, ne, qt)
    s.finish()


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "target/header-models/split"
    os.makedirs(out, exist_ok=True)
    all_t = tensors()
    cuts = [0, 1 + 11 * 9, 1 + 22 * 9, len(all_t)]
    for i in range(SHARDS):
        path = os.path.join(out, f"{NAME}-{i + 1:05d}-of-{SHARDS:05d}.gguf")
        shard(path, i, all_t[cuts[i]:cuts[i + 1]], len(all_t))


if __name__ == "__main__":
    main()
