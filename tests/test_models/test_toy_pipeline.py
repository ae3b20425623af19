"""The BEV track+map model fed by the toy nuScenes data pipeline."""
import copy

import pytest
import torch
from mmdet3d.registry import DATASETS, MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from model_helpers import REPO, TINY_CONFIG
from nexusflow.datasets.collate import clip_collate

TOY_DATA_CONFIG = f'{REPO}/configs/_base_/datasets/nus-partial_toy.py'


@pytest.fixture(scope='module')
def toy_sets(toy_nuscenes_infos, toy_nuscenes_root):
    init_default_scope('mmdet3d')
    cfg = Config.fromfile(TOY_DATA_CONFIG)
    sets = {}
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.val_dataloader)):
        dataset = copy.deepcopy(loader.dataset)
        dataset.data_root = str(toy_nuscenes_root)
        sets[split] = DATASETS.build(dataset)
    return cfg, sets


def test_configs_agree_on_grid_and_classes(toy_sets):
    data_cfg, _ = toy_sets
    model_cfg = Config.fromfile(TINY_CONFIG)
    for key in ('point_cloud_range', 'bev_h', 'bev_w', 'class_names',
                'map_classes'):
        assert model_cfg[key] == data_cfg[key], key


def test_toy_clips_train_and_predict(toy_sets):
    _, sets = toy_sets
    train_set, val_set = sets['train'], sets['val']
    records = train_set.sample_records
    map_index = next(i for i, r in enumerate(records)
                     if r.task_mask['map'] and r.frame_idx >= 2)
    track_index = next(i for i, r in enumerate(records)
                       if r.task_mask['track'] and r.frame_idx >= 2)
    batch = clip_collate([train_set[map_index], train_set[track_index]])

    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model).train()
    data = model.data_preprocessor(batch, True)
    assert data['inputs']['img'].shape[:3] == (2, 3, 6)
    losses = model(**data, mode='loss')
    for key, value in losses.items():
        assert torch.isfinite(value), key
    assert losses['loss_map_ce'] > 0
    assert losses['loss_track_cls'] > 0
    sum(losses.values()).backward()

    model.eval()
    scenes = []
    for index in range(3):
        item = clip_collate([val_set[index]])
        with torch.no_grad():
            output = model(
                **model.data_preprocessor(item, False), mode='predict')[0]
        frame = item['data_samples'][0][-1]
        assert output.metainfo['token'] == frame.metainfo['token']
        assert output.pred_map_masks.shape == frame.gt_map_masks.shape
        assert output.pred_instances_3d.bboxes_3d.tensor.shape[1] == 9
        scenes.append(frame.metainfo['scene_token'])
    assert model._scene_token == scenes[-1]
