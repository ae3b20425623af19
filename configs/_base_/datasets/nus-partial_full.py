# nuScenes v1.0-trainval split by city: map labels in the three Singapore
# cities, tracking labels in boston-seaport. Six 1600x900 cameras resized by
# 0.8 to 1280x720, a 200x200 BEV over +-51.2 m (0.512 m cells), clips of 3
# keyframes.
# Info files: python tools/create_data.py nuscenes --root-path data/nuscenes \
#     --version v1.0-trainval --workers 8
dataset_type = 'NuScenesPartialDataset'
data_root = 'data/nuscenes/'

point_cloud_range = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]  # metres
bev_h = 200
bev_w = 200
class_names = [
    'car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
    'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone'
]
map_classes = ['divider', 'ped_crossing', 'contour', 'drivable']
map_line_width = 1.0  # metres
partition = dict(
    map=['singapore-onenorth', 'singapore-hollandvillage', 'singapore-queenstown'],
    track=['boston-seaport'])
image_scale = 0.8  # resize factor of the 1600x900 camera images
task_ratio = dict(map=0.5, track=0.5)  # share of each training batch
queue_length = 3  # keyframes per training clip
batch_size = 1

camera_names = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
                'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']
data_prefix = dict(pts='samples/LIDAR_TOP', **{cam: f'samples/{cam}' for cam in camera_names})
metainfo = dict(classes=class_names)

train_pipeline = [
    dict(type='LoadMultiViewImages', camera_order=camera_names),
    dict(type='ResizeMultiViewImages', scale=image_scale),
    dict(type='LoadTrackedBoxes3D'),
    dict(type='FilterTrackedBoxes', point_cloud_range=point_cloud_range),
    dict(type='RasterizeMapGT', point_cloud_range=point_cloud_range, bev_h=bev_h,
         bev_w=bev_w, map_classes=map_classes, line_width=map_line_width),
    dict(type='PackNexusFlowInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=4,
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
    num_workers=4,
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
