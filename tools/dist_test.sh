#!/usr/bin/env bash
# Evaluate with torchrun on one node. Each process gets whole scenes; the metrics
# merge the results by sample token, so the numbers match a single-process run.
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCESSES [test.py options]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NUM_PROCESSES [test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
# The interpreter of the active environment; set PYTHON to choose another.
PYTHON=${PYTHON:-python}
PORT=${PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PYTHONPATH="$DIR/../projects/NexusFlow:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes=1 --node_rank=0 --nproc_per_node="$NPROC" \
    --master_addr="$MASTER_ADDR" --master_port="$PORT" \
    "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "$@"
