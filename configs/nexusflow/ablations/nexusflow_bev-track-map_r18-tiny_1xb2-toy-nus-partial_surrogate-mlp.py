# Ablation of the toy NexusFlow config. Non-invertible control: a plain MLP surrogate with the parameter count of
# the flow. It can collapse the codes, which the invertible flow cannot.
_base_ = ['../nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py']

custom_hooks = [
    dict(type='NexusFlowHook',
         lambda_align=0.1,
         begin_iter=0,
         warmup_iters=100,
         flow=dict(type='NexusFlow',
                   tasks=('map', 'track'),
                   in_channels=dict(map=64, track=64),
                   reduced_dim=32,
                   num_couplings=2,
                   hidden_dim=64,
                   surrogate_type='mlp',
                   feature_source='heads')),
]
