"""Training and inference of the BEV track+map model on toy clips."""
import pytest
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import LiDARInstance3DBoxes
from mmengine.config import Config
from mmengine.model import BaseModule
from torch import nn

from model_helpers import TINY_CONFIG, make_batch, make_frame, small_model_cfg


def _grad_norm(module):
    norms = [p.grad.norm() for p in module.parameters() if p.grad is not None]
    return float(torch.stack(norms).sum()) if norms else 0.0


def _loss(model, batch):
    data = model.data_preprocessor(batch, True)
    return model(**data, mode='loss')


def test_tiny_config_trains_one_step():
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    model.train()
    batch = make_batch(2, 2, bev_size=(50, 50), img_size=(90, 160))
    losses = _loss(model, batch)
    for key in ('loss_track_cls', 'loss_track_bbox', 'd0.loss_track_cls',
                'loss_map_ce', 'loss_map_dice'):
        assert key in losses
        assert torch.isfinite(losses[key])
        assert losses[key] > 0
    sum(losses.values()).backward()
    for name in ('img_backbone', 'img_neck', 'bev_encoder', 'track_head',
                 'map_head'):
        module = getattr(model, name)
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        assert grads, name
        assert all(torch.isfinite(g).all() for g in grads), name
        assert _grad_norm(module) > 0, name
    # Temporal attention of frame 1 reads frame 0's warped BEV.
    assert _grad_norm(model.bev_encoder.layers[0].temporal_attn) > 0


def test_map_loss_ignores_unlabelled_sample(small_model):
    model = small_model.eval()
    batch = make_batch(2, 1, task_masks=[
        dict(map=True, track=True), dict(map=False, track=True)
    ])
    both = _loss(model, batch)
    alone = _loss(
        model,
        dict(
            inputs=dict(img=batch['inputs']['img'][:1]),
            data_samples=batch['data_samples'][:1]))
    for key in ('loss_map_ce', 'loss_map_dice'):
        assert torch.allclose(both[key], alone[key], atol=1e-5), key


def test_track_loss_ignores_unlabelled_sample(small_model):
    model = small_model.eval()
    batch = make_batch(2, 2, task_masks=[
        dict(map=True, track=True), dict(map=True, track=False)
    ])
    both = _loss(model, batch)
    alone = _loss(
        model,
        dict(
            inputs=dict(img=batch['inputs']['img'][:1]),
            data_samples=batch['data_samples'][:1]))
    for key in ('loss_track_cls', 'loss_track_bbox', 'd0.loss_track_cls'):
        assert torch.allclose(both[key], alone[key], atol=1e-5), key


def test_unlabelled_task_gives_exact_zero(small_model):
    model = small_model.train()
    batch = make_batch(2, 2, task_masks=[dict(map=False, track=True)] * 2)
    losses = _loss(model, batch)
    assert losses['loss_map_ce'].item() == 0.0
    assert losses['loss_map_dice'].item() == 0.0
    assert losses['loss_map_ce'].requires_grad
    sum(losses.values()).backward()
    classifier = model.map_head.classifier.weight.grad
    assert classifier is not None
    assert classifier.abs().sum().item() == 0.0
    assert _grad_norm(model.track_head) > 0
    assert _grad_norm(model.img_backbone) > 0


def test_no_track_labels_gives_exact_zero(small_model):
    model = small_model.train()
    batch = make_batch(2, 2, task_masks=[dict(map=True, track=False)] * 2)
    losses = _loss(model, batch)
    assert losses['loss_track_cls'].item() == 0.0
    assert losses['loss_track_bbox'].item() == 0.0
    sum(losses.values()).backward()
    assert _grad_norm(model.map_head) > 0
    assert not any(
        torch.isnan(p.grad).any() for p in model.parameters()
        if p.grad is not None)


def test_bf16_autocast_loss(small_model):
    model = small_model.train()
    batch = make_batch(1, 2)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = _loss(model, batch)
        total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert _grad_norm(model.bev_encoder) > 0


