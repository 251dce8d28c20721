#!/usr/bin/env python3
"""Rewrite a small GGUF as a split set of exactly N shards (`NAME-00001-of-0000N.gguf`), with
llama.cpp's split metadata (split.no, split.count, split.tensors.count), as llama-gguf-split
writes it. Used by tests that need a split model of a given shard count (the corpus names
3- and 2-shard models).

Usage: python3 scripts/split_gguf.py IN.gguf OUT_DIR/NAME-00001-of-0000N.gguf
Needs: pip install gguf==0.19.0 numpy
"""
import math
import os
import re
import sys

import gguf


def copy_field(w, field):
    name = field.name
    if name.startswith("GGUF.") or name.startswith("split.") or name == "general.architecture":
        return
    vtype = field.types[0]
    if vtype == gguf.GGUFValueType.ARRAY:
        sub = field.types[-1]
        w.add_key_value(name, field.contents(), vtype, sub_type=sub)
    else:
        w.add_key_value(name, field.contents(), vtype)


def main():
    src, first = sys.argv[1], sys.argv[2]
    m = re.match(r"(.*)-00001-of-(\d{5})\.gguf$", first)
    if not m:
        sys.exit("the output must be named NAME-00001-of-0000N.gguf")
    count = int(m.group(2))
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    n = len(r.tensors)
    if n < count:
        sys.exit(f"{src} has {n} tensors, fewer than {count} shards")
    per = math.ceil(n / count)
    while per > 1 and math.ceil(n / (per - 1)) == count:
        per -= 1
    os.makedirs(os.path.dirname(first) or ".", exist_ok=True)
    w = gguf.GGUFWriter(m.group(1) + ".gguf", arch, split_max_tensors=per)
    for field in r.fields.values():
        copy_field(w, field)
    for t in r.tensors:
        # The reader gives quantized data as rows of bytes, the shape add_tensor expects.
        w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
