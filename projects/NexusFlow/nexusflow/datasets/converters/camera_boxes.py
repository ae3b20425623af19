"""Per-camera 2D annotations (mmdet3d's ``cam_instances``) from LiDAR-frame 3D boxes."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmdet3d.structures import LiDARInstance3DBoxes
from shapely.geometry import MultiPoint, box

# Attribute order of mmdet3d's nuScenes infos ('None' is the last index).
ATTRIBUTES = ('cycle.with_rider', 'cycle.without_rider', 'pedestrian.moving',
              'pedestrian.standing', 'pedestrian.sitting_lying_down',
              'vehicle.moving', 'vehicle.parked', 'vehicle.stopped', 'None')


def box_corners_lidar(boxes: np.ndarray) -> np.ndarray:
    """Return the 8 corners of gravity-centred LiDAR boxes.

    Args:
        boxes (np.ndarray): (N, 7) ``(x, y, z_center, dx, dy, dz, yaw)`` in
            the LiDAR frame, metres and radians.

    Returns:
        np.ndarray: (N, 8, 3) corners in metres.
    """
    if len(boxes) == 0:
        return np.zeros((0, 8, 3), dtype=np.float64)
    structure = LiDARInstance3DBoxes(
        torch.as_tensor(np.asarray(boxes, dtype=np.float32)[:, :7]),
        box_dim=7, origin=(0.5, 0.5, 0.5))
    return structure.corners.numpy().astype(np.float64)


def project_points(points: np.ndarray, lidar2img: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Project LiDAR points into an image.

    Args:
        points (np.ndarray): (..., 3) points in the LiDAR frame, metres.
        lidar2img (np.ndarray): (4, 4) projection ``cam2img @ lidar2cam``.

    Returns:
        tuple: (..., 2) pixel coordinates and (...) depth in metres.
    """
    homogeneous = np.concatenate([points, np.ones_like(points[..., :1])], -1)
    projected = homogeneous @ np.asarray(lidar2img, dtype=np.float64).T
    depth = projected[..., 2]
    safe = np.where(np.abs(depth) < 1e-6, 1e-6, depth)
    return projected[..., :2] / safe[..., None], depth


def pad_intrinsics(cam2img: Sequence[Sequence[float]]) -> np.ndarray:
    """Return a (4, 4) copy of 3x3 (or 4x4) camera intrinsics."""
    cam2img = np.asarray(cam2img, dtype=np.float64)
    padded = np.eye(4)
    padded[:cam2img.shape[0], :cam2img.shape[1]] = cam2img
    return padded


def camera_instances(boxes: np.ndarray,
                     velocities: np.ndarray,
                     labels: Sequence[int],
                     attr_labels: Sequence[int],
                     lidar2cam: np.ndarray,
                     cam2img: np.ndarray,
                     img_size: Tuple[int, int],
                     min_depth: float = 0.1) -> List[Dict]:
    """Build one camera's 2D annotations from 3D boxes, as mmdet3d's infos do.

    The 2D box is the bounding box of the projected corners' convex hull,
    clipped to the image; corners behind ``min_depth`` are dropped first.

    Args:
        boxes (np.ndarray): (N, 7) gravity-centred LiDAR boxes.
        velocities (np.ndarray): (N, 2) LiDAR-frame velocities, m/s.
        labels (Sequence[int]): (N,) detection labels (-1 for other classes).
        attr_labels (Sequence[int]): (N,) indices into ``ATTRIBUTES``.
        lidar2cam (np.ndarray): (4, 4) LiDAR-to-camera transform.
        cam2img (np.ndarray): (3, 3) or (4, 4) intrinsics.
        img_size (tuple): ``(width, height)`` in pixels.
        min_depth (float): Corners closer than this (metres) are dropped.
            Defaults to 0.1.

    Returns:
        list[dict]: ``bbox`` (x1, y1, x2, y2 pixels), ``bbox_label``,
        ``bbox_label_3d``, ``attr_label``, ``center_2d``, ``depth``,
        ``bbox_3d`` (camera frame: x, y, z, dx, dz_height, dy, yaw about the
        camera y axis), ``bbox_3d_isvalid`` and ``velocity`` (camera x, z).
    """
    lidar2cam = np.asarray(lidar2cam, dtype=np.float64)
    lidar2img = pad_intrinsics(cam2img) @ lidar2cam
    canvas = box(0, 0, img_size[0], img_size[1])
    corners = box_corners_lidar(boxes)
    results = []
    for k in range(len(boxes)):
        pixels, depth = project_points(corners[k], lidar2img)
        pixels = pixels[depth > min_depth]
        if len(pixels) == 0:
            continue
        center = np.asarray(boxes[k][:3], dtype=np.float64)
        center_2d, center_depth = project_points(center, lidar2img)
        if center_depth <= 0:
            continue
        hull = MultiPoint([tuple(p) for p in pixels]).convex_hull
        clipped = hull.intersection(canvas)
        if clipped.is_empty:
            continue

        center_cam = lidar2cam[:3, :3] @ center + lidar2cam[:3, 3]
        heading = lidar2cam[:3, :3] @ np.array(
            [np.cos(boxes[k][6]), np.sin(boxes[k][6]), 0.0])
        velocity = np.asarray(velocities[k], dtype=np.float64)
        velocity_cam = lidar2cam[:3, :3] @ np.array([velocity[0], velocity[1], 0.0])
        dx, dy, dz = [float(v) for v in boxes[k][3:6]]
        results.append(dict(
            bbox=[float(v) for v in clipped.bounds],
            bbox_label=int(labels[k]),
            bbox_label_3d=int(labels[k]),
            attr_label=int(attr_labels[k]),
            center_2d=[float(center_2d[0]), float(center_2d[1])],
            depth=float(center_depth),
            bbox_3d=[*center_cam.tolist(), dx, dz, dy,
                     float(-np.arctan2(heading[2], heading[0]))],
            bbox_3d_isvalid=True,
            velocity=[float(velocity_cam[0]), float(velocity_cam[2])]))
    return results
