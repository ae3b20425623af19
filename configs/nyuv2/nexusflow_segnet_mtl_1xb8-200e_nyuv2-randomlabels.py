# NexusFlow on the SegNet baseline, randomlabels protocol: the three heads'
# latent maps are aligned through one invertible flow per task.
_base_ = ['./segnet_mtl_1xb8-200e_nyuv2-randomlabels.py']

custom_hooks = [
    dict(
        type='NexusFlowHook',
        lambda_align=1.0,
        warmup_iters=500,
        flow=dict(
            type='NexusFlow',
            tasks=('seg', 'depth', 'normal'),
            in_channels=64,
            reduced_dim=64,
            num_couplings=2)),
]
