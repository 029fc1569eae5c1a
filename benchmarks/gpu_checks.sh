#!/usr/bin/env bash
# The GPU figures of the performance issue, as one short script for a lent GPU machine
# (it prints everything; nothing is asserted). Runs under the machine's own python3 with
# this checkout on PYTHONPATH; packages that image lacks (jsonschema for budget.py) go in
# as wheels, see /work/.library/device/README.md. Budget: about 8 minutes on one H200.
#
#   bash benchmarks/gpu_checks.sh            # PY=... to pick another interpreter
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
$PY -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name())'
echo "== engine vs seed-style loop (fp32; seed-style DataLoader with 6 workers, as seed 004)"
$PY benchmarks/engine_vs_seed.py --device cuda --samples 20000 --workers 6
echo "== N = 8 replicates vs 1 seed, fp32 and bf16"
$PY benchmarks/replicates.py --device cuda --samples 20000
$PY benchmarks/replicates.py --device cuda --samples 20000 --precision bf16
echo "== compute budget of the full and fast presets"
$PY benchmarks/budget.py --device cuda --preset full --batches 3
$PY benchmarks/budget.py --device cuda --preset fast --batches 3
