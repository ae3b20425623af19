# NexusFlow on nuScenes at UniAD's first-stage size: the partial baseline plus
# the alignment of the map head's and the track head's latent features.
_base_ = ['./bev-track-map_r101_8xb1-20e_nus-partial.py']

custom_hooks = [
    dict(type='NexusFlowHook',
         lambda_align=0.1,
         begin_iter=0,
         warmup_iters=500,
         flow=dict(type='NexusFlow',
                   tasks=('map', 'track'),
                   in_channels=dict(map=128, track=256),  # map_head.latent_channels, embed_dims
                   reduced_dim=64,
                   num_couplings=2,
                   hidden_dim=128,
                   scale_bound=2.0,
                   surrogate_type='flow',
                   distance='mse',
                   feature_source='heads')),
]
