"""Tests of the NexusFlow module and its alignment loss."""
import itertools

import numpy as np
import pytest
import torch
from mmdet3d.registry import MODELS

import nexusflow  # noqa: F401
from nexusflow.flows import NexusFlow, SurrogateOutput

SMALL = dict(reduced_dim=8, hidden_dim=16, num_pool_queries=2)


def make_latents(batch=3, channels=16, seed=0, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    latents = dict(
        map=torch.randn(batch, channels, 4, 5, generator=generator) * scale,
        track=torch.randn(batch, 6, channels, generator=generator) * scale)
    masks = dict(track=torch.zeros(batch, 6, dtype=torch.bool))
    masks['track'][0, 4:] = True
    return latents, masks


def test_build_from_registry():
    module = MODELS.build(
        dict(type='NexusFlow', tasks=('seg', 'depth', 'normal'), **SMALL))
    assert isinstance(module, NexusFlow)
    assert module.tasks == ('seg', 'depth', 'normal')
    assert module.align_weight == 0.0
    assert module.feature_source == 'heads'


def test_forward_returns_codes_and_logdets():
    module = NexusFlow(in_channels=16, **SMALL)
    latents, masks = make_latents()
    codes = module(latents, masks)
    assert set(codes) == {'map', 'track'}
    for z in codes.values():
        assert z.shape == (3, 8)
    outputs = module.encode(latents, masks)
    assert outputs['map'].logdet.shape == (3, )


def test_identical_surrogates_give_zero_loss():
    torch.manual_seed(0)
    module = NexusFlow(in_channels=16, **SMALL)
    module.surrogates['track'].load_state_dict(
        module.surrogates['map'].state_dict())
    module.align_weight = 1.0
    x = torch.randn(2, 5, 16)
    for distance in ('mse', 'pairwise'):
        module.distance = distance
        losses = module.loss(dict(map=x, track=x.clone()))
        assert losses['loss_align'].item() == 0.0
        assert losses['align_dist_map'].item() == 0.0


def test_gradients_reach_inputs_and_weights():
    torch.manual_seed(1)
    module = NexusFlow(in_channels=16, **SMALL)
    module.align_weight = 1.0
    latents, masks = make_latents()
    for x in latents.values():
        x.requires_grad_(True)
    module.loss(latents, masks)['loss_align'].backward()

    for task, x in latents.items():
        assert x.grad is not None, task
        assert x.grad.abs().sum() > 0, task
    for name, param in module.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_zero_weight_still_gives_grads():
    module = NexusFlow(in_channels=16, **SMALL)
    assert module.align_weight == 0.0
    latents, masks = make_latents()
    losses = module.loss(latents, masks)
    assert losses['loss_align'].item() == 0.0
    assert losses['align_dist_map'].item() > 0.0
    losses['loss_align'].backward()
    for name, param in module.named_parameters():
        assert param.grad is not None, name


def test_loss_scales_with_align_weight():
    module = NexusFlow(in_channels=16, **SMALL).eval()
    latents, masks = make_latents()
    module.align_weight = 1.0
    unit = module.loss(latents, masks)['loss_align'].item()
    module.align_weight = 0.25
    quarter = module.loss(latents, masks)['loss_align'].item()
    assert quarter == pytest.approx(0.25 * unit, rel=1e-6)
    assert unit > 0


def test_large_inputs_stay_finite():
    torch.manual_seed(2)
    module = NexusFlow(in_channels=16, **SMALL)
    module.align_weight = 1.0
    latents, masks = make_latents(scale=1e4)
    for x in latents.values():
        x.requires_grad_(True)
    losses = module.loss(latents, masks)
    for key, value in losses.items():
        assert torch.isfinite(value).all(), key
    losses['loss_align'].backward()
    for x in latents.values():
        assert torch.isfinite(x.grad).all()
    for name, param in module.named_parameters():
        assert torch.isfinite(param.grad).all(), name


def test_unlabeled_task_still_aligned():
    # NexusFlow.loss takes no labels, so a batch without track labels is
    # aligned through the track head's queries alone. Sample 0 also has no
    # valid track query at all.
    torch.manual_seed(3)
    module = NexusFlow(in_channels=16, **SMALL)
    module.align_weight = 1.0
    latents, masks = make_latents()
    masks['track'][0] = True
    latents['track'].requires_grad_(True)
    losses = module.loss(latents, masks)
    assert losses['align_dist_track'].item() > 0.0
    losses['loss_align'].backward()
    grad = latents['track'].grad
    assert grad[1:].abs().sum() > 0
    # Padding positions get no gradient.
    assert grad[0].abs().sum() == 0


def _expected_loss(codes, distance):
    """Compute the alignment loss in numpy from codes (N, B, D)."""
    codes = np.asarray(codes, dtype=np.float64)
    centroid = codes.mean(axis=0)
    if distance == 'mse':
        per_task = ((codes - centroid)**2).mean(axis=(1, 2))
        return per_task.mean(), per_task
    if distance == 'cosine':
        dots = (codes * centroid).sum(axis=2)
        norms = (np.linalg.norm(codes, axis=2) *
                 np.linalg.norm(centroid, axis=1))
        per_task = (1.0 - dots / norms).mean(axis=1)
        return per_task.mean(), per_task
    pairs = [((a - b)**2).mean()
             for a, b in itertools.combinations(codes, 2)]
    per_task = ((codes - centroid)**2).mean(axis=(1, 2))
    return np.mean(pairs), per_task


@pytest.mark.parametrize('distance', ['mse', 'cosine', 'pairwise'])
def test_three_task_loss_matches_numpy(distance):
    torch.manual_seed(4)
    tasks = ('seg', 'depth', 'normal')
    module = NexusFlow(
        tasks=tasks,
        in_channels=dict(seg=8, depth=4, normal=6),
        distance=distance,
        **SMALL).eval()
    module.align_weight = 0.7
    generator = torch.Generator().manual_seed(5)
    latents = dict(
        seg=torch.randn(4, 8, 3, 3, generator=generator),
        depth=torch.randn(4, 4, 3, 3, generator=generator),
        normal=torch.randn(4, 6, 3, 3, generator=generator))
    codes = module(latents)
    losses = module.loss(latents)

    stacked = np.stack([codes[task].detach().numpy() for task in tasks])
    expected, per_task = _expected_loss(stacked, distance)
    assert losses['loss_align'].item() == pytest.approx(
        0.7 * expected, rel=1e-5)
    for task, value in zip(tasks, per_task):
        assert losses[f'align_dist_{task}'].item() == pytest.approx(
            value, rel=1e-5)


def test_three_task_mse_by_hand():
    # encode is replaced by fixed codes, so the expected loss is worked out
    # by hand: codes 0, 3 and 6 in every entry have centroid 3 and squared
    # distances 9, 0 and 9, so the loss is 6.
    module = NexusFlow(tasks=('seg', 'depth', 'normal'), **SMALL)
    module.align_weight = 1.0
    fixed = dict(seg=0.0, depth=3.0, normal=6.0)

    def fake_encode(latents, masks=None):
        return {
            task: SurrogateOutput(torch.full((2, 8), value), None, None)
            for task, value in fixed.items()
        }

    module.encode = fake_encode
    module.surrogate_type = 'mlp'
    losses = module.loss({})
    assert losses['loss_align'].item() == pytest.approx(6.0)
    assert losses['align_dist_seg'].item() == pytest.approx(9.0)
    assert losses['align_dist_depth'].item() == pytest.approx(0.0)


def test_stop_grad_target_changes_cosine_grad_only():
    torch.manual_seed(6)
    latents, masks = make_latents()
    grads = {}
    for distance in ('mse', 'cosine'):
        for stop_grad in (False, True):
            torch.manual_seed(7)
            module = NexusFlow(
                in_channels=16,
                distance=distance,
                stop_grad_target=stop_grad,
                **SMALL).eval()
            module.align_weight = 1.0
            x = latents['map'].clone().requires_grad_(True)
            loss = module.loss(dict(map=x, track=latents['track']), masks)
            loss['loss_align'].backward()
            grads[distance, stop_grad] = x.grad
    # With MSE the deviations from the mean sum to zero, so detaching the
    # centroid leaves the gradient unchanged. With cosine it does not.
    assert torch.allclose(
        grads['mse', False], grads['mse', True], atol=1e-7)
    assert not torch.allclose(
        grads['cosine', False], grads['cosine', True], atol=1e-7)


def test_statistics_keys_avoid_loss():
    module = NexusFlow(in_channels=16, **SMALL)
    latents, masks = make_latents()
    losses = module.loss(latents, masks)
    loss_keys = [key for key in losses if 'loss' in key]
    assert loss_keys == ['loss_align']
    assert set(losses) == {
        'loss_align', 'align_dist_map', 'align_dist_track', 'flow_scale'
    }
    assert not losses['flow_scale'].requires_grad
    scales = []
    for task in module.tasks:
        scales.append(module.encode(latents, masks)[task].mean_abs_scale)
    assert losses['flow_scale'].item() == pytest.approx(
        torch.stack(scales).mean().item(), rel=1e-6)


def test_mlp_control_has_no_flow_scale():
    module = NexusFlow(in_channels=16, surrogate_type='mlp', **SMALL)
    latents, masks = make_latents()
    losses = module.loss(latents, masks)
    assert 'flow_scale' not in losses
    assert 'align_dist_track' in losses


def test_bev_source_needs_equal_channels():
    module = NexusFlow(
        in_channels=dict(map=16, track=16), feature_source='bev', **SMALL)
    assert module.feature_source == 'bev'
    with pytest.raises(ValueError, match='equal'):
        NexusFlow(
            in_channels=dict(map=16, track=8),
            feature_source='bev',
            **SMALL)


def test_invalid_configs_raise():
    with pytest.raises(ValueError, match='two distinct tasks'):
        NexusFlow(tasks=('map', ), **SMALL)
    with pytest.raises(ValueError, match='two distinct tasks'):
        NexusFlow(tasks=('map', 'map'), **SMALL)
    with pytest.raises(KeyError, match='missing'):
        NexusFlow(in_channels=dict(map=16), **SMALL)
    with pytest.raises(ValueError, match='distance'):
        NexusFlow(distance='l1', **SMALL)
    with pytest.raises(ValueError, match='feature_source'):
        NexusFlow(feature_source='neck', **SMALL)
    with pytest.raises(ValueError, match='even'):
        NexusFlow(reduced_dim=7, hidden_dim=16)


def test_invalid_latents_raise():
    module = NexusFlow(in_channels=16, **SMALL)
    latents, masks = make_latents()
    with pytest.raises(KeyError, match='track'):
        module.loss(dict(map=latents['map']))
    with pytest.raises(ValueError, match='batch size'):
        module.loss(dict(map=latents['map'], track=latents['track'][:2]))
