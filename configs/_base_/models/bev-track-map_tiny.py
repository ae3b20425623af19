# CPU-sized UniAD-style camera BEV model: tracking head + dense map head.
# Six 160x90 cameras, a 50x50 BEV over +-25.6 m (1.024 m cells). The image
# strides and the query grid below were measured on a toy world of 8 scenes
# per city (partial baseline, 1000 iterations, seed 0). Strides 16/32 with 40
# learned anchors scored AMOTA 0.015 in the supervised city, and strides 8/16
# with the 10 x 10 grid scored 0.050. The grid, the
# classes and the map classes come from the toy dataset config, so the model
# and the ground-truth rasters always agree.
_base_ = ['../datasets/nus-partial_toy.py']

point_cloud_range = {{_base_.point_cloud_range}}  # metres
bev_h = {{_base_.bev_h}}
bev_w = {{_base_.bev_w}}
class_names = {{_base_.class_names}}
map_classes = {{_base_.map_classes}}
embed_dims = 64
num_levels = 2
num_cams = 6

model = dict(
    type='BEVTrackMap',
    point_cloud_range=point_cloud_range,
    bev_h=bev_h,
    bev_w=bev_w,
    num_levels=num_levels,
    grid_mask=None,
    detach_prev_bev=True,
    nexusflow=None,
    data_preprocessor=dict(
        type='ClipDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        # LoadMultiViewImages yields BGR; the mean and std above are RGB.
        bgr_to_rgb=True,
        pad_size_divisor=32),
    img_backbone=dict(
        type='mmdet.ResNet',
        depth=18,
        base_channels=16,
        # Only stages 1 and 2 feed the neck. A built but unused fourth stage
        # would leave parameters without gradients, which DDP rejects.
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(1, 2),  # strides 8 and 16: toy objects span a few pixels
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    img_neck=dict(
        type='mmdet.FPN',
        in_channels=[32, 64],
        out_channels=embed_dims,
        num_outs=num_levels),
    bev_encoder=dict(
        type='BEVEncoder',
        bev_h=bev_h,
        bev_w=bev_w,
        point_cloud_range=point_cloud_range,
        embed_dims=embed_dims,
        num_layers=1,
        num_heads=4,
        num_levels=num_levels,
        num_cams=num_cams,
        num_heights=4,
        tsa_points=2,
        sca_points=2,
        ffn_dims=128,
        dropout=0.0,
        with_cp=False),
    track_head=dict(
        type='TrackHead',
        num_classes=len(class_names),
        embed_dims=embed_dims,
        num_query=100,
        query_init='grid',  # 10 x 10 anchors, 5.1 m apart
        num_layers=2,
        num_heads=4,
        num_points=4,
        ffn_dims=128,
        dropout=0.0,
        bev_h=bev_h,
        bev_w=bev_w,
        point_cloud_range=point_cloud_range,
        with_box_refine=True,
        memory_len=3,
        code_weights=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.2, 0.2],
        assigner=dict(
            type='mmdet.HungarianAssigner',
            match_costs=[
                dict(type='mmdet.FocalLossCost', weight=2.0),
                dict(type='mmdet3d.EncodedBox3DL1Cost', weight=0.25,
                     code_weights=[1.0] * 8 + [0.2, 0.2]),
            ]),
        loss_cls=dict(
            type='mmdet.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=2.0),
        loss_bbox=dict(type='mmdet.L1Loss', loss_weight=0.25),
        score_thresh=0.3,
        new_track_thresh=0.35,
        miss_tolerance=3),
    map_head=dict(
        type='MapHead',
        in_channels=embed_dims,
        latent_channels=64,
        num_convs=2,
        map_classes=map_classes,
        out_size=(bev_h, bev_w),
        mask_thresh=0.5,
        loss_ce=dict(
            type='mmdet.CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_dice=dict(
            type='mmdet.DiceLoss',
            use_sigmoid=True,
            activate=True,
            loss_weight=1.0)))
