#!/usr/bin/env bash
# The GPU check for an NVIDIA machine (issues 9, 18): checks bitsandbytes on the GPU, serves a tiny model on the GPU
# and compares a client's greedy output with local transformers, serves two real-sized blocks of a Llama 3.1
# 8B-shaped model in float32 and compares likewise, plans blocks of that model from the GPU's real free memory
# (another process holds the rest) and serves them, times a stand-in game taking the GPU until the node's memory is
# free, measures served tokens/s supervised vs a bare run_server, records NVML snapshots into tests/fixtures/nvml/.
#
#   bash scripts/gpu_check.sh --device-image   # on a lent GPU machine (no registry): its own CUDA torch + carried wheels
#   bash scripts/gpu_check.sh --device-image --cpu   # the same flow here, on a CPU, over the test runtime's Python
#   bash scripts/gpu_check.sh                  # on any NVIDIA machine with PyPI: installs the runtime from the lock
#   GPU_CHECK_DEVICE=cpu bash scripts/gpu_check.sh   # the lock flow on a CPU
#
# --device-image: the node runtime is an overlay venv (scripts/gpu_check_overlay.py) over GPU_CHECK_BASE_PYTHON
# (default /opt/torch/.venv/bin/python3; with --cpu, the test runtime's Python) holding the wheels in
# GPU_CHECK_WHEELS (default build/device-wheels, made by `python scripts/device_wheels.py`; with --cpu,
# build/device-wheels-cp311, made with --python-version 3.11). Its results fit what a device call brings back: OUT
# gets summary.txt, gpu-check.tar.gz (every step's log and JSON, the image's pip list, nvidia-smi) and the NVML
# fixtures, re-bundled after each step so that a run stopped at its time limit still returns what it did.
# GPU_CHECK_STEPS="tiny bench" runs only those steps (the overlay is always made); GPU_CHECK_DEADLINE_S (default
# 480) ends the whole check by then: each step's limit is cut to the time left, a step with under 30 s left is skipped. The lock flow: needs the dev venv (.venv, or PY=python)
# and the lock's files from PyPI or a folder pip is configured for (PIP_FIND_LINKS).
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=lock
DEVICE=${GPU_CHECK_DEVICE:-cuda}
for arg in "$@"; do
    case $arg in
        --device-image) MODE=image ;;
        --cpu) DEVICE=cpu ;;
        *) echo "unknown argument: $arg (see the comment at the top of $0)" >&2; exit 2 ;;
    esac
done
OUT=${OUT:-$PWD/gpu-check-out}
WORK=${GPU_CHECK_WORK:-$(mktemp -d /tmp/farnode-gpu-check-XXXX)}
DEADLINE_S=${GPU_CHECK_DEADLINE_S:-480}  # image mode: every step ends by then (its own limit cut to what is left)
STEPS=" ${GPU_CHECK_STEPS:-runtime gpus plan_70b quant tiny planned game bench exact8b} "  # in this order
export FARNODE_HOME=$WORK/home FARNODE_RUNTIME_LOCK=lock-linux-x86_64.txt PYTHONUNBUFFERED=1
mkdir -p "$OUT"
if [ $MODE = image ]; then
    LOGS=$WORK/results
    export FARNODE_RUNTIME_DIR=$WORK/runtime
    PY=$FARNODE_RUNTIME_DIR/bin/app-python  # the app side: the base Python + the app's source (gpu_check_overlay.py)
    if [ $DEVICE = cpu ]; then
        BASE_PY=${GPU_CHECK_BASE_PYTHON:-$PWD/.farnode-test/runtime/bin/python}
        WHEELS=${GPU_CHECK_WHEELS:-build/device-wheels-cp311}
    else
        BASE_PY=${GPU_CHECK_BASE_PYTHON:-/opt/torch/.venv/bin/python3}
        WHEELS=${GPU_CHECK_WHEELS:-build/device-wheels}
    fi
else
    LOGS=$OUT
    DEADLINE_S=${GPU_CHECK_DEADLINE_S:-7200}  # the lock flow downloads 3 GB first
    export FARNODE_RUNTIME_DIR=${FARNODE_RUNTIME_DIR:-$WORK/runtime}
    PY=${PY:-.venv/bin/python}
