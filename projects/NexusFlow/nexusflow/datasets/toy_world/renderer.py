"""Camera images of the toy world through real nuScenes camera calibrations.

The ego stands on flat ground (z = 0 in the ego and global frames), so every pixel ray
that points downwards meets the ground at a fixed point of the ego frame; those points
are computed once per camera and moved with the ego pose each frame. Boxes are drawn
on top as shaded cuboid faces, far faces first.
"""
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np

from .ground_texture import GroundTexture
from .styles import CityStyle
from .tables import invert_rigid

# Faces of a box as corner indices, corners ordered by (x, y, z) sign bits below.
_FACES = ((0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3))
_FACE_NORMALS = np.array([[-1, 0, 0], [1, 0, 0], [0, -1, 0], [0, 1, 0], [0, 0, -1], [0, 0, 1]],
                         np.float64)
_CORNER_SIGNS = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)],
                         np.float64) - 0.5
# Camera-frame depth in metres at which faces are clipped.
_NEAR_M = 0.3


@dataclass
class Box:
    """An object box in the global frame.

    Attributes:
        center (np.ndarray): (3,) box centre in metres.
        size (np.ndarray): (3,) width, length, height in metres.
        yaw (float): heading of the length axis in radians.
        colour (np.ndarray): (3,) tinted RGB before shading.
    """
    center: np.ndarray
    size: np.ndarray
    yaw: float
    colour: np.ndarray

    def corners(self) -> np.ndarray:
        """Return the 8 corners (8, 3) in metres; corner i has x, y, z signs of bits 2, 1, 0."""
        extent = np.array([self.size[1], self.size[0], self.size[2]])
        local = _CORNER_SIGNS * extent
        cos, sin = np.cos(self.yaw), np.sin(self.yaw)
        rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
        return local @ rotation.T + self.center

    def face_normals(self) -> np.ndarray:
        """Return the outward unit normals (6, 3) of the faces in the global frame."""
        cos, sin = np.cos(self.yaw), np.sin(self.yaw)
        rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
        return _FACE_NORMALS @ rotation.T


