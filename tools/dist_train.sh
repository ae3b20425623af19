#!/usr/bin/env bash
# Train with torchrun on one node (or several, with NNODES/NODE_RANK/MASTER_ADDR).
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCESSES [train.py options]
# On a GPU node NUM_PROCESSES is the number of GPUs. On a CPU-only machine the
# processes use the gloo backend.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NUM_PROCESSES [train.py options]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
# The interpreter of the active environment; set PYTHON to choose another.
PYTHON=${PYTHON:-python}
# A free port is picked when PORT is not set, so parallel jobs do not collide.
PORT=${PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PYTHONPATH="$DIR/../projects/NexusFlow:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --nproc_per_node="$NPROC" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" \
    "$DIR/train.py" "$CONFIG" --launcher pytorch "$@"
