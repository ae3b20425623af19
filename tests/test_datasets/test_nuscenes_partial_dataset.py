"""NuScenesPartialDataset on the converted toy world, built from the toy config."""
import copy

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader

from mmdet3d.registry import DATA_SAMPLERS, DATASETS
from mmengine.registry import FUNCTIONS

TOY_CONFIG = 'configs/_base_/datasets/nus-partial_toy.py'


@pytest.fixture(scope='module')
def toy_cfg(toy_nuscenes_infos, toy_nuscenes_root):
    init_default_scope('mmdet3d')
    cfg = Config.fromfile(TOY_CONFIG)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = str(toy_nuscenes_root)
    return cfg


def build(cfg_dataset, **overrides):
    cfg_dataset = copy.deepcopy(cfg_dataset)
    cfg_dataset.update(overrides)
    return DATASETS.build(cfg_dataset)


@pytest.fixture(scope='module')
def train_set(toy_cfg):
    return build(toy_cfg.train_dataloader.dataset)


def test_task_mask_follows_city(train_set):
    for index in range(len(train_set)):
        record = train_set.sample_records[index]
        expected = dict(map=record.city == 'singapore-onenorth',
                        track=record.city == 'boston-seaport')
        assert record.task_mask == expected


def test_training_item_is_a_clip(train_set, toy_cfg):
    records = train_set.sample_records
    index = next(i for i, r in enumerate(records) if r.frame_idx == 3)
    item = train_set[index]
    assert tuple(item['inputs']['img'].shape) == (3, 6, 3, 90, 160)
    assert item['inputs']['img'].dtype == torch.uint8
    samples = item['data_samples']
    assert [s.metainfo['frame_idx'] for s in samples] == [1, 2, 3]
    assert len({s.metainfo['scene_token'] for s in samples}) == 1
    last = samples[-1]
    assert last.metainfo['task_mask'] == records[index].task_mask
    assert tuple(last.gt_map_masks.shape) == (4, toy_cfg.bev_h, toy_cfg.bev_w)
    assert last.gt_map_masks.dtype == torch.uint8
    boxes = last.gt_instances_3d.bboxes_3d
    assert boxes.tensor.shape[1] == 9
    assert len(last.gt_instances_3d.track_ids) == len(boxes)
    assert boxes.in_range_bev([-25.6, -25.6, 25.6, 25.6]).all()
    # Labels of both tasks stay, whatever the task mask contains.
    assert len(boxes) > 0
    assert last.gt_map_masks.sum() > 0
    # A box kept in two frames keeps its track id.
    assert set(samples[-1].gt_instances_3d.track_ids.tolist()) & \
        set(samples[-2].gt_instances_3d.track_ids.tolist())


def test_scene_start_repeats_first_frame(train_set):
    index = next(i for i, r in enumerate(train_set.sample_records) if r.frame_idx == 1)
    samples = train_set[index]['data_samples']
    assert [s.metainfo['frame_idx'] for s in samples] == [0, 0, 1]


def test_lidar2img_projects_boxes_into_view(train_set):
    """Box centres in a narrow cone ahead of CAM_FRONT project inside its image.

    The nuScenes LiDAR looks along +y (x points to the right)."""
    sample = train_set[0]['data_samples'][-1]
    centers = sample.gt_instances_3d.bboxes_3d.gravity_center.numpy()
    lidar2img = sample.metainfo['lidar2img'][0]
    homogeneous = np.concatenate([centers, np.ones((len(centers), 1))], 1) @ lidar2img.T
    ahead = (centers[:, 1] > 5) & (np.abs(centers[:, 0]) < 0.3 * centers[:, 1])
    assert ahead.any()
    u = homogeneous[ahead, 0] / homogeneous[ahead, 2]
    v = homogeneous[ahead, 1] / homogeneous[ahead, 2]
    assert (homogeneous[ahead, 2] > 0).all()
    assert ((u > 0) & (u < 160)).all()
    assert ((v > 0) & (v < 90)).all()


def test_val_set_is_single_frame(toy_cfg):
    dataset = build(toy_cfg.val_dataloader.dataset)
    item = dataset[0]
    assert tuple(item['inputs']['img'].shape[:2]) == (1, 6)
    assert len(item['data_samples']) == 1


def test_dataloader_with_samplers(toy_cfg, train_set):
    sampler = DATA_SAMPLERS.build(toy_cfg.train_dataloader.sampler,
                                  default_args=dict(dataset=train_set, seed=0))
    loader = DataLoader(train_set, batch_size=toy_cfg.batch_size, sampler=sampler,
                        collate_fn=FUNCTIONS.get(toy_cfg.train_dataloader.collate_fn.type))
    batch = next(iter(loader))
    assert len(batch['inputs']['img']) == 2
    assert len(batch['data_samples']) == 2
    assert len(batch['data_samples'][0]) == 3
    cities = sorted(clip[-1].metainfo['city'] for clip in batch['data_samples'])
    assert cities == ['boston-seaport', 'singapore-onenorth']

    val_set = build(toy_cfg.val_dataloader.dataset)
    scene_sampler = DATA_SAMPLERS.build(toy_cfg.val_dataloader.sampler,
                                        default_args=dict(dataset=val_set, seed=0))
    order = list(scene_sampler)
    assert sorted(order) == list(range(len(val_set)))


def test_unknown_city_rejected(toy_cfg):
    with pytest.raises(ValueError, match='boston-seaport'):
        build(toy_cfg.train_dataloader.dataset,
              partition=dict(map=['atlantis'], track='all'))


def test_partition_without_track_labels_rejected(toy_cfg):
    with pytest.raises(ValueError, match='track'):
        build(toy_cfg.train_dataloader.dataset,
              partition=dict(map='all', track='none'))


def test_missing_info_file_says_to_run_converter(toy_cfg, tmp_path):
    with pytest.raises(FileNotFoundError, match='create_data.py') as error:
        build(toy_cfg.train_dataloader.dataset, data_root=str(tmp_path))
    assert 'nexusflow_infos_train.pkl' in str(error.value)