class _MeanAlign(BaseModule):
    """Stand-in for NexusFlow: pools each latent and aligns the means."""

    def __init__(self, channels, feature_source='heads'):
        super().__init__()
        self.feature_source = feature_source
        self.proj = nn.ModuleDict(
            {task: nn.Linear(c, 8)
             for task, c in channels.items()})
        self.seen_masks = None

    def loss(self, latents, masks):
        self.seen_masks = masks
        codes = {}
        for task, latent in latents.items():
            if latent.dim() == 4:
                pooled = latent.mean((2, 3))
            else:
                valid = (~masks[task]).float()[..., None]
                pooled = (latent * valid).sum(1) / valid.sum(1)
            codes[task] = self.proj[task](pooled)
        centre = sum(codes.values()) / len(codes)
        return dict(loss_align=sum(
            ((z - centre)**2).mean() for z in codes.values()))


@pytest.mark.parametrize('source', ['heads', 'bev'])
def test_nexusflow_loss_added(source):
    MODELS.register_module('MeanAlignStub', module=_MeanAlign, force=True)
    cfg = small_model_cfg()
    cfg.nexusflow = dict(
        type='MeanAlignStub',
        channels=dict(map=64, track=64),
        feature_source=source)
    torch.manual_seed(0)
    model = MODELS.build(cfg).train()
    losses = _loss(model, make_batch(2, 2))
    assert losses['loss_align'] > 0
    sum(losses.values()).backward()
    assert _grad_norm(model.nexusflow) > 0
    track_mask = model.nexusflow.seen_masks['track']
    if source == 'heads':
        # Frame 0 binds ground truth, so frame 1 has live track queries and
        # the detection queries, none of them padding for a single clip.
        assert track_mask.dtype == torch.bool
        assert track_mask.shape[0] == 2
    else:
        assert track_mask is None


def test_model_without_nexusflow_has_no_flow_parameters(small_model):
    assert small_model.nexusflow is None
    assert not any('nexusflow' in name
                   for name, _ in small_model.named_parameters())


def test_predict_outputs_and_scene_reset(small_model):
    model = small_model.eval()
    # Thresholds of 0 make every query a track, so ids are predictable:
    # num_query new ids per frame, live ones kept, a new scene restarts at 0.
    model.track_head.score_thresh = 0.0
    model.track_head.new_track_thresh = 0.0
    frames = [('scene-a', 0), ('scene-a', 1), ('scene-b', 0)]
    outputs = []
    for scene, t in frames:
        frame = make_frame(t, scene)
        batch = dict(
            inputs=dict(img=[torch.zeros(1, 6, 3, 48, 80)]),
            data_samples=[[frame]])
        with torch.no_grad():
            data = model.data_preprocessor(batch, False)
            outputs.append(model(**data, mode='predict')[0])
        assert torch.equal(outputs[-1].gt_map_masks, frame.gt_map_masks)

    for output, (scene, t) in zip(outputs, frames):
        pred = output.pred_instances_3d
        assert isinstance(pred.bboxes_3d, LiDARInstance3DBoxes)
        assert pred.bboxes_3d.tensor.shape[-1] == 9
        assert len(pred.scores_3d) == len(pred.labels_3d) == len(
            pred.track_ids)
        assert output.pred_map_masks.dtype == torch.bool
        assert output.pred_map_masks.shape == (4, 20, 20)
        assert output.metainfo['scene_token'] == scene
        assert output.metainfo['frame_idx'] == t
    ids = [sorted(o.pred_instances_3d.track_ids.tolist()) for o in outputs]
    num_query = model.track_head.num_query
    assert ids[0] == list(range(num_query))
    assert ids[1] == list(range(2 * num_query))
    assert ids[2] == list(range(num_query))


@pytest.mark.parametrize('source', ['heads', 'bev'])
def test_real_nexusflow_aligns_latents(source):
    cfg = small_model_cfg()
    cfg.nexusflow = dict(
        type='NexusFlow',
        tasks=('map', 'track'),
        in_channels=64,
        reduced_dim=16,
        hidden_dim=32,
        feature_source=source)
    torch.manual_seed(0)
    model = MODELS.build(cfg).train()
    model.nexusflow.align_weight = 1.0
    losses = _loss(model, make_batch(2, 2))
    assert torch.isfinite(losses['loss_align'])
    assert losses['loss_align'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert _grad_norm(model.nexusflow) > 0
    assert _grad_norm(model.map_head) > 0
