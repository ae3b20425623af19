"""Map head masks and sizes, and GridMask augmentation."""
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample

from nexusflow.models.utils.grid_mask import GridMask


def _map_head(**kwargs):
    torch.manual_seed(0)
    cfg = dict(type='MapHead', in_channels=8, latent_channels=8, num_convs=1)
    cfg.update(kwargs)
    return MODELS.build(cfg).eval()


def _sample(size):
    sample = Det3DDataSample()
    sample.gt_map_masks = torch.zeros(4, *size, dtype=torch.uint8)
    return sample


def test_map_predict_follows_gt_size():
    head = _map_head(out_size=(12, 12))
    bev = torch.randn(2, 8, 10, 10)
    masks = head.predict(bev, [_sample((20, 20)), Det3DDataSample()])
    assert masks[0].shape == (4, 20, 20)
    assert masks[1].shape == (4, 12, 12)
    assert masks[0].dtype == torch.bool


def test_map_predict_threshold():
    head = _map_head()
    bev = torch.randn(1, 8, 10, 10)
    with torch.no_grad():
        logits, latent = head(bev)
    masks = head.predict(bev, [None])
    assert torch.equal(masks[0], logits[0].sigmoid() >= 0.5)
    assert latent.shape == (1, 8, 10, 10)


def test_map_loss_matches_perfect_prediction_order():
    head = _map_head(loss_dice=None)
    bev = torch.randn(1, 8, 10, 10)
    with torch.no_grad():
        logits, _ = head(bev)
    good = Det3DDataSample()
    good.gt_map_masks = (logits[0] > 0).to(torch.uint8)
    bad = Det3DDataSample()
    bad.gt_map_masks = (logits[0] <= 0).to(torch.uint8)
    weight = torch.ones(1)
    good_loss, _ = head.loss(bev, [good], weight)
    bad_loss, _ = head.loss(bev, [bad], weight)
    assert good_loss['loss_map_ce'] < bad_loss['loss_map_ce']


def test_grid_mask_eval_is_identity():
    mask = GridMask(prob=1.0).eval()
    imgs = torch.rand(3, 3, 32, 48)
    assert torch.equal(mask(imgs), imgs)


def test_grid_mask_zeroes_expected_share():
    torch.manual_seed(0)
    mask = GridMask(prob=1.0, ratio=0.5, min_period=8, max_period=8).train()
    out = mask(torch.ones(4, 3, 64, 64))
    zero_share = (out == 0).float().mean().item()
    # A square of half the period per period cell: a quarter of the area.
    assert abs(zero_share - 0.25) < 0.05
    assert torch.equal(out[:, 0], out[:, 1])
