import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement, PixelData

from mmdet3d.registry import MODELS

init_default_scope('mmdet3d')

TASKS = ('seg', 'depth', 'normal')
HEIGHT, WIDTH = 16, 20


def tiny_model_cfg(with_flow=True):
    heads = {
        task: dict(type='NYUTaskHead', in_channels=8, out_channels=channels,
                   latent_channels=12)
        for task, channels in zip(TASKS, (13, 1, 3))
    }
    cfg = dict(
        type='NYUMultiTaskModel',
        backbone=dict(
            type='SegNetEncoderDecoder', channels=(8, 16),
            num_convs=(1, 1)),
        heads=heads,
        latent_pool_size=(4, 5))
    if with_flow:
        cfg['nexusflow'] = dict(
            type='NexusFlow', tasks=TASKS, in_channels=12, reduced_dim=8,
            num_couplings=2, hidden_dim=16)
    return cfg


def make_batch(task_masks):
    torch.manual_seed(0)
    samples = []
    for task_mask in task_masks:
        sample = BaseDataElement(metainfo=dict(task_mask=task_mask))
        sample.gt_seg = PixelData(
            data=torch.randint(-1, 13, (1, HEIGHT, WIDTH)))
        sample.gt_depth = PixelData(data=torch.rand(1, HEIGHT, WIDTH) * 5)
        sample.gt_normal = PixelData(data=torch.nn.functional.normalize(
            torch.randn(3, HEIGHT, WIDTH), dim=0))
        samples.append(sample)
    inputs = torch.rand(len(task_masks), 3, HEIGHT, WIDTH)
    return inputs, samples


def test_flow_gradient_reaches_all_heads():
    model = MODELS.build(tiny_model_cfg())
    model.nexusflow.align_weight = 1.0
    inputs, samples = make_batch([
        dict(seg=True, depth=False, normal=False),
        dict(seg=False, depth=True, normal=True),
        dict(seg=False, depth=False, normal=True),
    ])
    losses = model.loss(inputs, samples)
    assert set(losses) >= {
        'loss_seg', 'loss_depth', 'loss_normal', 'loss_align'
    }
    losses['loss_align'].backward()
    for task in TASKS:
        grad = model.heads[task].convs[0].conv.weight.grad
        assert grad is not None, task
        assert grad.abs().sum() > 0, task
        # The alignment loss reads latents, not predictions.
        assert model.heads[task].predict_conv.weight.grad is None, task


def test_total_loss_backward_finite():
    model = MODELS.build(tiny_model_cfg())
    model.nexusflow.align_weight = 0.5
    inputs, samples = make_batch([dict(seg=True, depth=True, normal=False)] *
                                 2)
    losses = model.loss(inputs, samples)
    total = sum(value for key, value in losses.items() if 'loss' in key)
    total.backward()
    assert torch.isfinite(total)
    assert model.backbone.encoder[0][0].conv.weight.grad.abs().sum() > 0


def test_unlabelled_task_loss_zero():
    model = MODELS.build(tiny_model_cfg(with_flow=False))
    inputs, samples = make_batch([dict(seg=False, depth=True, normal=True)] *
                                 2)
    losses = model.loss(inputs, samples)
    assert losses['loss_seg'].item() == 0.0
    assert losses['loss_depth'].item() > 0.0
    assert 'loss_align' not in losses
    losses['loss_seg'].backward()
    seg_grad = model.heads['seg'].predict_conv.weight.grad
    assert torch.equal(seg_grad, torch.zeros_like(seg_grad))


def test_loss_weights_scale_losses():
    cfg = tiny_model_cfg(with_flow=False)
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    cfg['loss_weights'] = dict(depth=3.0)
    torch.manual_seed(1)
    weighted = MODELS.build(cfg)
    inputs, samples = make_batch([dict(seg=True, depth=True, normal=True)])
    model.eval()
    weighted.eval()
    plain_losses = model.loss(inputs, samples)
    weighted_losses = weighted.loss(inputs, samples)
    assert torch.allclose(weighted_losses['loss_depth'],
                          3.0 * plain_losses['loss_depth'])
    assert torch.allclose(weighted_losses['loss_seg'],
                          plain_losses['loss_seg'])


def test_predict_outputs():
    model = MODELS.build(tiny_model_cfg()).eval()
    inputs, samples = make_batch([dict(seg=True, depth=True, normal=True)] *
                                 2)
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    assert results[0].pred_seg.data.shape == (1, HEIGHT, WIDTH)
    assert results[0].pred_seg.data.max() < 13
    assert results[0].pred_depth.data.shape == (1, HEIGHT, WIDTH)
    norms = results[1].pred_normal.data.norm(dim=0)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)


def test_dilated_resnet_option():
    heads = {
        task: dict(type='NYUTaskHead', in_channels=2048,
                   out_channels=channels, latent_channels=16, dilation=2)
        for task, channels in zip(TASKS, (13, 1, 3))
    }
    model = MODELS.build(
        dict(
            type='NYUMultiTaskModel',
            backbone=dict(
                type='mmdet.ResNet', depth=50, num_stages=4,
                strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                out_indices=(3, ), norm_eval=False),
            heads=heads)).eval()
    inputs = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        preds = model(inputs, mode='tensor')
    # Output stride 8 instead of 32 thanks to the dilated last stages.
    assert feats.shape == (1, 2048, 4, 5)
    assert preds['seg'].shape == (1, 13, 32, 40)
    assert preds['normal'].shape == (1, 3, 32, 40)


def test_unknown_head_rejected():
    cfg = tiny_model_cfg(with_flow=False)
    cfg['heads']['edges'] = cfg['heads']['seg']
    with pytest.raises(KeyError, match='edges'):
        MODELS.build(cfg)


def test_flow_tasks_must_match_heads():
    cfg = tiny_model_cfg()
    cfg['nexusflow']['tasks'] = ('seg', 'depth')
    with pytest.raises(ValueError, match='nexusflow tasks'):
        MODELS.build(cfg)
