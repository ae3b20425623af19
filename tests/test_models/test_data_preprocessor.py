"""Stacking, normalization and padding of camera clips."""
import pytest
import torch
from mmdet3d.structures import Det3DDataSample

from nexusflow.models.data_preprocessor import ClipDataPreprocessor


def _batch(height=45, width=70):
    imgs = [
        torch.full((2, 3, 3, height, width), 100, dtype=torch.uint8),
        torch.full((2, 3, 3, height, width), 200, dtype=torch.uint8)
    ]
    samples = [[Det3DDataSample() for _ in range(2)] for _ in range(2)]
    return dict(inputs=dict(img=imgs), data_samples=samples)


def test_stack_normalize_and_pad():
    pre = ClipDataPreprocessor(
        mean=[100.0, 50.0, 0.0], std=[2.0, 2.0, 4.0], pad_size_divisor=32)
    out = pre(_batch())
    img = out['inputs']['img']
    assert img.shape == (2, 2, 3, 3, 64, 96)
    assert img.dtype == torch.float32
    assert img[0, 0, 0, 0, :45, :70].unique().tolist() == [0.0]
    assert img[1, 1, 1, 0, 0, 0].item() == 50.0
    assert img[1, 1, 1, 1, 0, 0].item() == 75.0
    assert img[1, 1, 2, 2, 0, 0].item() == 50.0
    assert img[..., 45:, :].abs().max().item() == 0.0
    assert img[..., 70:].abs().max().item() == 0.0
    for clip in out['data_samples']:
        assert len(clip) == 2
        for frame in clip:
            assert frame.metainfo['pad_shape'] == (64, 96)


def test_bgr_to_rgb_swaps_channels():
    pre = ClipDataPreprocessor(
        mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0], bgr_to_rgb=True,
        pad_size_divisor=1)
    imgs = torch.zeros(1, 1, 1, 3, 4, 4)
    imgs[:, :, :, 0] = 1.0
    out = pre(dict(inputs=dict(img=imgs), data_samples=None))
    assert out['inputs']['img'][0, 0, 0, 2].unique().tolist() == [1.0]
    assert out['inputs']['img'][0, 0, 0, 0].unique().tolist() == [0.0]


def test_mismatched_clips_raise():
    batch = _batch()
    batch['inputs']['img'][1] = torch.zeros(3, 3, 3, 45, 70)
    with pytest.raises(ValueError, match='same'):
        ClipDataPreprocessor()(batch)


def test_bad_std_raises():
    with pytest.raises(ValueError, match='positive'):
        ClipDataPreprocessor(std=[1.0, 0.0, 1.0])
