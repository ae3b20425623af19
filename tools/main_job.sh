#!/usr/bin/env bash
# The main job on the toy world:
#   1. generate the toy nuScenes world in data/toy_nuscenes if it is missing,
#   2. write its info files with tools/create_data.py if they are missing,
#   3. train the CPU-sized model with NexusFlow under the city partition
#      (map labels in singapore-onenorth, tracking labels in boston-seaport),
#   4. evaluate the last checkpoint with tools/test.py and print AMOTA and
#      map IoU, overall, per city and per partition role.
# Environment variables: CONFIG, DATA_ROOT, WORK_DIR. Extra arguments go to
# tools/train.py, e.g. `bash tools/main_job.sh --cfg-options train_cfg.max_iters=300`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=python
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
CONFIG=${CONFIG:-configs/nexusflow/nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py}
DATA_ROOT=${DATA_ROOT:-data/toy_nuscenes}
WORK_DIR=${WORK_DIR:-work_dirs/main_job}

if [ ! -f "$DATA_ROOT/v1.0-mini/scene.json" ]; then
    echo "[main_job] generating the toy world in $DATA_ROOT"
    "$PYTHON" tools/make_toy_nuscenes.py --out-dir "$DATA_ROOT" --version v1.0-mini --seed 0
fi
if [ ! -f "$DATA_ROOT/nexusflow_infos_train.pkl" ] || [ ! -f "$DATA_ROOT/nexusflow_infos_val.pkl" ]; then
    echo "[main_job] writing info files for $DATA_ROOT"
    "$PYTHON" tools/create_data.py nuscenes --root-path "$DATA_ROOT" --version v1.0-mini --out-dir "$DATA_ROOT"
fi

# Point every data loader and the nuScenes metric at DATA_ROOT.
ROOT="${DATA_ROOT%/}/"
DATA_OPTIONS=(
    "train_dataloader.dataset.data_root=$ROOT" "val_dataloader.dataset.data_root=$ROOT"
    "test_dataloader.dataset.data_root=$ROOT" "val_evaluator.0.data_root=$ROOT"
    "test_evaluator.0.data_root=$ROOT")

echo "[main_job] training $CONFIG in $WORK_DIR"
# Validation at the end of training would repeat step 4, so it is switched off here.
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" \
    --cfg-options train_cfg.val_begin=1000000000 "${DATA_OPTIONS[@]}" "$@"

CHECKPOINT=$(cat "$WORK_DIR/last_checkpoint")
echo "[main_job] evaluating $CHECKPOINT"
"$PYTHON" tools/test.py "$CONFIG" "$CHECKPOINT" --work-dir "$WORK_DIR" --cfg-options "${DATA_OPTIONS[@]}"
"$PYTHON" tools/analysis_tools/summarize_metrics.py "$WORK_DIR/test_metrics.json"
