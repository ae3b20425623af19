# Single-task SegNet reference for depth, trained on all 795 labelled
# images. Its test metrics are the single_task_baselines of delta_mtl.
_base_ = ['./segnet_mtl_1xb8-200e_nyuv2-randomlabels.py']

train_dataloader = dict(dataset=dict(protocol='full'))
model = dict(
    heads=dict(
        _delete_=True,
        depth=dict(
            type='NYUTaskHead', in_channels=64, out_channels=1,
            latent_channels=64)),
    loss_weights=dict(_delete_=True, depth=1.0))
