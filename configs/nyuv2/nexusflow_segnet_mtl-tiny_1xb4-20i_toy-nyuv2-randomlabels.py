# NexusFlow twin of the tiny toy run.
_base_ = ['./segnet_mtl-tiny_1xb4-20i_toy-nyuv2-randomlabels.py']

custom_hooks = [
    dict(
        type='NexusFlowHook',
        lambda_align=1.0,
        warmup_iters=5,
        flow=dict(
            type='NexusFlow',
            tasks=('seg', 'depth', 'normal'),
            in_channels=16,
            reduced_dim=16,
            num_couplings=2,
            hidden_dim=32)),
]
