# Runtime settings shared by every NexusFlow config.
default_scope = 'mmdet3d'
custom_imports = dict(imports=['nexusflow'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # 'atomic_local' (nexusflow.engine.checkpoint_io) writes each checkpoint
    # through a temporary file, so an interrupted save never leaves a broken file.
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=3, save_last=True,
        backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='Det3DVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl', timeout=1800))

log_processor = dict(type='LogProcessor', window_size=10, by_epoch=False)
log_level = 'INFO'
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Det3DLocalVisualizer', vis_backends=vis_backends, name='visualizer')

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
