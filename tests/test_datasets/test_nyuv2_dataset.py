import shutil

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from nexusflow.datasets import NYUv2MultiTaskDataset
from nexusflow.datasets.nyuv2_toy import (TOY_CLASS_IDS, render_toy_scene,
                                          write_toy_nyuv2)

HEIGHT, WIDTH = 24, 32
# Pipelines are built from mmdet3d's TRANSFORMS, as under a config's
# default_scope.
init_default_scope('mmdet3d')
PIPELINE = [dict(type='LoadNYUv2Arrays'), dict(type='PackNYUv2Inputs')]


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_nyuv2')
    write_toy_nyuv2(str(root), num_train=6, num_val=3, height=HEIGHT,
                    width=WIDTH, seed=0)
    return root


def test_loader_shapes_and_dtypes(toy_root):
    dataset = NYUv2MultiTaskDataset(
        data_root=str(toy_root), split='train', protocol='randomlabels',
        pipeline=PIPELINE)
    assert len(dataset) == 6
    item = dataset[2]
    image = item['inputs']
    sample = item['data_samples']
    assert image.shape == (3, HEIGHT, WIDTH)
    assert image.dtype == torch.float32
    assert float(image.min()) >= 0.0
    assert float(image.max()) <= 1.0
    assert sample.gt_seg.data.shape == (1, HEIGHT, WIDTH)
    assert sample.gt_seg.data.dtype == torch.int64
    assert int(sample.gt_seg.data.min()) == -1
    assert int(sample.gt_seg.data.max()) <= 12
    assert sample.gt_depth.data.shape == (1, HEIGHT, WIDTH)
    assert sample.gt_depth.data.dtype == torch.float32
    assert sample.gt_normal.data.shape == (3, HEIGHT, WIDTH)
    assert sample.sample_idx == 2
    assert set(sample.task_mask) == {'seg', 'depth', 'normal'}
    assert 1 <= sum(sample.task_mask.values()) <= 2


def test_loader_matches_files(toy_root):
    dataset = NYUv2MultiTaskDataset(
        data_root=str(toy_root), split='val', pipeline=PIPELINE)
    item = dataset[1]
    depth = np.load(toy_root / 'val' / 'depth' / '1.npy')
    normal = np.load(toy_root / 'val' / 'normal' / '1.npy')
    np.testing.assert_array_equal(item['data_samples'].gt_depth.data[0],
                                  depth[..., 0])
    np.testing.assert_array_equal(item['data_samples'].gt_normal.data,
                                  normal.transpose(2, 0, 1))
    assert all(item['data_samples'].task_mask.values())


def test_toy_file_layout(toy_root):
    assert np.load(toy_root / 'train' / 'image' / '0.npy').shape == (
        HEIGHT, WIDTH, 3)
    assert np.load(toy_root / 'train' / 'label' / '0.npy').shape == (HEIGHT,
                                                                     WIDTH)
    assert np.load(toy_root / 'train' / 'depth' / '0.npy').shape == (
        HEIGHT, WIDTH, 1)
    assert np.load(toy_root / 'train' / 'normal' / '0.npy').dtype == \
        np.float32


def test_toy_geometry_consistent():
    height, width, focal_ratio = 60, 80, 0.9
    arrays = render_toy_scene(np.random.default_rng(5), height, width,
                              focal_ratio)
    depth = arrays['depth'][..., 0]
    normal = arrays['normal']
    label = arrays['label']
    valid = depth > 0
    np.testing.assert_allclose(
        np.linalg.norm(normal[valid], axis=-1), 1.0, atol=1e-5)
    assert (np.abs(normal[~valid]).sum(axis=-1) == 0).all()
    # Back-projected floor pixels lie on one plane whose normal is the
    # rendered one, so n . P is the same for all of them.
    focal = focal_ratio * width
    v, u = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5,
                       indexing='ij')
    points = np.stack([(u - width / 2) / focal * depth,
                       (v - height / 2) / focal * depth, depth], axis=-1)
    floor = label == TOY_CLASS_IDS['floor']
    assert floor.sum() > 50
    offsets = (points[floor] * normal[floor]).sum(axis=-1)
    assert np.ptp(offsets) < 1e-3
    # The floor normal points up (negative y in the camera frame).
    assert (normal[floor][:, 1] < -0.9).all()


