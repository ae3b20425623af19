"""BEV encoder: activation checkpointing and the full-size config."""
import torch
from mmdet3d.registry import MODELS
from mmengine.config import Config

from model_helpers import REPO, ring_lidar2img


def _encoder(with_cp):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='BEVEncoder',
            bev_h=8,
            bev_w=8,
            point_cloud_range=[-8, -8, -3, 8, 8, 1],
            embed_dims=16,
            num_layers=2,
            num_heads=2,
            num_levels=1,
            num_cams=6,
            num_heights=2,
            dropout=0.0,
            with_cp=with_cp)).train()


def test_checkpointing_matches_plain_forward():
    feats = [torch.randn(1, 6, 16, 4, 6)]
    lidar2img = torch.from_numpy(ring_lidar2img(6, 48, 32))[None]
    prev = torch.randn(1, 64, 16)
    results = []
    for with_cp in (False, True):
        encoder = _encoder(with_cp)
        bev = encoder(feats, lidar2img, (32, 48), prev)
        bev.square().sum().backward()
        grads = [p.grad.clone() for p in encoder.parameters()
                 if p.grad is not None]
        results.append((bev.detach(), grads))
    assert torch.allclose(results[0][0], results[1][0], atol=1e-6)
    assert len(results[0][1]) == len(results[1][1])
    for plain, checkpointed in zip(results[0][1], results[1][1]):
        assert torch.allclose(plain, checkpointed, atol=1e-5)


def test_full_config_sizes():
    cfg = Config.fromfile(f'{REPO}/configs/_base_/models/bev-track-map_full.py')
    assert (cfg.bev_h, cfg.bev_w) == (200, 200)
    assert cfg.point_cloud_range[3] == 51.2
    model = MODELS.build(cfg.model)
    assert model.bev_encoder.bev_embedding.weight.shape == (200 * 200, 256)
    assert len(model.bev_encoder.layers) == 6
    assert model.bev_encoder.with_cp
    assert model.track_head.query_embedding.weight.shape == (900, 512)
    assert len(model.track_head.decoder.layers) == 6
    assert model.img_backbone.depth == 101
