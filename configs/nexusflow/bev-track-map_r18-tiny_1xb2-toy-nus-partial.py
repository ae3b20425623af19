# Partial-supervision baseline on the toy world, CPU-sized model: map labels
# only in singapore-onenorth, tracking labels only in boston-seaport. Adding a
# NexusFlowHook (see the nexusflow_ config beside this one) is the only change
# needed for NexusFlow.
_base_ = [
    '../_base_/models/bev-track-map_tiny.py',  # includes datasets/nus-partial_toy.py
    '../_base_/schedules/adamw_iter_toy.py',
    '../_base_/default_runtime.py',
]

# Shorten a run with --cfg-options train_cfg.max_iters=N (the cosine schedule
# below is then cut short rather than compressed).
train_cfg = dict(max_iters=1500, val_interval=1500)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=1500, T_max=1500,
         eta_min_ratio=0.05),
]
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(by_epoch=False, interval=500))

# The toy world annotates objects within 50 m but the BEV covers +-25.6 m, so
# both detection and tracking are scored within 25 m of the ego, and mAP
# averages over the classes present in the ground truth.
val_evaluator = [
    dict(type='NuScenesTrackMetric',
         data_root={{_base_.data_root}},
         version='v1.0-mini',
         class_names={{_base_.class_names}},
         eval_classes='gt_present',
         class_range=25.0,
         partition={{_base_.partition}}),
    dict(type='MapIoUMetric',
         map_classes={{_base_.map_classes}},
         partition={{_base_.partition}}),
]
test_evaluator = val_evaluator
