#!/usr/bin/env bash
# Where the GPU machine's time goes, in one short run: thread-by-thread samples of whole commands (a
# folder of 1024 px photos, one 4000x3000 photo, a look and a style training), start-up costs, then
# bench_render's and bench_train's GPU columns while the budget lasts.
#
#   OUT=/tmp/probe benchmarks/gpu_probe.sh               # on the GPU machine, from the repo root
#   DEVICE=cpu QUICK=1 OUT=/tmp/probe benchmarks/gpu_probe.sh   # a smoke test of this script anywhere
#
# Writes under $OUT (at most 8 files): probe.log (everything, in order), samples.txt (the samplers'
# tables), render.log, train.log.

set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
BUDGET=${BUDGET:-240}
OUT=${OUT:-/tmp/probe}
STEPS=${STEPS:-}
TRAIN=${TRAIN:-1}  # 0: no bench_train at the end
TRAIN_LIMIT=${TRAIN_LIMIT:-150}  # seconds for bench_train (the fast preset on five sets and three looks)
RENDER=${RENDER:-1}  # 0: no whole-process renders and no bench_render (a training-only check)
CLI_TRAIN=${CLI_TRAIN:-0}  # 1: also time a whole `stylefuse train style --preset fast` process, as a user runs it,
# then the same command's parts (benchmarks/time_cli_train.py: a timeline from the interpreter's start)
# ENGINE=1: bench_engine's engine times too; BIG_RUNS: whole-process runs of the big photo, each way
SAMPLES=${SAMPLES:-folder big look style}  # which thread samples to take
# 1: give Python a writable bytecode cache (PYTHONPYCACHEPREFIX) and fill it before measuring, as an
# installed app has its bytecode (pip and PyInstaller compile it); a machine whose torch has no
# __pycache__ and cannot write one otherwise compiles ~1000 of torch's modules in every process
BYTECODE=${BYTECODE:-0}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
WORK=$(mktemp -d /tmp/probe_work.XXXXXX)
export STYLEFUSE_CACHE_DIR="$WORK/cache" STYLEFUSE_DATA_DIR="$WORK/data" STYLEFUSE_CONFIG_DIR="$WORK/config"
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
exec > >(tee -a "$OUT/probe.log") 2>&1

if [ "$QUICK" = "1" ]; then SIDE=256; BIG=800x600; COUNT=4; TRAIN_STEPS="--steps 10"
else SIDE=1024; BIG=4000x3000; COUNT=16; TRAIN_STEPS=${STEPS:+--steps $STEPS}; fi

# step NAME LIMIT COMMAND...: within what is left of the budget; a failure does not stop the others
step() {
    local name=$1 limit=$2
    shift 2
    local remaining
    remaining=$(left)
    if [ "$remaining" -lt 15 ]; then echo "### $name: skipped (budget spent)"; return 0; fi
    [ "$limit" -gt $((remaining - 5)) ] && limit=$((remaining - 5))
    echo "### $name (limit ${limit}s, $(left)s left)"
    local began=$(date +%s%N)
    timeout -k 5 "$limit" "$@"
    echo "### $name: rc=$? in $(( ($(date +%s%N) - began) / 1000000 )) ms"
}

echo "# gpu_probe.sh $(date -u +%FT%TZ) DEVICE=$DEVICE QUICK=$QUICK BUDGET=$BUDGET git $(git rev-parse --short HEAD 2>/dev/null)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader
"$PYTHON" - "$WORK" "$SIDE" "$COUNT" "$BIG" <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from _measure import photo_folder
from PIL import Image
from resources_sample import sample_photo_array
work, side, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
width, height = map(int, sys.argv[4].split("x"))
photo_folder(work / "one", side, 1)
photo_folder(work / "many", side, count)
photo_folder(work / "big", height, 1, width=width)
Image.fromarray(sample_photo_array((512, 512))[:, ::-1]).save(work / "style.png")
import numpy as np
from skimage import data
(work / "styles").mkdir()
for i, (name, y) in enumerate([(n, y) for n in ("brick", "grass", "gravel") for y in (0, 256)]):
    Image.fromarray(np.repeat(getattr(data, name)()[y : y + 256, :256, None], 3, axis=2)).save(work / "styles" / f"{i}.png")
EOF
env | grep -E '^PYTHON' || true
"$PYTHON" -c "import sys, pathlib, importlib.util as u; p = pathlib.Path(u.find_spec('torch').origin).parent; \
print('torch at', p, '| __pycache__ there:', (p / '__pycache__').is_dir(), '| dont_write_bytecode:', sys.dont_write_bytecode)"
step "import torch (python -c), as found" 30 "$PYTHON" -c "import time; t = time.perf_counter(); import torch; \
print(f'import torch {time.perf_counter() - t:.2f} s')"
if [ "$BYTECODE" = "1" ]; then
    export PYTHONPYCACHEPREFIX="$WORK/pycache"
    unset PYTHONDONTWRITEBYTECODE
    step "bytecode cache filled (not timed)" 120 "$PYTHON" -c "import torch, numpy, PIL.Image, safetensors, \
stylefuse_desktop.cli, stylefuse_desktop.engine.render, stylefuse_desktop.training.style_trainer, \
stylefuse_desktop.training.pairs_trainer"
fi
CLI=("$PYTHON" -m stylefuse_desktop.cli)
step "weights converted, first render" 90 "${CLI[@]}" render "$WORK/one/photo00.png" -o "$WORK/warm.png" --device "$DEVICE"
step "import torch (python -c)" 30 "$PYTHON" -c "import time; t = time.perf_counter(); import torch; \
a = time.perf_counter(); torch.zeros(1, device='$DEVICE'); b = time.perf_counter(); \
print(f'import torch {a - t:.2f} s, first tensor on $DEVICE {b - a:.2f} s')"