fi
mkdir -p "$LOGS"
: > "$OUT/summary.txt"
say() { echo "== $(date +%T) $*" | tee -a "$OUT/summary.txt"; }
bundle() {  # image mode: everything in one archive under OUT, the fixtures beside it (<= 8 files come back)
    [ $MODE = image ] || return 0
    tar czf "$OUT/gpu-check.tar.gz.part" -C "$LOGS" . 2>/dev/null && mv "$OUT/gpu-check.tar.gz.part" "$OUT/gpu-check.tar.gz"
    cp "$LOGS"/recorded_*.json "$OUT/" 2>/dev/null
    return 0
}
wanted() { [[ "$STEPS" == *" $1 "* ]]; }
step() {  # step NAME TIMEOUT CMD...: runs CMD, its output in LOGS/NAME.log, ok/FAILED and seconds in the summary
    local name=$1 limit=$2 started=$SECONDS rc=0 left=$((DEADLINE_S - SECONDS)); shift 2
    if [ $left -lt 30 ]; then say "$name SKIPPED: the check's $DEADLINE_S s are (nearly) spent"; bundle; return 1; fi
    [ "$limit" -gt $left ] && limit=$left
    echo "== $(date +%T) $name ..."
    timeout -k 10 "$limit" "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then say "$name ok ($((SECONDS - started)) s)"
    elif [ $rc -eq 124 ]; then say "$name FAILED: over its $limit s ($((SECONDS - started)) s): see $name.log"
    else say "$name FAILED rc=$rc ($((SECONDS - started)) s): see $name.log"; fi
    bundle
    return $rc
}
slug() { nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 | tr 'A-Z ' 'a-z_' | tr -cd 'a-z0-9_'; }
fixture() { echo "tests/fixtures/nvml/recorded_${CARD}_$1.json"; }

say "mode $MODE, device $DEVICE, work folder $WORK, runtime $FARNODE_RUNTIME_DIR"
if [ "$DEVICE" = cuda ]; then
    nvidia-smi > "$LOGS/nvidia-smi.txt" 2>&1 || { say "nvidia-smi FAILED: no NVIDIA driver here"; bundle; exit 1; }
    CARD=$(slug); CARD=${CARD#nvidia_}
fi
if [ $MODE = image ]; then
    "$BASE_PY" -m pip list --format=freeze --disable-pip-version-check > "$LOGS/image-pip-list.txt" 2>&1
    "$BASE_PY" -c 'import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())' \
        > "$LOGS/image-torch.txt" 2>&1
    say "base $BASE_PY: Python, torch, CUDA = $(tail -1 "$LOGS/image-torch.txt")"
    step overlay 180 "$BASE_PY" scripts/gpu_check_overlay.py "$FARNODE_RUNTIME_DIR" "$WHEELS" || { bundle; exit 1; }
    tail -1 "$LOGS/overlay.log" >> "$OUT/summary.txt"
else
    step runtime_install 1800 /usr/bin/time -f "install wall %e s" "$PY" -m farnode_desktop runtime install || exit 1
    du -sh "$FARNODE_RUNTIME_DIR" | tee -a "$OUT/summary.txt"
fi
if [ "$DEVICE" = cuda ]; then
    step nvml_idle 60 "$PY" scripts/record_nvml_snapshot.py "$(fixture idle)" \
        --note "idle, before FarNode's GPU check (scripts/gpu_check.sh)" && cp "$(fixture idle)" "$LOGS/"
fi
gpu_step() {  # gpu_step NAME TIMEOUT [ARGS...]: one step of scripts/gpu_check.py, its JSON in LOGS
    local name=$1 limit=$2; shift 2
    wanted "$name" || return 0
    step "$name" "$limit" "$PY" scripts/gpu_check.py "$name" "$LOGS" --device "$DEVICE" "$@"
}
gpu_step runtime 180
if [ "$DEVICE" = cuda ]; then
    wanted gpus && step gpus 60 "$PY" -m farnode_desktop gpus --json --model meta-llama/Meta-Llama-3.1-70B-Instruct
    wanted plan_70b && step plan_70b 60 "$PY" -m farnode_desktop plan --model meta-llama/Meta-Llama-3.1-70B-Instruct --gpu 0
    gpu_step quant 120
fi
gpu_step tiny 240
if [ "$DEVICE" = cuda ]; then
    gpu_step planned 300
    if [ -f "$LOGS/nvml_serving.json" ]; then cp "$LOGS/nvml_serving.json" "$(fixture serving)" && cp "$(fixture serving)" "$LOGS/"; fi
    gpu_step game 150
elif [ $MODE = lock ]; then
    gpu_step planned 600 --layers 2
fi
if wanted bench && { [ "$DEVICE" = cuda ] || [ $MODE = lock ]; }; then
    step bench 240 "$PY" benchmarks/bench_serving.py --rounds "${BENCH_ROUNDS:-2}" --device "$DEVICE" \
        --out "$LOGS/serving_$DEVICE.json"
    grep -h '"ratio_supervised_over_bare"' "$LOGS/serving_$DEVICE.json" 2>/dev/null | tee -a "$OUT/summary.txt"
fi
[ "$DEVICE" = cuda ] && gpu_step exact8b 180
say "done in $SECONDS s; summary in $OUT/summary.txt"
bundle
grep -qE "FAILED|SKIPPED" "$OUT/summary.txt" && exit 1 || exit 0
