"""Build the BEV track+map model and synthetic training clips for benchmarks.

The clips have the layout that the data pipeline hands the model (see
docs/interfaces.md): random images from six pinhole cameras in a ring around
the LiDAR, boxes that move a little between frames with stable track ids,
and random map masks. They exercise every layer of a training step without
reading a dataset, so the step time does not depend on disk or decoding.
"""
import copy
import glob
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.structures import InstanceData

import nexusflow  # noqa: F401  (fills the registries)
from nexusflow.engine import apply_nexusflow_hook

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_CONFIGS = {
    'tiny': 'configs/_base_/models/bev-track-map_tiny.py',
    'full': 'configs/_base_/models/bev-track-map_full.py',
}
# Camera image (height, width) in pixels after resizing, as the dataset
# configs give them: the toy world's 160 x 90 cameras, and the nuScenes
# 1600 x 900 images resized by 0.8.
IMAGE_SHAPES = {'tiny': (90, 160), 'full': (720, 1280)}
# Frames per training clip (queue_length of both dataset configs).
CLIP_FRAMES = 3
# Yaw of each camera's optical axis in the LiDAR frame (x forward, y left),
# degrees, in the nuScenes camera order.
CAMERA_YAWS_DEG = (0.0, -55.0, 55.0, 180.0, 110.0, -110.0)
NUM_DETECTION_CLASSES = 10


def load_model_config(size: str) -> Config:
    """Load ``configs/_base_/models/bev-track-map_<size>.py``.

    Raises:
        FileNotFoundError: If that config is not in the repository.
    """
    if size not in MODEL_CONFIGS:
        raise ValueError(f'model config size must be one of '
                         f'{sorted(MODEL_CONFIGS)}, got {size!r}')
    path = osp.join(REPO_ROOT, MODEL_CONFIGS[size])
    if not osp.isfile(path):
        raise FileNotFoundError(f'model config {path} not found')
    return Config.fromfile(path)


def default_nexusflow_config(size: str) -> Optional[str]:
    """Return the runnable NexusFlow config of a model size, or None.

    That is the first, in name order, of ``configs/nexusflow/nexusflow_*.py``
    whose name contains ``tiny`` (for ``'tiny'``) or does not (for
    ``'full'``).
    """
    pattern = osp.join(REPO_ROOT, 'configs', 'nexusflow', 'nexusflow_*.py')
    for path in sorted(glob.glob(pattern)):
        if ('tiny' in osp.basename(path)) == (size == 'tiny'):
            return path
    return None


def nexusflow_config(model_cfg: dict,
                     runnable_config: Optional[str] = None) -> dict:
    """Return the NexusFlow module config for a BEV track+map model.

    Args:
        model_cfg: The ``model`` dict of a model config.
        runnable_config: A config with a ``NexusFlowHook``; its ``flow`` is
            used when given. Otherwise the flow aligns the map head's latent
            and the track queries with NexusFlow's default sizes.
    """
    if runnable_config is not None:
        cfg = Config.fromfile(runnable_config)
        apply_nexusflow_hook(cfg)
        flow = cfg.model.get('nexusflow')
        if not flow:
            raise ValueError(f'{runnable_config} configures no NexusFlow '
                             '(no NexusFlowHook and no model.nexusflow)')
        return copy.deepcopy(dict(flow))
    return dict(
        type='NexusFlow',
        tasks=('map', 'track'),
        in_channels=dict(
            map=model_cfg['map_head']['latent_channels'],
            track=model_cfg['track_head']['embed_dims']))


def build_model(model_cfg: dict, flow_cfg: Optional[dict], seed: int = 0,
                device: str = 'cpu') -> torch.nn.Module:
    """Build the model in train mode, with NexusFlow when ``flow_cfg`` is set.

    NexusFlow's ``align_weight`` is set to 1, as ``NexusFlowHook`` does after
    its warm-up; the loss is computed at any weight.
    """
    cfg = copy.deepcopy(dict(model_cfg))
    cfg['nexusflow'] = copy.deepcopy(flow_cfg)
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    model.init_weights()
    if model.nexusflow is not None:
        model.nexusflow.align_weight = 1.0
    return model.to(device).train()


