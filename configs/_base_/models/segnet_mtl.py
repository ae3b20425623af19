# SegNet encoder-decoder shared by three task heads (segmentation into the
# 13 NYUv2 classes, depth in metres, unit surface normals).
model = dict(
    type='NYUMultiTaskModel',
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        # ImageNet statistics for RGB images scaled to [0, 1].
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    backbone=dict(
        type='SegNetEncoderDecoder',
        in_channels=3,
        channels=(64, 128, 256, 512, 512),
        num_convs=(2, 2, 3, 3, 3)),
    heads=dict(
        seg=dict(
            type='NYUTaskHead', in_channels=64, out_channels=13,
            latent_channels=64),
        depth=dict(
            type='NYUTaskHead', in_channels=64, out_channels=1,
            latent_channels=64),
        normal=dict(
            type='NYUTaskHead', in_channels=64, out_channels=3,
            latent_channels=64)),
    num_classes=13,
    ignore_index=-1,
    loss_weights=dict(seg=1.0, depth=1.0, normal=1.0),
    # NexusFlow reads the 288x384 latent maps average pooled to 18x24.
    latent_pool_size=(18, 24))
