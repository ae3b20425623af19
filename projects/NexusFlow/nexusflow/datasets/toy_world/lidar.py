"""Synthetic LIDAR_TOP sweeps: ground returns plus returns on the faces of the boxes.

A box receives about ``density * area / distance**2`` points on its faces that look
towards the sensor, so far and small boxes get few points, but every box gets at
least ``min_points``. ``num_lidar_pts`` is then counted from the written points.
"""
from typing import List, Tuple

import numpy as np

from .renderer import _FACES, Box
from .tables import invert_rigid

# Number of laser rings of the nuScenes LIDAR_TOP sensor.
NUM_RINGS = 32


def simulate_sweep(boxes: List[Box], global2lidar: np.ndarray, rng: np.random.Generator,
                   num_ground_points: int = 2000, ground_radius: Tuple[float, float] = (2.5, 50.0),
                   density: float = 400.0, min_points: int = 3,
                   max_points: int = 300) -> Tuple[np.ndarray, np.ndarray]:
    """Simulate one sweep.

    Args:
        boxes (list[Box]): objects in the global frame (colours unused).
        global2lidar (np.ndarray): (4, 4) global-to-LiDAR transform; ground is global z = 0.
        rng (np.random.Generator): random source.
        num_ground_points (int): ground returns before removing those under boxes.
        ground_radius (tuple): ``(min, max)`` distance of ground returns in metres.
        density (float): box points per square metre of face at 1 m distance.
        min_points (int): fewest points on any box.
        max_points (int): most points on any box.

    Returns:
        tuple: points (N, 5) float32 ``(x, y, z, intensity, ring)`` in the LiDAR frame,
        and the number of points inside each box, (len(boxes),) int64.
    """
    lidar2global = invert_rigid(global2lidar)
    sensor = lidar2global[:3, 3]

    radius = np.sqrt(rng.uniform(ground_radius[0] ** 2, ground_radius[1] ** 2,
                                 num_ground_points))
    angle = rng.uniform(0.0, 2 * np.pi, num_ground_points)
    ground = np.stack([sensor[0] + radius * np.cos(angle), sensor[1] + radius * np.sin(angle),
                       np.zeros(num_ground_points)], axis=1)
    ground_intensity = rng.uniform(2.0, 20.0, num_ground_points)
    keep = np.ones(num_ground_points, bool)
    for box in boxes:
        keep &= ~_inside_footprint(box, ground)
    clouds, intensities = [ground[keep]], [ground_intensity[keep]]

    for box in boxes:
        corners = box.corners()
        normals = box.face_normals()
        centres = np.stack([corners[list(face)].mean(axis=0) for face in _FACES])
        facing = np.einsum('ij,ij->i', normals, sensor[None] - centres) > 0
        width, length, height = box.size
        # Face areas in the order of _FACES: -x, +x (length axis), -y, +y, -z, +z.
        areas = np.array([width * height, width * height, length * height, length * height,
                          length * width, length * width]) * facing
        distance = max(float(np.linalg.norm(box.center - sensor)), 1.0)
        count = int(np.clip(round(density * areas.sum() / distance ** 2), min_points, max_points))
        if areas.sum() <= 0:
            areas = np.ones(6)
        chosen = rng.choice(6, size=count, p=areas / areas.sum())
        # Stay slightly inside the faces so that the points count as inside the box.
        a, b = rng.uniform(0.02, 0.98, (2, count))
        face_corners = corners[np.array(_FACES)[chosen]]
        points = (face_corners[:, 0] + a[:, None] * (face_corners[:, 1] - face_corners[:, 0])
                  + b[:, None] * (face_corners[:, 3] - face_corners[:, 0]))
        points = box.center + 0.99 * (points - box.center)
        clouds.append(points)
        intensities.append(rng.uniform(30.0, 100.0, count))

    points_global = np.concatenate(clouds)
    counts = np.array([int(_inside_box(box, points_global).sum()) for box in boxes], np.int64)
    points_lidar = points_global @ global2lidar[:3, :3].T + global2lidar[:3, 3]
    elevation = np.arctan2(points_lidar[:, 2], np.linalg.norm(points_lidar[:, :2], axis=1))
    # The nuScenes LIDAR_TOP spans about -30 to +10 degrees of elevation.
    ring = np.clip((np.degrees(elevation) + 30.0) / 40.0 * NUM_RINGS, 0, NUM_RINGS - 1)
    cloud = np.concatenate([points_lidar, np.concatenate(intensities)[:, None],
                            np.floor(ring)[:, None]], axis=1).astype(np.float32)
    return cloud, counts


def _box_frame(box: Box, points: np.ndarray) -> np.ndarray:
    cos, sin = np.cos(box.yaw), np.sin(box.yaw)
    offset = points - box.center
    return np.stack([cos * offset[:, 0] + sin * offset[:, 1],
                     -sin * offset[:, 0] + cos * offset[:, 1], offset[:, 2]], axis=1)


def _inside_footprint(box: Box, points: np.ndarray) -> np.ndarray:
    local = _box_frame(box, points)
    return (np.abs(local[:, 0]) <= box.size[1] / 2) & (np.abs(local[:, 1]) <= box.size[0] / 2)


def _inside_box(box: Box, points: np.ndarray) -> np.ndarray:
    local = _box_frame(box, points)
    return _inside_footprint(box, points) & (np.abs(local[:, 2]) <= box.size[2] / 2)
