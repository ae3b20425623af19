# UniAD first-stage size of the camera BEV model: ResNet-101 + FPN (4 levels,
# 256 channels), a 200x200x256 BEV over +-51.2 m (0.512 m cells), 6 encoder
# layers, 900 detection queries, 6 decoder layers, six 1600x900 cameras at
# 0.8 scale (1280x720).
# The grid, the classes and the map classes come from the full dataset config,
# so the model and the ground-truth rasters always agree.
_base_ = ['../datasets/nus-partial_full.py']

point_cloud_range = {{_base_.point_cloud_range}}  # metres
bev_h = {{_base_.bev_h}}
bev_w = {{_base_.bev_w}}
class_names = {{_base_.class_names}}
map_classes = {{_base_.map_classes}}
embed_dims = 256
num_levels = 4
num_cams = 6

model = dict(
    type='BEVTrackMap',
    point_cloud_range=point_cloud_range,
    bev_h=bev_h,
    bev_w=bev_w,
    num_levels=num_levels,
    grid_mask=dict(prob=0.7, ratio=0.5, min_period=64, max_period=256),
    detach_prev_bev=True,
    nexusflow=None,
    data_preprocessor=dict(
        type='ClipDataPreprocessor',
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        pad_size_divisor=32),
    img_backbone=dict(
        type='mmdet.ResNet',
        depth=101,
        num_stages=4,
        out_indices=(1, 2, 3),
        # The whole backbone stays frozen, as in UniAD's first stage. That
        # only makes sense with the pretrained checkpoint below; train from
        # scratch with frozen_stages=-1 and norm_eval=False.
        frozen_stages=4,
        norm_cfg=dict(type='BN2d', requires_grad=False),
        norm_eval=True,
        style='caffe',
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, False, True, True),
        # NOTE: pretrained weights cannot be downloaded in this environment.
        # UniAD starts from a BEVFormer-base checkpoint (its ResNet-101-DCN
        # caffe backbone); point `checkpoint` at a local copy to use it:
        # init_cfg=dict(type='Pretrained',
        #               checkpoint='checkpoints/bevformer_r101_dcn_24ep.pth',
        #               prefix='img_backbone.'),
    ),
    img_neck=dict(
        type='mmdet.FPN',
        in_channels=[512, 1024, 2048],
        out_channels=embed_dims,
        start_level=0,
        add_extra_convs='on_output',
        num_outs=num_levels,
        relu_before_extra_convs=True),
    bev_encoder=dict(
        type='BEVEncoder',
        bev_h=bev_h,
        bev_w=bev_w,
        point_cloud_range=point_cloud_range,
        embed_dims=embed_dims,
        num_layers=6,
        num_heads=8,
        num_levels=num_levels,
        num_cams=num_cams,
        num_heights=4,
        tsa_points=4,
        sca_points=2,
        ffn_dims=512,
        dropout=0.1,
        with_cp=True),
    track_head=dict(
        type='TrackHead',
        num_classes=len(class_names),
        embed_dims=embed_dims,
        num_query=900,
        num_layers=6,
        num_heads=8,
        num_points=4,
        ffn_dims=512,
        dropout=0.1,
        bev_h=bev_h,
        bev_w=bev_w,
        point_cloud_range=point_cloud_range,
        with_box_refine=True,
        memory_len=4,
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
        score_thresh=0.4,
        new_track_thresh=0.5,
        miss_tolerance=5),
    map_head=dict(
        type='MapHead',
        in_channels=embed_dims,
        latent_channels=128,
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
