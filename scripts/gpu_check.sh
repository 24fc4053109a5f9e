#!/usr/bin/env bash
# The GPU check for a lent NVIDIA machine (issue 9): installs the node runtime from the unified lock, checks
# bitsandbytes on the GPU, serves a tiny model on the GPU and compares a client's greedy output with local
# transformers, plans blocks of a Llama 3.1 8B-shaped model from the GPU's real free memory (another process holds
# the rest) and serves them, measures served tokens/s supervised vs a bare run_server, records NVML snapshots into
# tests/fixtures/nvml/. Everything lands in OUT (default: $OUT, else ./gpu-check-out); the summary is OUT/summary.txt.
#
#   bash scripts/gpu_check.sh            # on the GPU machine, from the repository root
#   GPU_CHECK_DEVICE=cpu bash scripts/gpu_check.sh   # the same flow on a CPU: checks the script itself
#
# Needs: the dev venv (.venv, or PY=python with installer/dev-requirements.txt) and the lock's files from PyPI or a
# local mirror/wheel folder that pip is configured for (PIP_FIND_LINKS=DIR with `pip download --no-deps
# --require-hashes -r resources/runtime/lock-linux-x86_64.txt -d DIR` made on a connected machine).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-check-out}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
PY=${PY:-.venv/bin/python}
WORK=${GPU_CHECK_WORK:-$(mktemp -d /tmp/farnode-gpu-check-XXXX)}
export FARNODE_RUNTIME_DIR=${FARNODE_RUNTIME_DIR:-$WORK/runtime}
export FARNODE_RUNTIME_LOCK=lock-linux-x86_64.txt FARNODE_HOME=$WORK/home
mkdir -p "$OUT"
: > "$OUT/summary.txt"
say() { echo "== $(date +%T) $*" | tee -a "$OUT/summary.txt"; }
step() {  # step NAME CMD...: runs CMD, its output in OUT/NAME.log, ok/FAILED and seconds in the summary
    local name=$1 started=$SECONDS rc=0; shift
    echo "== $(date +%T) $name ..."
    "$@" >"$OUT/$name.log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then say "$name ok ($((SECONDS - started)) s)"; else say "$name FAILED rc=$rc ($((SECONDS - started)) s): see $name.log"; fi
    return $rc
}
slug() { nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr 'A-Z ' 'a-z_' | tr -cd 'a-z0-9_'; }

say "device $DEVICE, work folder $WORK, runtime $FARNODE_RUNTIME_DIR"
if [ "$DEVICE" = cuda ]; then
    nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || { say "nvidia-smi FAILED: no NVIDIA driver here"; exit 1; }
    CARD=$(slug); CARD=${CARD#nvidia_}
    step nvml_idle "$PY" scripts/record_nvml_snapshot.py "tests/fixtures/nvml/recorded_${CARD}_idle.json" \
        --note "idle, before FarNode's GPU check (scripts/gpu_check.sh)"
fi
step runtime_install /usr/bin/time -f "install wall %e s" "$PY" -m farnode_desktop runtime install || exit 1
du -sh "$FARNODE_RUNTIME_DIR" | tee -a "$OUT/summary.txt"
step runtime_check "$PY" -m farnode_desktop runtime check --json
cp "$OUT/runtime_check.log" "$OUT/runtime_check.json"
if [ "$DEVICE" = cuda ]; then
    grep -q '"cuda_available": true' "$OUT/runtime_check.json" && say "torch sees the GPU" || say "torch does NOT see the GPU"
    step gpus "$PY" -m farnode_desktop gpus --json --model meta-llama/Meta-Llama-3.1-70B-Instruct
    step plan_70b "$PY" -m farnode_desktop plan --model meta-llama/Meta-Llama-3.1-70B-Instruct --gpu 0
    step quant "$PY" scripts/gpu_check.py quant "$OUT" --device cuda
fi
step tiny "$PY" scripts/gpu_check.py tiny "$OUT" --device "$DEVICE"
if [ "$DEVICE" = cuda ]; then
    step planned "$PY" scripts/gpu_check.py planned "$OUT" --device cuda
    [ -f "$OUT/nvml_serving.json" ] && cp "$OUT/nvml_serving.json" "tests/fixtures/nvml/recorded_${CARD}_serving.json"
else
    step planned "$PY" scripts/gpu_check.py planned "$OUT" --device cpu --layers 2
fi
step bench "$PY" benchmarks/bench_serving.py --rounds "${BENCH_ROUNDS:-3}" --device "$DEVICE" --out "$OUT/serving_$DEVICE.json"
grep -h '"ratio_supervised_over_bare"' "$OUT/serving_$DEVICE.json" | tee -a "$OUT/summary.txt"
[ "$DEVICE" = cuda ] && cp tests/fixtures/nvml/recorded_"${CARD}"_*.json "$OUT/" 2>/dev/null
say "done; summary in $OUT/summary.txt"
grep -q FAILED "$OUT/summary.txt" && exit 1 || exit 0
