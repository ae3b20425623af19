"""Helpers for the BEV track+map model tests: a tiny model config and toy clips."""
import copy
import math
import os.path as osp

import numpy as np
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from mmengine.config import Config
from mmengine.structures import InstanceData

import nexusflow  # noqa: F401  (fills the registries)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_CONFIG = osp.join(REPO, 'configs/_base_/models/bev-track-map_tiny.py')


def ring_lidar2img(num_cams: int, width: int, height: int) -> np.ndarray:
    """Return (N, 4, 4) projections of cameras on a ring at the origin,
    camera k looking along yaw 2 pi k / N with a 90 degree horizontal
    field of view."""
    intrinsics = np.eye(4)
    intrinsics[0, 0] = intrinsics[1, 1] = width / 2
    intrinsics[0, 2], intrinsics[1, 2] = width / 2, height / 2
    mats = []
    for k in range(num_cams):
        yaw = 2 * math.pi * k / num_cams
        extrinsic = np.eye(4)
        # Camera axes: x right, y down, z forward.
        extrinsic[:3, :3] = np.array([[math.sin(yaw), -math.cos(yaw), 0],
                                      [0, 0, -1],
                                      [math.cos(yaw),
                                       math.sin(yaw), 0]])
        mats.append(intrinsics @ extrinsic)
    return np.stack(mats).astype(np.float32)


def make_frame(t: int,
               scene: str = 'scene-a',
               task_mask=None,
               num_boxes: int = 4,
               bev_size=(20, 20),
               num_cams: int = 6,
               img_size=(48, 80),
               ego_step: float = 1.0,
               seed: int = 0) -> Det3DDataSample:
    """Build one toy frame of a clip.

    The same ``seed`` gives the same boxes (track ids 0..num_boxes-1) and
    map masks in every frame, except that the boxes drift 0.5 m per frame
    along x and y. The ego moves ``ego_step`` metres along x per frame.
    """
    gen = torch.Generator().manual_seed(seed)
    frame = Det3DDataSample()
    ego2global = np.eye(4, dtype=np.float32)
    ego2global[0, 3] = t * ego_step
    frame.set_metainfo(
        dict(
            token=f'{scene}-{t}',
            sample_idx=t,
            scene_token=scene,
            frame_idx=t,
            city='boston-seaport',
            task_mask=task_mask or dict(map=True, track=True),
            timestamp=0.5 * t,
            lidar2img=ring_lidar2img(num_cams, img_size[1], img_size[0]),
            lidar2ego=np.eye(4, dtype=np.float32),
            ego2global=ego2global,
            img_shape=img_size,
            box_type_3d=LiDARInstance3DBoxes))
    boxes = torch.rand(num_boxes, 9, generator=gen)
    boxes[:, :2] = boxes[:, :2] * 16 - 8 + 0.5 * t
    boxes[:, 2] = -1.5
    boxes[:, 3:6] = boxes[:, 3:6] * 2 + 1
    boxes[:, 6] = boxes[:, 6] * 6 - 3
    gt = InstanceData()
    gt.bboxes_3d = LiDARInstance3DBoxes(boxes, box_dim=9)
    gt.labels_3d = torch.randint(0, 10, (num_boxes, ), generator=gen)
    gt.track_ids = torch.arange(num_boxes)
    frame.gt_instances_3d = gt
    frame.gt_map_masks = (torch.rand(4, *bev_size, generator=gen) >
                          0.5).to(torch.uint8)
    return frame


def make_batch(num_samples: int = 2,
               num_frames: int = 2,
               task_masks=None,
               bev_size=(20, 20),
               img_size=(48, 80),
               seed: int = 0) -> dict:
    """Build a raw (pre-preprocessor) batch of toy clips."""
    gen = torch.Generator().manual_seed(seed)
    imgs, samples = [], []
    for b in range(num_samples):
        mask = task_masks[b] if task_masks else None
        imgs.append(
            torch.randint(
                0, 255, (num_frames, 6, 3, *img_size),
                generator=gen,
                dtype=torch.uint8))
        samples.append([
            make_frame(t, f'scene-{b}', mask, bev_size=bev_size,
                       img_size=img_size, seed=seed + 10 * b)
            for t in range(num_frames)
        ])
    return dict(inputs=dict(img=imgs), data_samples=samples)


def small_model_cfg(bev_size=(20, 20), num_query: int = 9) -> Config:
    """Return the tiny config's model, shrunk further for fast tests.

    ``num_query`` must be a square: the tiny config starts the detection
    queries on a grid.
    """
    cfg = Config.fromfile(TINY_CONFIG)
    model = copy.deepcopy(cfg.model)
    bev_h, bev_w = bev_size
    model.bev_h, model.bev_w = bev_h, bev_w
    model.bev_encoder.bev_h, model.bev_encoder.bev_w = bev_h, bev_w
    model.track_head.bev_h, model.track_head.bev_w = bev_h, bev_w
    model.track_head.num_query = num_query
    model.map_head.out_size = (bev_h, bev_w)
    return model
