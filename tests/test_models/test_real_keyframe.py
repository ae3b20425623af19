"""The BEV track+map model on the real nuScenes keyframe."""
import json
import os.path as osp
import pickle

import mmcv
import numpy as np
import pytest
import shapely
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from mmengine.config import Config
from mmengine.structures import InstanceData
from shapely.geometry import shape

from model_helpers import TINY_CONFIG
from nexusflow.models.bev_encoder.spatial_cross_attention import \
    project_to_cameras

REAL = '/work/shared/realdata/nuscenes'
DEMO = osp.join(REAL, 'mmdetection3d/demo/data/nuscenes')
INFO = osp.join(DEMO, 'n015-2018-07-24-11-22-45+0800.pkl')
DRIVABLE = osp.join(REAL, 'drivable_area/onenorth_drivable_area.json')
CAMERAS = ['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT']
SCALE = 0.1  # 1600x900 -> 160x90

pytestmark = pytest.mark.skipif(
    not osp.exists(INFO), reason=f'real nuScenes keyframe not found at {INFO}')


def _load_keyframe(cfg):
    with open(INFO, 'rb') as f:
        info = pickle.load(f)
    entry = info['data_list'][0]
    label_names = {v: k for k, v in info['metainfo']['categories'].items()}
    class_names = list(cfg.class_names)

    imgs, lidar2img = [], []
    for cam in CAMERAS:
        cam_info = entry['images'][cam]
        img = mmcv.imread(osp.join(DEMO, osp.basename(cam_info['img_path'])))
        img = mmcv.imresize(img, (160, 90))[..., ::-1].copy()  # BGR -> RGB
        imgs.append(torch.from_numpy(img).permute(2, 0, 1))
        intrinsics = np.eye(4)
        intrinsics[:3, :3] = np.asarray(cam_info['cam2img'])
        intrinsics[:2] *= SCALE
        lidar2img.append(intrinsics @ np.asarray(cam_info['lidar2cam']))

    boxes = [inst['bbox_3d'] + list(inst['velocity'])
             for inst in entry['instances']]
    # Label -1 marks boxes of classes outside the 10 detection classes;
    # the track head ignores them.
    labels = [
        class_names.index(label_names[inst['bbox_label_3d']])
        if inst['bbox_label_3d'] >= 0 else -1 for inst in entry['instances']
    ]
    lidar2ego = np.asarray(entry['lidar_points']['lidar2ego'])
    ego2global = np.asarray(entry['ego2global'])
    return (torch.stack(imgs), np.stack(lidar2img), torch.tensor(boxes),
            torch.tensor(labels), lidar2ego, ego2global, entry)


def _drivable_raster(cfg, lidar2global):
    """Rasterize the real onenorth drivable area on the model's BEV grid."""
    with open(DRIVABLE) as f:
        area = shape(json.load(f)).buffer(0)
    x_min, y_min, _, x_max, y_max = cfg.point_cloud_range[:5]
    xs = x_min + (np.arange(cfg.bev_w) + 0.5) * (x_max - x_min) / cfg.bev_w
    ys = y_min + (np.arange(cfg.bev_h) + 0.5) * (y_max - y_min) / cfg.bev_h
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.stack([grid_x, grid_y, np.zeros_like(grid_x),
                       np.ones_like(grid_x)], -1) @ lidar2global.T
    inside = shapely.contains_xy(area, points[..., 0], points[..., 1])
    masks = np.zeros((4, cfg.bev_h, cfg.bev_w), dtype=np.uint8)
    masks[3] = inside
    return torch.from_numpy(masks)


@pytest.fixture(scope='module')
def keyframe():
    cfg = Config.fromfile(TINY_CONFIG)
    imgs, lidar2img, boxes, labels, lidar2ego, ego2global, entry = \
        _load_keyframe(cfg)
    frame = Det3DDataSample()
    frame.set_metainfo(
        dict(
            token=entry['token'],
            sample_idx=entry['sample_idx'],
            scene_token='scene-0061',
            frame_idx=0,
            city='singapore-onenorth',
            task_mask=dict(map=True, track=True),
            timestamp=entry['timestamp'],
            lidar2img=lidar2img,
            lidar2ego=lidar2ego,
            ego2global=ego2global,
            img_shape=(90, 160),
            box_type_3d=LiDARInstance3DBoxes))
    in_range = (boxes[:, 0].abs() < 25.6) & (boxes[:, 1].abs() < 25.6)
    gt = InstanceData()
    gt.bboxes_3d = LiDARInstance3DBoxes(boxes[in_range], box_dim=9)
    gt.labels_3d = labels[in_range]
    gt.track_ids = torch.nonzero(in_range).flatten()
    frame.gt_instances_3d = gt
    frame.gt_map_masks = _drivable_raster(cfg, ego2global @ lidar2ego)
    return cfg, imgs, frame, boxes


def test_keyframe_boxes_project_into_cameras(keyframe):
    cfg, _, frame, boxes = keyframe
    assert len(boxes) == 69
    centres = boxes[:, None, :3].clone().float()
    centres[..., 2] += boxes[:, None, 5] / 2
    lidar2img = torch.from_numpy(frame.metainfo['lidar2img']).float()
    _, visible = project_to_cameras(centres, lidar2img[None], (90, 160))
    seen = visible[0].any(0)[:, 0]
    # The six cameras cover 360 degrees, so nearly every annotated box
    # centre lands in some image.
    assert seen.float().mean().item() > 0.9
    # The ego sits on the drivable area.
    assert frame.gt_map_masks[3, 25, 25].item() == 1
    assert 0 < frame.gt_map_masks[3].float().mean().item() < 1


def test_tiny_model_trains_on_keyframe(keyframe):
    cfg, imgs, frame, _ = keyframe
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).train()
    batch = dict(inputs=dict(img=[imgs[None]]), data_samples=[[frame]])
    data = model.data_preprocessor(batch, True)
    assert data['inputs']['img'].shape == (1, 1, 6, 3, 96, 160)
    losses = model(**data, mode='loss')
    assert len(frame.gt_instances_3d) > 10
    for key, value in losses.items():
        assert torch.isfinite(value), key
    assert losses['loss_track_bbox'] > 0
    assert losses['loss_map_ce'] > 0
    sum(losses.values()).backward()
    for name in ('img_backbone', 'bev_encoder', 'track_head', 'map_head'):
        grads = [p.grad for p in getattr(model, name).parameters()
                 if p.grad is not None]
        assert sum(float(g.abs().sum()) for g in grads) > 0, name

    model.eval()
    with torch.no_grad():
        output = model(
            **model.data_preprocessor(batch, False), mode='predict')[0]
    assert output.pred_map_masks.shape == (4, 50, 50)
    assert torch.equal(output.gt_map_masks, frame.gt_map_masks)
