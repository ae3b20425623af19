# Toy nuScenes world (tools/make_toy_nuscenes.py) split by city: map labels in
# singapore-onenorth, tracking labels in boston-seaport. Six 160x90 cameras,
# a 50x50 BEV over +-25.6 m (1.024 m cells), clips of 3 keyframes.
# Info files: python tools/create_data.py nuscenes --root-path data/toy_nuscenes \
#     --version v1.0-mini
dataset_type = 'NuScenesPartialDataset'
data_root = 'data/toy_nuscenes/'

point_cloud_range = [-25.6, -25.6, -5.0, 25.6, 25.6, 3.0]  # metres
bev_h = 50
bev_w = 50
class_names = [
    'car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
    'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone'
]
map_classes = ['divider', 'ped_crossing', 'contour', 'drivable']
map_line_width = 1.0  # metres
partition = dict(map=['singapore-onenorth'], track=['boston-seaport'])
task_ratio = dict(map=0.5, track=0.5)  # share of each training batch
queue_length = 3  # keyframes per training clip
batch_size = 2

camera_names = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
                'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']
data_prefix = dict(pts='samples/LIDAR_TOP', **{cam: f'samples/{cam}' for cam in camera_names})
metainfo = dict(classes=class_names)

train_pipeline = [
    dict(type='LoadMultiViewImages', camera_order=camera_names),
    dict(type='LoadTrackedBoxes3D'),
    dict(type='FilterTrackedBoxes', point_cloud_range=point_cloud_range),
    dict(type='RasterizeMapGT', point_cloud_range=point_cloud_range, bev_h=bev_h,
         bev_w=bev_w, map_classes=map_classes, line_width=map_line_width),
    dict(type='PackNexusFlowInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DomainPartitionedSampler', batch_size=batch_size,
                 task_ratio=task_ratio),
    collate_fn=dict(type='clip_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nexusflow_infos_train.pkl',
        partition=partition,
        queue_length=queue_length,
        pipeline=train_pipeline,
        data_prefix=data_prefix,
        metainfo=metainfo,
        test_mode=False))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='SceneSequentialSampler'),
    collate_fn=dict(type='clip_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='nexusflow_infos_val.pkl',
        partition=partition,
        pipeline=test_pipeline,
        data_prefix=data_prefix,
        metainfo=metainfo,
        test_mode=True))
test_dataloader = val_dataloader
