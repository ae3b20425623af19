"""Compose one picture per sample: camera mosaic above, BEV panels side by side below.

Used by :class:`BEVVisualizationHook` and ``tools/analysis_tools/visualize_bev.py``.
"""
import os
import os.path as osp
from collections import deque
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch
from mmdet3d.structures import Det3DDataSample
from PIL import Image

from .bev_drawing import DEFAULT_MAP_CLASSES, BEVGrid, render_bev_panel
from .camera_drawing import (camera_names_from_paths, draw_boxes_on_image,
                             tile_cameras)


def to_numpy(value) -> np.ndarray:
    """Return a tensor, array or nested list as a numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@dataclass
class FrameBoxes:
    """Boxes of one frame, ready to draw.

    Attributes:
        corners (np.ndarray): (N, 8, 3) corners in metres, LiDAR frame.
        centers (np.ndarray): (N, 3) bottom centres in metres, LiDAR frame.
        track_ids (np.ndarray): (N,) int64 track ids, -1 where unknown.
    """
    corners: np.ndarray = field(default_factory=lambda: np.zeros((0, 8, 3)))
    centers: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    track_ids: np.ndarray = field(
        default_factory=lambda: np.zeros((0, ), dtype=np.int64))


def boxes_from_instances(instances, score_thr: Optional[float] = None) -> FrameBoxes:
    """Read boxes and track ids from ``pred_instances_3d`` or ``gt_instances_3d``.

    Args:
        instances (InstanceData | None): With ``bboxes_3d``
            (LiDARInstance3DBoxes), and optionally ``scores_3d`` and
            ``track_ids``.
        score_thr (float, optional): Keep boxes with ``scores_3d >=
            score_thr``; ignored when the instances have no scores.

    Returns:
        FrameBoxes: The kept boxes; empty when ``instances`` is None or has
        no ``bboxes_3d``.
    """
    if instances is None or 'bboxes_3d' not in instances:
        return FrameBoxes()
    boxes = instances.bboxes_3d
    num = len(boxes)
    keep = np.ones(num, dtype=bool)
    if score_thr is not None and 'scores_3d' in instances:
        keep = to_numpy(instances.scores_3d).reshape(-1) >= score_thr
    if 'track_ids' in instances:
        track_ids = to_numpy(instances.track_ids).reshape(-1).astype(np.int64)
    else:
        track_ids = np.full(num, -1, dtype=np.int64)
    if num == 0:
        return FrameBoxes()
    corners = to_numpy(boxes.corners).astype(np.float64)
    centers = to_numpy(boxes.bottom_center).astype(np.float64)
    return FrameBoxes(corners[keep], centers[keep], track_ids[keep])


def lidar2global_from_meta(metainfo: dict) -> Optional[np.ndarray]:
    """Return the LiDAR pose ``ego2global @ lidar2ego`` (4, 4) of a frame, or None without them."""
    if 'lidar2ego' not in metainfo or 'ego2global' not in metainfo:
        return None
    lidar2ego = to_numpy(metainfo['lidar2ego']).astype(np.float64)
    ego2global = to_numpy(metainfo['ego2global']).astype(np.float64)
    return ego2global @ lidar2ego


class TrackHistory:
    """Past box centres per track id over the last frames of one scene.

    Centres are kept in the global frame when the poses are known, so the
    history can be drawn in the current LiDAR frame while the ego vehicle
    moves. Without poses, the centres are kept in their own LiDAR frames
    and drawn unchanged. A new ``scene_token`` clears the history.

    Args:
        num_frames (int): Past frames kept, K. Defaults to 5.
    """

    def __init__(self, num_frames: int = 5):
        if num_frames < 0:
            raise ValueError(f'num_frames must be >= 0, got {num_frames}.')
        self.num_frames = num_frames
        self.scene_token = None
        self._frames: deque = deque(maxlen=max(num_frames, 1))

    def reset(self) -> None:
        """Forget all frames."""
        self._frames.clear()
        self.scene_token = None

    def update(self, scene_token: Optional[str], boxes: FrameBoxes,
               lidar2global: Optional[np.ndarray] = None) -> Dict[int, np.ndarray]:
        """Add a frame and return the histories of its tracks.

        Args:
            scene_token (str | None): Scene of the frame.
            boxes (FrameBoxes): The frame's boxes.
            lidar2global (np.ndarray, optional): (4, 4) pose of the frame's
                LiDAR in the global frame.

        Returns:
            dict[int, np.ndarray]: For each track id of this frame that also
            appears in a kept past frame, the centres (k + 1, 2) x, y in
            metres in this frame's LiDAR frame, oldest first, ending with
            the current centre.
        """
        if scene_token != self.scene_token:
            self._frames.clear()
            self.scene_token = scene_token
        if self.num_frames == 0:
            return {}
        use_poses = lidar2global is not None and all(
            pose is not None for _, pose in self._frames)
        global2lidar = np.linalg.inv(lidar2global) if use_poses else None

        histories = {}
        for track_id, center in zip(boxes.track_ids, boxes.centers):
            track_id = int(track_id)
            if track_id < 0:
                continue
            past = []
            for frame_centers, pose in self._frames:
                if track_id not in frame_centers:
                    continue
                point = frame_centers[track_id]
                if use_poses:
                    point = (global2lidar @ pose @ np.append(point, 1.0))[:3]
                past.append(point[:2])
            if past:
                histories[track_id] = np.stack(past + [center[:2]])

        self._frames.append(({
            int(t): c.copy()
            for t, c in zip(boxes.track_ids, boxes.centers) if t >= 0
        }, lidar2global))
        return histories


def images_from_tensor(img, channel_order: str = 'bgr') -> List[np.ndarray]:
    """Turn the camera images of one frame into RGB uint8 arrays.

    Args:
        img (Tensor | np.ndarray): (N_cam, 3, H, W) or (T, N_cam, 3, H, W),
            uint8 or float in 0..255 (not normalized). With a time axis
            the last (current) frame is used.
        channel_order (str): ``'bgr'`` or ``'rgb'``, the channel order of
            ``img``. Defaults to ``'bgr'``, what mmcv loads.

    Returns:
        list[np.ndarray]: N_cam (H, W, 3) uint8 RGB images.
    """
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}.")
    array = to_numpy(img)
    if array.ndim == 5:
        array = array[-1]
    if array.ndim != 4 or array.shape[1] != 3:
        raise ValueError(
            f'camera images must be (N_cam, 3, H, W) or (T, N_cam, 3, H, W), '
            f'got shape {array.shape}.')
    array = np.clip(array, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    if channel_order == 'bgr':
        array = array[..., ::-1]
    return [np.ascontiguousarray(image) for image in array]


def images_from_paths(img_paths: Sequence[str],
                      img_shape: Optional[Sequence[int]] = None) -> List[np.ndarray]:
    """Read camera images as RGB, resized to ``img_shape`` (H, W) when given.

    ``lidar2img`` in the metainfo is scaled to the pipeline's image size, so
    the files are resized to that size before boxes are drawn into them.
    """
    images = []
    for path in img_paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'Camera image not found: {path}')
        image = np.asarray(Image.open(path).convert('RGB'))
        if img_shape is not None and tuple(image.shape[:2]) != tuple(img_shape[:2]):
            image = cv2.resize(image, (int(img_shape[1]), int(img_shape[0])),
                               interpolation=cv2.INTER_AREA)
        images.append(image)
    return images


def hstack_images(images: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Put images side by side on white, top-aligned."""
    height = max(image.shape[0] for image in images)
    width = sum(image.shape[1] for image in images) + gap * (len(images) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for image in images:
        out[:image.shape[0], x:x + image.shape[1]] = image
        x += image.shape[1] + gap
    return out


def vstack_images(images: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Stack images vertically on white, left-aligned."""
    width = max(image.shape[1] for image in images)
    height = sum(image.shape[0] for image in images) + gap * (len(images) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    y = 0
    for image in images:
        out[y:y + image.shape[0], :image.shape[1]] = image
        y += image.shape[0] + gap
    return out


class SampleRenderer:
    """Render prediction and ground-truth panels of successive frames.

    Keeps one :class:`TrackHistory` per panel, so call :meth:`render` for
    the frames of a scene in order to get the track histories.

    Args:
        point_cloud_range (Sequence[float]): BEV range ``[x_min, y_min,
            z_min, x_max, y_max, z_max]`` in metres.
        bev_h (int, optional): BEV rows. Defaults to the map masks' height.
        bev_w (int, optional): BEV columns. Defaults to the map masks' width.
        map_classes (Sequence[str]): Map class of each mask channel.
        score_thr (float): Minimum score of drawn predicted boxes.
            Defaults to 0.3.
        history_frames (int): Past frames drawn as track histories.
            Defaults to 5.
        panel_size (int): Approximate BEV panel side in pixels.
            Defaults to 480.
        draw_cameras (bool): Whether to add the camera mosaic when images
            are given. Defaults to True.
        camera_source (str): Whose boxes go into the camera images:
            ``'pred'`` (the first model) or ``'gt'``. Defaults to ``'pred'``.
    """

    def __init__(self,
                 point_cloud_range: Sequence[float],
                 bev_h: Optional[int] = None,
                 bev_w: Optional[int] = None,
                 map_classes: Sequence[str] = DEFAULT_MAP_CLASSES,
                 score_thr: float = 0.3,
                 history_frames: int = 5,
                 panel_size: int = 480,
                 draw_cameras: bool = True,
                 camera_source: str = 'pred'):
        if camera_source not in ('pred', 'gt'):
            raise ValueError(f"camera_source must be 'pred' or 'gt', got {camera_source!r}.")
        self.point_cloud_range = [float(v) for v in point_cloud_range]
        self.bev_h = bev_h
        self.bev_w = bev_w
        self.map_classes = tuple(map_classes)
        self.score_thr = score_thr
        self.history_frames = history_frames
        self.panel_size = panel_size
        self.draw_cameras = draw_cameras
        self.camera_source = camera_source
        self._histories: Dict[str, TrackHistory] = {}

    def _grid(self, masks: Sequence[Optional[np.ndarray]]) -> BEVGrid:
        bev_h, bev_w = self.bev_h, self.bev_w
        if bev_h is None or bev_w is None:
            shapes = [m.shape[-2:] for m in masks if m is not None]
            if not shapes:
                raise ValueError(
                    'bev_h and bev_w are needed to draw a frame without map '
                    'masks; pass them to SampleRenderer.')
            bev_h, bev_w = shapes[0]
        return BEVGrid.from_config(self.point_cloud_range, bev_h, bev_w,
                                   self.panel_size)

    def _history(self, key: str) -> TrackHistory:
        if key not in self._histories:
            self._histories[key] = TrackHistory(self.history_frames)
        return self._histories[key]

    def render(self,
               preds: Sequence[Det3DDataSample],
               gt: Optional[Det3DDataSample] = None,
               pred_titles: Optional[Sequence[str]] = None,
               images: Optional[Sequence[np.ndarray]] = None) -> np.ndarray:
        """Render one frame.

        Args:
            preds (Sequence[Det3DDataSample]): One prediction per model, each
                with ``pred_instances_3d`` and ``pred_map_masks`` (either may
                be missing), for the same frame.
            gt (Det3DDataSample, optional): The frame's ``gt_instances_3d``
                and ``gt_map_masks``. Without it there is no GT panel.
            pred_titles (Sequence[str], optional): Title per prediction
                panel. Defaults to ``'prediction'`` (numbered with several).
            images (Sequence[np.ndarray], optional): (H, W, 3) uint8 RGB
                camera images in the order of the metainfo's ``lidar2img``.

        Returns:
            np.ndarray: RGB uint8 picture: the camera mosaic (when images
            are given and ``draw_cameras``) above the BEV panels, which are
            the predictions left to right, then the ground truth.
        """
        if len(preds) == 0:
            raise ValueError('render needs at least one prediction, got none.')
        if pred_titles is None:
            pred_titles = (['prediction'] if len(preds) == 1 else
                           [f'prediction {k + 1}' for k in range(len(preds))])
        if len(pred_titles) != len(preds):
            raise ValueError(f'got {len(pred_titles)} titles for {len(preds)} predictions.')
        metainfo = preds[0].metainfo
        scene_token = metainfo.get('scene_token')
        lidar2global = lidar2global_from_meta(metainfo)
        lidar2ego = metainfo.get('lidar2ego')

        pred_masks = [self._masks(p, 'pred_map_masks') for p in preds]
        gt_masks = self._masks(gt, 'gt_map_masks') if gt is not None else None
        grid = self._grid(pred_masks + [gt_masks])

        panels = []
        camera_boxes = None
        for index, (pred, title, masks) in enumerate(zip(preds, pred_titles, pred_masks)):
            boxes = boxes_from_instances(pred.get('pred_instances_3d'), self.score_thr)
            if index == 0 and self.camera_source == 'pred':
                camera_boxes = boxes
            history = self._history(f'pred{index}').update(scene_token, boxes, lidar2global)
            panels.append(self._panel(grid, masks, boxes, history, lidar2ego,
                                      f'{title} (score >= {self.score_thr:g})'))
        if gt is not None:
            boxes = boxes_from_instances(gt.get('gt_instances_3d'))
            if self.camera_source == 'gt':
                camera_boxes = boxes
            history = self._history('gt').update(scene_token, boxes, lidar2global)
            panels.append(self._panel(grid, gt_masks, boxes, history, lidar2ego,
                                      'ground truth'))
        bev_row = hstack_images(panels)

        if not (self.draw_cameras and images):
            return bev_row
        mosaic = self._camera_mosaic(images, metainfo, camera_boxes or FrameBoxes())
        tile_width = max(1, bev_row.shape[1] // 3)
        if mosaic.shape[1] != 3 * tile_width:
            scale = 3 * tile_width / mosaic.shape[1]
            mosaic_height = max(1, int(round(mosaic.shape[0] * scale)))
            mosaic = cv2.resize(mosaic, (3 * tile_width, mosaic_height),
                                interpolation=cv2.INTER_AREA)
        return vstack_images([mosaic, bev_row])

    @staticmethod
    def _masks(sample: Optional[Det3DDataSample], key: str) -> Optional[np.ndarray]:
        if sample is None or key not in sample:
            return None
        return to_numpy(sample.get(key)).astype(bool)

    def _panel(self, grid, masks, boxes, history, lidar2ego, title) -> np.ndarray:
        if masks is not None and masks.shape[0] != len(self.map_classes):
            raise ValueError(
                f'map masks have {masks.shape[0]} channels but map_classes '
                f'has {len(self.map_classes)}: {list(self.map_classes)}.')
        return render_bev_panel(
            grid,
            map_masks=masks,
            box_corners=boxes.corners,
            track_ids=boxes.track_ids,
            histories=history,
            class_names=self.map_classes,
            lidar2ego=None if lidar2ego is None else to_numpy(lidar2ego),
            title=title)

    @staticmethod
    def _camera_mosaic(images: Sequence[np.ndarray], metainfo: dict,
                       boxes: FrameBoxes) -> np.ndarray:
        lidar2img = metainfo.get('lidar2img')
        drawn = []
        for index, image in enumerate(images):
            image = np.ascontiguousarray(image).copy()
            if lidar2img is not None and len(boxes.corners):
                draw_boxes_on_image(image, boxes.corners, to_numpy(lidar2img)[index],
                                    boxes.track_ids)
            drawn.append(image)
        names = metainfo.get('cam_names')
        if names is None and metainfo.get('img_path') is not None:
            names = camera_names_from_paths(metainfo['img_path'])
        if names is not None and len(names) != len(drawn):
            names = None
        if names is None and len(drawn) != 6:
            # Without names only mmdet3d's six-camera order can be assumed.
            names = [f'CAM_{k}' for k in range(len(drawn))]
        return tile_cameras(drawn, names)


def frame_file_stem(metainfo: dict, fallback_index: int) -> str:
    """Return ``<scene>_<frame_idx:03d>_<token>`` for a frame, with the parts that are known."""
    parts = []
    scene = metainfo.get('scene_name') or metainfo.get('scene_token')
    if scene:
        parts.append(str(scene))
    if metainfo.get('frame_idx') is not None:
        parts.append(f"{int(metainfo['frame_idx']):03d}")
    if metainfo.get('token'):
        parts.append(str(metainfo['token']))
    if not parts:
        parts.append(f'sample_{fallback_index:06d}')
    return '_'.join(parts)


def save_png(image: np.ndarray, path: str) -> str:
    """Write an RGB uint8 image to ``path`` as PNG, creating its folder; return the path."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(image).save(path, format='PNG')
    return path


def write_video(frames: Sequence[np.ndarray], path: str, fps: float = 2.0) -> str:
    """Write RGB uint8 frames as an animated GIF or an MP4 video.

    The format follows the suffix: ``.gif`` uses PIL, ``.mp4`` uses OpenCV's
    ``mp4v`` codec. Frames of different sizes are padded with white to the
    largest size.

    Args:
        frames (Sequence[np.ndarray]): (H, W, 3) uint8 RGB images.
        path (str): Output file ending in ``.gif`` or ``.mp4``.
        fps (float): Frames per second. Defaults to 2.0.

    Returns:
        str: ``path``.
    """
    if not frames:
        raise ValueError(f'no frames to write to {path}.')
    suffix = osp.splitext(path)[1].lower()
    if suffix not in ('.gif', '.mp4'):
        raise ValueError(f'video path must end in .gif or .mp4, got {path}.')
    height = max(f.shape[0] for f in frames)
    width = max(f.shape[1] for f in frames)
    # Most MP4 decoders expect even frame sizes.
    height += height % 2
    width += width % 2
    padded = []
    for frame in frames:
        canvas = np.full((height, width, 3), 255, dtype=np.uint8)
        canvas[:frame.shape[0], :frame.shape[1]] = frame
        padded.append(canvas)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)

    if suffix == '.gif':
        pictures = [Image.fromarray(frame) for frame in padded]
        pictures[0].save(path, save_all=True, append_images=pictures[1:],
                         duration=int(round(1000 / fps)), loop=0)
        return path
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV could not open an MP4 writer for {path}.')
    try:
        for frame in padded:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path
