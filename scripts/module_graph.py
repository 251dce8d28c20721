#!/usr/bin/env python3
"""Prints the module dependency table of docs/architecture.md, drawn from the code.

For each top-level module of src/ it collects the `crate::<module>` paths its files use (diag and
error, used by nearly every stage, left out) and puts it one layer above the highest module it uses.
Exits 1 when two modules use each other (the graph must stay one-way).
"""
import glob
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def modules():
    mods = {}
    for entry in sorted(os.listdir(SRC)):
        if entry in ("lib.rs", "main.rs", "bin"):
            continue
        path = os.path.join(SRC, entry)
        name = entry[:-3] if entry.endswith(".rs") else entry
        files = [path] if path.endswith(".rs") else glob.glob(path + "/**/*.rs", recursive=True)
        uses = set()
        for f in files:
            with open(f, encoding="utf-8") as fh:
                uses.update(re.findall(r"crate::([a-z_]+)", fh.read()))
        mods[name] = uses - {name, "diag", "error"}
    return {k: {u for u in v if u in mods} for k, v in mods.items()}


def main():
    mods = modules()
    cycles = sorted((a, b) for a in mods for b in mods[a] if a in mods.get(b, ()))
    if cycles:
        print("modules that use each other:", cycles, file=sys.stderr)
        return 1
    layer = {}

    def level(m):
        if m not in layer:
            layer[m] = 1 + max((level(u) for u in mods[m]), default=-1)
        return layer[m]

    print("layer  module        uses (crate modules, diag and error left out)")
    for m in sorted((m for m in mods if m not in ("diag", "error")), key=lambda m: (level(m), m)):
        uses = " ".join(sorted(mods[m], key=lambda x: (level(x), x))) or "—"
        print(f"{level(m):<6} {m:<13} {uses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