class CameraRenderer:
    """Renders one camera of the ego.

    Args:
        cam2ego (np.ndarray): (4, 4) camera-to-ego transform.
        cam2img (np.ndarray): (3, 3) intrinsics for the output image size.
        image_size (tuple): ``(width, height)`` in pixels.
        style (CityStyle): sky, haze and lighting of the city.
        far_m (float): rays that meet the ground beyond this distance show sky.
    """

    def __init__(self, cam2ego: np.ndarray, cam2img: np.ndarray, image_size: Tuple[int, int],
                 style: CityStyle, far_m: float = 400.0):
        self.width, self.height = image_size
        self.cam2ego = cam2ego
        self.ego2cam = invert_rigid(cam2ego)
        self.cam2img = cam2img
        self.style = style

        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64),
                           np.arange(self.height, dtype=np.float64))
        pixels = np.stack([u, v, np.ones_like(u)], axis=-1)
        rays_cam = pixels @ np.linalg.inv(cam2img).T
        rays_ego = rays_cam @ cam2ego[:3, :3].T
        origin = cam2ego[:3, 3]
        with np.errstate(divide='ignore', invalid='ignore'):
            depth = -origin[2] / rays_ego[..., 2]
        hits = origin[None, None] + depth[..., None] * rays_ego
        distance = np.linalg.norm(hits[..., :2] - origin[None, None, :2], axis=-1)
        self.ground_mask = (rays_ego[..., 2] < 0) & (distance < far_m)
        self.ground_xy = hits[..., :2][self.ground_mask]
        ground_distance = distance[self.ground_mask]
        self.haze_weight = (1.0 - np.exp(-ground_distance / style.visibility_m))[:, None]
        self.haze_weight = self.haze_weight.astype(np.float32)

        elevation = rays_ego[..., 2] / np.linalg.norm(rays_ego, axis=-1)
        blend = np.clip(elevation / 0.5, 0.0, 1.0)[..., None]
        sky = (1 - blend) * np.asarray(style.sky_horizon) + blend * np.asarray(style.sky_top)
        self.background = (sky * np.asarray(style.tint)).astype(np.float32)

    def render(self, texture: GroundTexture, ego_xy: np.ndarray, ego_yaw: float,
               boxes: List[Box]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render one image.

        Args:
            texture (GroundTexture): the city's ground.
            ego_xy (np.ndarray): (2,) ego position in global metres.
            ego_yaw (float): ego heading in radians.
            boxes (list[Box]): objects in the global frame.

        Returns:
            tuple: image (H, W, 3) float32 RGB in [0, 255] before noise; per box the
            number of pixels where it is visible and the number it covers when drawn
            alone, both (len(boxes),) int64.
        """
        cos, sin = np.cos(ego_yaw), np.sin(ego_yaw)
        rotation = np.array([[cos, -sin], [sin, cos]])
        global_xy = self.ground_xy @ rotation.T + ego_xy
        ground = texture.lookup(global_xy)
        haze = np.asarray(self.style.haze, np.float32) * np.asarray(self.style.tint, np.float32)
        ground = ground * (1 - self.haze_weight) + haze * self.haze_weight
        image = self.background.copy()
        image[self.ground_mask] = ground

        ego2global = np.eye(4)
        ego2global[:2, :2] = rotation
        ego2global[:2, 3] = ego_xy
        global2cam = self.ego2cam @ invert_rigid(ego2global)
        faces = []
        for index, box in enumerate(boxes):
            corners = box.corners() @ global2cam[:3, :3].T + global2cam[:3, 3]
            if corners[:, 2].max() < _NEAR_M:
                continue
            normals = box.face_normals() @ global2cam[:3, :3].T
            shade = self._shade(box.face_normals())
            for face, normal, factor in zip(_FACES, normals, shade):
                face_corners = corners[list(face)]
                centre = face_corners.mean(axis=0)
                if np.dot(normal, centre) >= 0:
                    continue  # back face
                polygon = _clip_near(face_corners)
                if polygon is None:
                    continue
                distance = float(np.linalg.norm(centre))
                weight = 1.0 - np.exp(-distance / self.style.visibility_m)
                colour = box.colour * factor * (1 - weight) + haze * weight
                faces.append((distance, index, self._project(polygon), colour))

        visible = np.zeros(len(boxes), np.int64)
        covered = np.zeros(len(boxes), np.int64)
        if not faces:
            return image, visible, covered
        ids = np.full((self.height, self.width), -1, np.int32)
        faces.sort(key=lambda item: -item[0])
        for _, index, polygon, colour in faces:
            cv2.fillPoly(image, [polygon], colour.tolist(), shift=3)
            cv2.fillPoly(ids, [polygon], int(index), shift=3)
        counts = np.bincount(ids[ids >= 0].ravel(), minlength=len(boxes))
        visible[:] = counts[:len(boxes)]
        drawn = {index for _, index, _, _ in faces}
        for index in drawn:
            alone = np.zeros((self.height, self.width), np.uint8)
            polygons = [polygon for _, i, polygon, _ in faces if i == index]
            cv2.fillPoly(alone, polygons, 1, shift=3)
            covered[index] = int(alone.sum())
        return image, visible, covered

    def _shade(self, normals: np.ndarray) -> np.ndarray:
        light = np.asarray(self.style.light_dir, np.float64)
        light = light / np.linalg.norm(light)
        return 0.55 + 0.45 * np.clip(normals @ light, 0.0, 1.0)

    def _project(self, points_cam: np.ndarray) -> np.ndarray:
        uvw = points_cam @ self.cam2img.T
        uv = uvw[:, :2] / uvw[:, 2:3]
        # NOTE: vertices just past the near plane can project far outside the image;
        # clamping keeps them in cv2's fixed-point range but bends such rare faces.
        limit = 20.0 * max(self.width, self.height)
        uv = np.clip(uv, -limit, limit)
        return np.round(uv * 8).astype(np.int32)


def _clip_near(polygon: np.ndarray):
    """Clip a convex polygon (N, 3) in camera coordinates to depth >= _NEAR_M."""
    inside = polygon[:, 2] >= _NEAR_M
    if inside.all():
        return polygon
    if not inside.any():
        return None
    clipped = []
    count = len(polygon)
    for i in range(count):
        current, following = polygon[i], polygon[(i + 1) % count]
        current_in, following_in = inside[i], inside[(i + 1) % count]
        if current_in:
            clipped.append(current)
        if current_in != following_in:
            t = (_NEAR_M - current[2]) / (following[2] - current[2])
            clipped.append(current + t * (following - current))
    return np.asarray(clipped) if len(clipped) >= 3 else None
