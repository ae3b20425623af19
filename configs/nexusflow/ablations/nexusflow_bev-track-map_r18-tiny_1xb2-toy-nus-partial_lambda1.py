# Ablation of the toy NexusFlow config. Alignment weight lambda_align = 1.
_base_ = ['../nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py']

custom_hooks = [
    dict(type='NexusFlowHook',
         lambda_align=1.0,
         begin_iter=0,
         warmup_iters=100,
         flow=dict(type='NexusFlow',
                   tasks=('map', 'track'),
                   in_channels=dict(map=64, track=64),
                   reduced_dim=32,
                   num_couplings=2,
                   hidden_dim=64,
                   surrogate_type='flow',
                   feature_source='heads')),
]
