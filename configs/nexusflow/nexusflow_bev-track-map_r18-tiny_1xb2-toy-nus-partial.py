# NexusFlow on the toy world: the partial baseline plus the alignment of the map
# head's and the track head's latent features through invertible flows.
# Configs that inherit this one repeat the whole hook dict to change one field,
# because mmengine replaces a list (custom_hooks) instead of merging it.
_base_ = ['./bev-track-map_r18-tiny_1xb2-toy-nus-partial.py']

custom_hooks = [
    dict(type='NexusFlowHook',
         lambda_align=0.1,
         begin_iter=0,
         warmup_iters=100,
         flow=dict(type='NexusFlow',
                   tasks=('map', 'track'),
                   in_channels=dict(map=64, track=64),  # map_head.latent_channels, embed_dims
                   reduced_dim=32,
                   num_couplings=2,
                   hidden_dim=64,
                   scale_bound=2.0,
                   surrogate_type='flow',
                   distance='mse',
                   feature_source='heads')),
]
