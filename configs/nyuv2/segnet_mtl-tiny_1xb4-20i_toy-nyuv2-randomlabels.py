# A tiny SegNet for 20 iterations on the toy set written by
#   python tools/make_toy_nyuv2.py --out-dir data/toy_nyuv2
# (12 train and 6 val images at 48x64). Measured with tools/train.py on a
# 2-core CPU machine: about 20 s of CPU time, 50-60 s wall while other jobs
# shared the cores.
_base_ = ['./segnet_mtl_1xb8-200e_nyuv2-randomlabels.py']

data_root = 'data/toy_nyuv2/'
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=data_root, expected_num_samples=None))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, expected_num_samples=None))
test_dataloader = val_dataloader

model = dict(
    backbone=dict(channels=(8, 16, 32), num_convs=(1, 1, 1)),
    heads=dict(
        seg=dict(in_channels=8, latent_channels=16),
        depth=dict(in_channels=8, latent_channels=16),
        normal=dict(in_channels=8, latent_channels=16)),
    latent_pool_size=(6, 8))

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=20, val_interval=20)
# A larger step than the full schedule so that 20 iterations show progress.
optim_wrapper = dict(optimizer=dict(lr=5e-3))
param_scheduler = [
    dict(type='ConstantLR', by_epoch=False, factor=1.0, begin=0, end=20)
]
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(by_epoch=False, interval=20, max_keep_ckpts=1))
log_processor = dict(window_size=5, by_epoch=False)
