# Dilated ResNet-50 (DeepLab style, output stride 8) in place of SegNet,
# randomlabels protocol. Predictions are upsampled bilinearly to 288x384.
_base_ = ['./segnet_mtl_1xb8-200e_nyuv2-randomlabels.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmdet.ResNet',
        depth=50,
        num_stages=4,
        # The last two stages trade stride for dilation: 288x384 -> 36x48.
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(3, ),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet50')),
    heads=dict(
        seg=dict(in_channels=2048, latent_channels=256, dilation=2),
        depth=dict(in_channels=2048, latent_channels=256, dilation=2),
        normal=dict(in_channels=2048, latent_channels=256, dilation=2)))
