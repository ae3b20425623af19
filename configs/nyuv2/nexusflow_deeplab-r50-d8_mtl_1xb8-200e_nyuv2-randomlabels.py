# NexusFlow on the dilated ResNet-50 model, randomlabels protocol.
_base_ = ['./deeplab-r50-d8_mtl_1xb8-200e_nyuv2-randomlabels.py']

custom_hooks = [
    dict(
        type='NexusFlowHook',
        lambda_align=1.0,
        warmup_iters=500,
        flow=dict(
            type='NexusFlow',
            tasks=('seg', 'depth', 'normal'),
            in_channels=256,
            reduced_dim=64,
            num_couplings=2)),
]
