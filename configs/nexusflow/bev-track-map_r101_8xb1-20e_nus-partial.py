# Partial-supervision baseline on nuScenes at UniAD's first-stage size: map labels
# only in the three Singapore cities, tracking labels only in boston-seaport.
# 8 GPUs x 1 clip: bash tools/dist_train.sh THIS_CONFIG 8
_base_ = [
    '../_base_/models/bev-track-map_full.py',  # includes datasets/nus-partial_full.py
    '../_base_/schedules/adamw_cosine_20e.py',
    '../_base_/default_runtime.py',
]

log_processor = dict(by_epoch=True)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=3))

val_evaluator = [
    dict(type='NuScenesTrackMetric',
         data_root={{_base_.data_root}},
         version='v1.0-trainval',
         class_names={{_base_.class_names}},
         partition={{_base_.partition}}),
    dict(type='MapIoUMetric',
         map_classes={{_base_.map_classes}},
         partition={{_base_.partition}}),
]
test_evaluator = val_evaluator
