# NYUv2 in the preprocessed MTAN/MTPSL .npy layout (795 train, 654 val
# images at 288x384). The training split carries a partial-label protocol;
# validation and test are fully labelled.
dataset_type = 'NYUv2MultiTaskDataset'
data_root = 'data/nyuv2/'

train_pipeline = [
    dict(type='LoadNYUv2Arrays'),
    dict(type='PackNYUv2Inputs'),
]
test_pipeline = [
    dict(type='LoadNYUv2Arrays'),
    dict(type='PackNYUv2Inputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        protocol='randomlabels',
        protocol_seed=0,
        task_mask_file=None,
        expected_num_samples=795,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        protocol='full',
        expected_num_samples=654,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# Set single_task_baselines to the metrics of your own single-task runs
# (keys such as seg_mIoU, depth_abs_err, normal_mean, normal_11.25) to get
# delta_mtl in percent.
val_evaluator = dict(
    type='NYUv2Metric',
    num_classes=13,
    ignore_index=-1,
    angle_thresholds=(11.25, 22.5, 30.0),
    single_task_baselines=None)
test_evaluator = val_evaluator
