#!/usr/bin/env bash
# The GPU check of issue 17.5 (see bench/gpu_check.py): IResNet-50 at 112 px, float32 vs bf16, --steps_per_loop
# 1 vs 10, on the visible GPUs; writes bench/results/gpu_check.json. `--tiny` runs a small CNN on the CPU.
#   bash bench/gpu_check.sh [--tiny] [--out=FILE]        (PYTHON=... picks the interpreter, default python)
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}" TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec "${PYTHON:-python}" bench/gpu_check.py "$@"
