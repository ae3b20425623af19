#!/usr/bin/env bash
# Step time and peak GPU memory of the full BEV track+map config: NexusFlow
# off/on x fp32/AMP x activation checkpointing off/on, one line per variant,
# and a markdown table (default work_dirs/benchmarks/gpu_full_config.md).
# Extra arguments go to benchmarks/gpu_full_config.py (see its --help).
# NOTE: not yet run on a GPU. Finishing within 10 minutes on one H100/H200
# class GPU is an estimate; `timeout 600` stops the run there, and the table
# keeps the variants finished by then.
#
# Usage: bash benchmarks/gpu_full_config.sh [--steps 5] [--out FILE]
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
PYTHON="${PYTHON:-python}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_full_config.sh: no NVIDIA GPU found (nvidia-smi is missing or lists no device);" \
         "this benchmark needs one CUDA GPU." >&2
    exit 2
fi
if ! "${PYTHON}" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_full_config.sh: a GPU is present but torch.cuda.is_available() is False;" \
         "install a CUDA build of torch and mmcv." >&2
    exit 2
fi

nvidia-smi -L
exec timeout 600 "${PYTHON}" benchmarks/gpu_full_config.py "$@"