def build_optim_wrapper(model: torch.nn.Module) -> OptimWrapper:
    """Return AdamW with gradient clipping, as the training schedules use."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4,
                                  weight_decay=0.01)
    return OptimWrapper(optimizer, clip_grad=dict(max_norm=35, norm_type=2))


def ring_cameras(image_shape: Tuple[int, int]) -> Dict[str, np.ndarray]:
    """Return ``cam2img`` (N, 4, 4), ``lidar2cam`` and ``lidar2img`` of six
    cameras 0.3 m below the LiDAR, looking horizontally."""
    height, width = image_shape
    focal = width * 0.79  # about the nuScenes front camera's 1266 px at 1600 px
    cam2img = np.eye(4)
    cam2img[:3, :3] = [[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]]
    cam2imgs, lidar2cams = [], []
    for yaw_deg in CAMERA_YAWS_DEG:
        yaw = math.radians(yaw_deg)
        forward = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        down = np.array([0.0, 0.0, -1.0])
        rotation = np.stack([right, down, forward])
        centre = np.array([0.0, 0.0, -0.3])
        lidar2cam = np.eye(4)
        lidar2cam[:3, :3] = rotation
        lidar2cam[:3, 3] = -rotation @ centre
        cam2imgs.append(cam2img)
        lidar2cams.append(lidar2cam)
    cam2imgs = np.stack(cam2imgs).astype(np.float32)
    lidar2cams = np.stack(lidar2cams).astype(np.float32)
    return dict(cam2img=cam2imgs, lidar2cam=lidar2cams,
                lidar2img=cam2imgs @ lidar2cams)


def _boxes_at(rng: np.random.Generator, num_boxes: int,
              point_cloud_range: Sequence[float]) -> np.ndarray:
    x_min, y_min, _, x_max, y_max, _ = point_cloud_range
    boxes = np.zeros((num_boxes, 9), dtype=np.float32)
    boxes[:, 0] = rng.uniform(0.8 * x_min, 0.8 * x_max, num_boxes)
    boxes[:, 1] = rng.uniform(0.8 * y_min, 0.8 * y_max, num_boxes)
    boxes[:, 2] = -1.8
    boxes[:, 3:6] = rng.uniform(0.5, 4.5, (num_boxes, 3))
    boxes[:, 6] = rng.uniform(-math.pi, math.pi, num_boxes)
    boxes[:, 7:9] = rng.uniform(-5.0, 5.0, (num_boxes, 2))
    return boxes


def make_clip_batch(model_cfg: dict,
                    image_shape: Tuple[int, int],
                    batch_size: int = 1,
                    num_frames: int = 2,
                    num_boxes: int = 20,
                    task_mask: Optional[Dict[str, bool]] = None,
                    seed: int = 0) -> dict:
    """Return one training batch as the dataloader hands it to ``train_step``.

    Args:
        model_cfg: The ``model`` dict (BEV range, grid and map classes).
        image_shape: Camera image (height, width) in pixels.
        batch_size: Clips B.
        num_frames: Frames T per clip, 0.5 s apart.
        num_boxes: Ground-truth boxes per frame.
        task_mask: Labels present in every sample. Defaults to both tasks.
        seed: Seed of the images, boxes and masks.

    Returns:
        dict: ``inputs=dict(img=[B x uint8 (T, N_cam, 3, H, W)])`` and
        ``data_samples`` (B lists of T ``Det3DDataSample``).
    """
    rng = np.random.default_rng(seed)
    task_mask = dict(task_mask or dict(map=True, track=True))
    point_cloud_range = list(model_cfg['point_cloud_range'])
    bev_h, bev_w = model_cfg['bev_h'], model_cfg['bev_w']
    num_map_classes = len(model_cfg['map_head']['map_classes'])
    num_cams = len(CAMERA_YAWS_DEG)
    cameras = ring_cameras(image_shape)
    height, width = image_shape

    imgs, clips = [], []
    for b in range(batch_size):
        imgs.append(torch.from_numpy(rng.integers(
            0, 256, (num_frames, num_cams, 3, height, width), dtype=np.uint8)))
        boxes = _boxes_at(rng, num_boxes, point_cloud_range)
        labels = rng.integers(0, NUM_DETECTION_CLASSES, num_boxes)
        clip = []
        for t in range(num_frames):
            ego2global = np.eye(4, dtype=np.float32)
            ego2global[0, 3] = 3.0 * t  # the ego drives 6 m/s along x
            moved = boxes.copy()
            moved[:, :2] += 0.5 * t * boxes[:, 7:9]
            sample = Det3DDataSample(metainfo=dict(
                token=f'clip{b}_frame{t}',
                sample_idx=b * num_frames + t,
                scene_token=f'scene{b}',
                frame_idx=t,
                city='boston-seaport',
                task_mask=task_mask,
                timestamp=0.5 * t,
                lidar2img=cameras['lidar2img'],
                cam2img=cameras['cam2img'],
                lidar2cam=cameras['lidar2cam'],
                lidar2ego=np.eye(4, dtype=np.float32),
                ego2global=ego2global,
                can_bus=np.zeros(18, dtype=np.float32),
                img_shape=image_shape,
                box_type_3d=LiDARInstance3DBoxes))
            gt = InstanceData()
            gt.bboxes_3d = LiDARInstance3DBoxes(torch.from_numpy(moved),
                                                box_dim=9)
            gt.labels_3d = torch.from_numpy(labels).long()
            gt.track_ids = torch.arange(num_boxes) + 1000 * b
            sample.gt_instances_3d = gt
            sample.gt_map_masks = torch.from_numpy(rng.integers(
                0, 2, (num_map_classes, bev_h, bev_w), dtype=np.uint8))
            clip.append(sample)
        clips.append(clip)
    return dict(inputs=dict(img=imgs), data_samples=clips)


def count_parameters(module: torch.nn.Module) -> int:
    """Return the number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def capture_nexusflow_inputs(model: torch.nn.Module, data: dict
                             ) -> Tuple[dict, dict]:
    """Run one loss pass and return copies of the latents and masks that
    the model passes to ``model.nexusflow.loss``.

    The copies are detached leaves with ``requires_grad`` set, so NexusFlow's
    forward and backward can be timed without the rest of the model.
    """
    if model.nexusflow is None:
        raise ValueError('the model has no NexusFlow module')
    captured: List[Tuple[dict, dict]] = []
    original = model.nexusflow.loss

    def recording_loss(latents, masks=None):
        captured.append((
            {k: v.detach().clone().requires_grad_(True)
             for k, v in latents.items()},
            {k: (None if v is None else v.detach().clone())
             for k, v in (masks or {}).items()}))
        return original(latents, masks)

    model.nexusflow.loss = recording_loss
    try:
        with torch.no_grad():
            processed = model.data_preprocessor(copy.deepcopy(data), True)
            model(**processed, mode='loss')
    finally:
        del model.nexusflow.loss
    if not captured:
        raise RuntimeError('the model did not call nexusflow.loss in its '
                           'loss pass')
    return captured[-1]