def test_toy_deterministic_by_seed(tmp_path):
    write_toy_nyuv2(str(tmp_path / 'a'), 2, 1, HEIGHT, WIDTH, seed=1)
    write_toy_nyuv2(str(tmp_path / 'b'), 2, 1, HEIGHT, WIDTH, seed=1)
    write_toy_nyuv2(str(tmp_path / 'c'), 2, 1, HEIGHT, WIDTH, seed=2)
    for field in ('image', 'label', 'depth', 'normal'):
        a = np.load(tmp_path / 'a' / 'train' / field / '1.npy')
        b = np.load(tmp_path / 'b' / 'train' / field / '1.npy')
        np.testing.assert_array_equal(a, b)
    a = np.load(tmp_path / 'a' / 'train' / 'depth' / '1.npy')
    c = np.load(tmp_path / 'c' / 'train' / 'depth' / '1.npy')
    assert not np.array_equal(a, c)


def test_missing_file_names_path(toy_root, tmp_path):
    root = tmp_path / 'broken'
    shutil.copytree(toy_root, root)
    missing = root / 'train' / 'depth' / '4.npy'
    missing.unlink()
    with pytest.raises(FileNotFoundError) as info:
        NYUv2MultiTaskDataset(data_root=str(root), split='train')
    assert str(missing) in str(info.value)


def test_missing_split_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='image'):
        NYUv2MultiTaskDataset(data_root=str(tmp_path), split='train')


def test_wrong_shape_names_path(toy_root, tmp_path):
    root = tmp_path / 'bad_shape'
    shutil.copytree(toy_root, root)
    bad = root / 'train' / 'normal' / '0.npy'
    np.save(bad, np.zeros((HEIGHT, WIDTH, 2), dtype=np.float32))
    dataset = NYUv2MultiTaskDataset(
        data_root=str(root), split='train', pipeline=PIPELINE)
    with pytest.raises(ValueError) as info:
        dataset[0]
    assert str(bad) in str(info.value)


def test_size_mismatch_names_path(toy_root, tmp_path):
    root = tmp_path / 'bad_size'
    shutil.copytree(toy_root, root)
    bad = root / 'train' / 'depth' / '3.npy'
    np.save(bad, np.zeros((HEIGHT + 1, WIDTH, 1), dtype=np.float32))
    dataset = NYUv2MultiTaskDataset(
        data_root=str(root), split='train', pipeline=PIPELINE)
    with pytest.raises(ValueError) as info:
        dataset[3]
    assert str(bad) in str(info.value)


def test_expected_count_mismatch(toy_root):
    with pytest.raises(ValueError, match='795'):
        NYUv2MultiTaskDataset(
            data_root=str(toy_root), split='train',
            expected_num_samples=795)


def test_dataset_reads_mask_file(toy_root, tmp_path):
    masks = np.zeros((6, 3), dtype=bool)
    masks[:, 1] = True
    path = tmp_path / 'mask.npy'
    np.save(path, masks)
    dataset = NYUv2MultiTaskDataset(
        data_root=str(toy_root), split='train', task_mask_file=str(path))
    for idx in range(6):
        assert dataset.get_data_info(idx)['task_mask'] == dict(
            seg=False, depth=True, normal=False)


def test_random_flip_negates_normal_x():
    from nexusflow.datasets import NYUv2RandomFlip
    rng = np.random.default_rng(0)
    results = dict(
        img=rng.random((4, 5, 3)).astype(np.float32),
        gt_seg=rng.integers(0, 13, (4, 5)),
        gt_depth=rng.random((4, 5, 1)).astype(np.float32),
        gt_normal=rng.random((4, 5, 3)).astype(np.float32))
    original = {key: value.copy() for key, value in results.items()}
    flipped = NYUv2RandomFlip(prob=1.0).transform(results)
    assert flipped['flip']
    np.testing.assert_array_equal(flipped['gt_seg'],
                                  original['gt_seg'][:, ::-1])
    np.testing.assert_array_equal(flipped['gt_normal'][..., 0],
                                  -original['gt_normal'][:, ::-1, 0])
    np.testing.assert_array_equal(flipped['gt_normal'][..., 1:],
                                  original['gt_normal'][:, ::-1, 1:])
