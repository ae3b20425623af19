# Ablation of the toy NexusFlow config. Alignment only in a fine-tuning phase: the first 1000 of 1500 iterations
# train the partial baseline, then NexusFlow is switched on.
_base_ = ['../nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py']

custom_hooks = [
    dict(type='NexusFlowHook',
         lambda_align=0.1,
         begin_iter=1000,
         warmup_iters=50,
         flow=dict(type='NexusFlow',
                   tasks=('map', 'track'),
                   in_channels=dict(map=64, track=64),
                   reduced_dim=32,
                   num_couplings=2,
                   hidden_dim=64,
                   surrogate_type='flow',
                   feature_source='heads')),
]