[ "$RENDER" = 1 ] && for style in "--style Fiesta" "--style-image $WORK/style.png"; do
    for folder in one many; do
        step "whole process, folder $folder, $style" 60 bash -c \
            "/usr/bin/time -f '%e s wall, %U s user, %S s sys, %M KiB peak' ${CLI[*]} render $WORK/$folder \
             -o $WORK/out-$folder-${style%% *} --device $DEVICE $style >/dev/null"
    done
done
# with and without the CUDA context made in the background (STYLEFUSE_CUDA_WARMUP), by turns
for run in $(seq 1 "$([ "$RENDER" = 1 ] && echo "${BIG_RUNS:-2}" || echo 0)"); do
    for warmup in 1 0; do
        step "whole process, $BIG builtin, CUDA warm-up $warmup (run $run)" 60 env STYLEFUSE_CUDA_WARMUP=$warmup \
            bash -c "/usr/bin/time -f '%e s wall, %U s user, %S s sys, %M KiB peak' ${CLI[*]} render \
            $WORK/big/photo00.png -o $WORK/big-out.png --device $DEVICE --style Fiesta >/dev/null"
    done
done
has() { case " $SAMPLES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
{
    has folder && for style in "--style Fiesta" "--style-image $WORK/style.png"; do
        echo "=== samples: folder of $COUNT x $SIDE, $style"
        step "samples folder $style" 60 "$PYTHON" benchmarks/sample_stacks.py --top 10 -- render "$WORK/many" \
            -o "$WORK/s-many" --device "$DEVICE" $style
    done
    has big && echo "=== samples: $BIG builtin" && step "samples big" 60 "$PYTHON" benchmarks/sample_stacks.py --top 10 -- render "$WORK/big/photo00.png" \
        -o "$WORK/s-big.png" --device "$DEVICE" --style Fiesta
    has look && echo "=== samples: look training (warm), fast" && step "samples look training" 60 "$PYTHON" benchmarks/sample_stacks.py --top 14 --script benchmarks/bench_train.py \
        -- --device "$DEVICE" --quick --modes pairs --looks warm $TRAIN_STEPS
    has style && echo "=== samples: style training (skimage), fast" && step "samples style training" 60 "$PYTHON" benchmarks/sample_stacks.py --top 14 --script benchmarks/bench_train.py \
        -- --device "$DEVICE" --quick --modes style --sets skimage $TRAIN_STEPS
} > "$OUT/samples.txt" 2>&1
grep '^###' "$OUT/samples.txt"
[ "${ENGINE:-0}" = 1 ] && step "bench_engine (engine time, default switches)" 60 "$PYTHON" benchmarks/bench_engine.py \
    --device "$DEVICE" --sizes "$SIDE"x"$SIDE,$BIG" --repeat 3 --budget 40
[ "$CLI_TRAIN" = 1 ] && step "whole process, train style --preset fast, 6 pictures" 90 bash -c \
    "/usr/bin/time -f '%e s wall, %U s user, %S s sys, %M KiB peak' ${CLI[*]} train style --styles $WORK/styles \
     --name probe --out $WORK/probe.sfstyle --device $DEVICE --preset fast $TRAIN_STEPS --json > $OUT/cli-train.json"
[ "$CLI_TRAIN" = 1 ] && step "timeline of a train style --preset fast command" 90 bash -c "$PYTHON benchmarks/time_cli_train.py \
     -- train style --styles $WORK/styles --name timeline --out $WORK/timeline.sfstyle --device $DEVICE --preset fast \
     $TRAIN_STEPS --json | grep -E '^\||exit code'"
[ "$TRAIN" = 1 ] && step "bench_train --device cuda --quick" "$TRAIN_LIMIT" "$PYTHON" benchmarks/bench_train.py \
    --device "$DEVICE" --quick $TRAIN_STEPS --json-out "$OUT/train.jsonl" > "$OUT/train.log" 2>&1
[ -f "$OUT/train.log" ] && grep -E '^\|' "$OUT/train.log"
[ "$RENDER" = 1 ] && step "bench_render --device cuda" 100 "$PYTHON" benchmarks/bench_render.py --device cuda --gpu-run-on "$DEVICE" \
    $([ "$QUICK" = 1 ] && echo --quick) --budget 80 > "$OUT/render.log" 2>&1
[ -f "$OUT/render.log" ] && grep -E '^\||steady|whole|FAILED' "$OUT/render.log"
echo "### done in $(( $(date +%s) - START )) s"
