"""Toy NYUv2: rendered rooms whose labels, depth and normals agree.

Each scene is a box-shaped room (floor, ceiling, three walls) with a few
furniture boxes on the floor and a picture and a window on the back wall, seen
by a pinhole camera that is pitched down. Every pixel's ray is cast against the
room, so the depth, the surface normal and the class of a pixel all come from
the same hit. The files are written in the layout that
:class:`NYUv2MultiTaskDataset` reads.
"""
import os
import os.path as osp
from typing import Dict, Tuple

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

# Indices of the 13-class NYUv2 label set used by MTAN-style preprocessing.
TOY_CLASS_IDS = dict(
    bed=0, ceiling=2, floor=4, furniture=5, picture=7, sofa=8, table=9,
    wall=11, window=12)
FURNITURE_CLASSES = ('bed', 'furniture', 'sofa', 'table')
BORDER_PIXELS = 2


def _intersect_planes(rays: np.ndarray, room: Dict[str, float]):
    """Cast rays from the origin against the five room planes (the room is open behind the camera).

    Returns per ray the hit distance t (hit point = t * ray), the normal that
    faces the camera, in world coordinates, and the class id.
    """
    num_rays = rays.shape[0]
    best_t = np.full(num_rays, np.inf)
    normals = np.zeros((num_rays, 3))
    labels = np.full(num_rays, -1, dtype=np.int64)
    # World frame: x right, y down, z forward; the camera sits at the origin.
    planes = [
        (1, room['floor_y'], (0., -1., 0.), 'floor'),
        (1, room['ceiling_y'], (0., 1., 0.), 'ceiling'),
        (0, room['left_x'], (1., 0., 0.), 'wall'),
        (0, room['right_x'], (-1., 0., 0.), 'wall'),
        (2, room['back_z'], (0., 0., -1.), 'wall'),
    ]
    for axis, offset, normal, name in planes:
        with np.errstate(divide='ignore', invalid='ignore'):
            t = offset / rays[:, axis]
        hit = (t > 0) & (t < best_t)
        best_t[hit] = t[hit]
        normals[hit] = normal
        labels[hit] = TOY_CLASS_IDS[name]
    return best_t, normals, labels


def _intersect_box(rays: np.ndarray, box_min: np.ndarray,
                   box_max: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Slab test of rays from the origin against an axis-aligned box.

    Returns the entry distance (inf on a miss) and the face normal that the
    ray enters through, in world coordinates.
    """
    with np.errstate(divide='ignore', invalid='ignore'):
        inv = 1.0 / rays
        t1 = box_min[None] * inv
        t2 = box_max[None] * inv
    t_near = np.minimum(t1, t2)
    t_far = np.maximum(t1, t2)
    t_near = np.nan_to_num(t_near, nan=-np.inf)
    t_far = np.nan_to_num(t_far, nan=np.inf)
    entry_axis = np.argmax(t_near, axis=1)
    t_enter = t_near.max(axis=1)
    t_exit = t_far.min(axis=1)
    hit = (t_enter <= t_exit) & (t_enter > 0)
    t_enter = np.where(hit, t_enter, np.inf)
    normals = np.zeros_like(rays)
    rows = np.arange(rays.shape[0])
    # The entered face faces the camera, so its normal opposes the ray.
    normals[rows, entry_axis] = -np.sign(rays[rows, entry_axis])
    return t_enter, normals


def _sample_room(rng: np.random.Generator) -> Dict:
    """Draw room size, camera pitch, furniture boxes and wall rectangles."""
    room = dict(
        floor_y=rng.uniform(1.2, 1.6),
        ceiling_y=-rng.uniform(1.0, 1.4),
        left_x=-rng.uniform(1.5, 2.5),
        right_x=rng.uniform(1.5, 2.5),
        back_z=rng.uniform(4.0, 6.0),
        pitch=np.deg2rad(rng.uniform(5.0, 20.0)))
    boxes = []
    for _ in range(rng.integers(1, 4)):
        width, height, length = rng.uniform([0.5, 0.4, 0.5],
                                            [1.2, 1.0, 1.2])
        x = rng.uniform(room['left_x'] + width / 2,
                        room['right_x'] - width / 2)
        z = rng.uniform(1.8, room['back_z'] - length / 2)
        box_min = np.array([x - width / 2, room['floor_y'] - height,
                            z - length / 2])
        box_max = np.array([x + width / 2, room['floor_y'], z + length / 2])
        name = FURNITURE_CLASSES[rng.integers(len(FURNITURE_CLASSES))]
        boxes.append((box_min, box_max, TOY_CLASS_IDS[name]))
    room['boxes'] = boxes
    # Rectangles on the back wall, as (x0, x1, y0, y1) in metres.
    room['picture'] = (rng.uniform(-1.2, -0.4), rng.uniform(-0.3, 0.0),
                       rng.uniform(-0.8, -0.5), rng.uniform(-0.2, 0.1))
    room['window'] = (rng.uniform(0.2, 0.5), rng.uniform(0.9, 1.3),
                      rng.uniform(-0.9, -0.6), rng.uniform(-0.1, 0.2))
    return room


def render_toy_scene(rng: np.random.Generator, height: int, width: int,
                     focal_ratio: float = 0.9) -> Dict[str, np.ndarray]:
    """Render one toy scene in the NYUv2 array layout.

    The camera frame is x right, y down, z forward. Depth is the z-distance
    in metres (not the ray length). Normals are unit vectors in the camera
    frame pointing towards the camera. Window pixels (glass) get depth 0 and
    normal 0 (invalid) but keep their label. A border of ``BORDER_PIXELS``
    pixels gets label -1 and is otherwise valid, like the unlabelled frame of
    real NYUv2 images.

    Args:
        rng (np.random.Generator): Source of the scene parameters and the
            image noise.
        height (int): Image height H in pixels.
        width (int): Image width W in pixels.
        focal_ratio (float): Focal length as a fraction of W, in pixels.
            Defaults to 0.9.

    Returns:
        dict: ``image`` float32 (H, W, 3) in [0, 1], ``label`` float32 (H, W)
        with -1 for ignore, ``depth`` float32 (H, W, 1), ``normal`` float32
        (H, W, 3).
    """
    room = _sample_room(rng)
    focal = focal_ratio * width
    v, u = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5,
                       indexing='ij')
    cam_rays = np.stack([(u - width / 2) / focal, (v - height / 2) / focal,
                         np.ones_like(u)], axis=-1).reshape(-1, 3)
    # Pitching the camera down rotates its rays about the x axis.
    cos_p, sin_p = np.cos(room['pitch']), np.sin(room['pitch'])
    cam_to_world = np.array([[1., 0., 0.], [0., cos_p, sin_p],
                             [0., -sin_p, cos_p]])
    rays = cam_rays @ cam_to_world.T

    t, normals, labels = _intersect_planes(rays, room)
    for box_min, box_max, class_id in room['boxes']:
        t_box, box_normals = _intersect_box(rays, box_min, box_max)
        closer = t_box < t
        t[closer] = t_box[closer]
        normals[closer] = box_normals[closer]
        labels[closer] = class_id

    points = rays * t[:, None]
    on_back_wall = labels == TOY_CLASS_IDS['wall']
    on_back_wall &= np.isclose(points[:, 2], room['back_z'])
    valid = np.ones(labels.shape, dtype=bool)
    for name in ('picture', 'window'):
        x0, x1, y0, y1 = room[name]
        inside = on_back_wall & (points[:, 0] > x0) & (points[:, 0] < x1)
        inside &= (points[:, 1] > y0) & (points[:, 1] < y1)
        labels[inside] = TOY_CLASS_IDS[name]
        if name == 'window':
            valid &= ~inside

    # Every ray points forward (z > 0 after the pitch) and so hits the back
    # wall or something nearer, so t is finite and the depth is t
    # because camera rays have unit z.
    depth = np.where(valid, t, 0.0)
    cam_normals = normals @ cam_to_world
    cam_normals[~valid] = 0.0

    # Lambertian shading under a light near the camera, on a per-class colour
    # with a few percent of noise, gives the network an image that matches
    # both the geometry and the classes.
    palette = np.random.default_rng(12345).uniform(0.2, 0.9, size=(13, 3))
    albedo = palette[labels]
    light = np.array([0.3, -0.5, -1.0])
    light /= np.linalg.norm(light)
    shading = 0.35 + 0.65 * np.clip(-(normals @ light), 0.0, 1.0)
    shading = np.where(valid, shading, 1.0)
    image = albedo * shading[:, None] / (1.0 + 0.05 * t[:, None])
    image += rng.normal(0.0, 0.02, size=image.shape)

    label_map = labels.reshape(height, width).astype(np.float32)
    label_map[:BORDER_PIXELS] = -1
    label_map[-BORDER_PIXELS:] = -1
    label_map[:, :BORDER_PIXELS] = -1
    label_map[:, -BORDER_PIXELS:] = -1
    return dict(
        image=np.clip(image, 0.0, 1.0).reshape(height, width,
                                               3).astype(np.float32),
        label=label_map,
        depth=depth.reshape(height, width, 1).astype(np.float32),
        normal=cam_normals.reshape(height, width, 3).astype(np.float32))


def write_toy_nyuv2(out_dir: str,
                    num_train: int = 12,
                    num_val: int = 6,
                    height: int = 48,
                    width: int = 64,
                    seed: int = 0) -> None:
    """Write a toy NYUv2 set as ``<out_dir>/{train,val}/<field>/<idx>.npy``.

    Args:
        out_dir (str): Root directory; created if missing.
        num_train (int): Number of training images. Defaults to 12.
        num_val (int): Number of validation images. Defaults to 6.
        height (int): Image height in pixels. Defaults to 48.
        width (int): Image width in pixels. Defaults to 64.
        seed (int): Seed; the same seed writes the same files. Defaults to 0.
    """
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if value < 1:
            raise ValueError(f'{name} must be at least 1, got {value}.')
    if height <= 2 * BORDER_PIXELS or width <= 2 * BORDER_PIXELS:
        raise ValueError(f'Toy images need more than {2 * BORDER_PIXELS} '
                         f'pixels per side, got {height}x{width}.')
    for split_idx, (split, count) in enumerate(
        (('train', num_train), ('val', num_val))):
        for field in ('image', 'label', 'depth', 'normal'):
            os.makedirs(osp.join(out_dir, split, field), exist_ok=True)
        print_log(f'Writing {count} toy NYUv2 {split} images to {out_dir}',
                  logger='current')
        progress = ProgressBar(count)
        for idx in range(count):
            rng = np.random.default_rng([seed, split_idx, idx])
            arrays = render_toy_scene(rng, height, width)
            for field, array in arrays.items():
                np.save(osp.join(out_dir, split, field, f'{idx}.npy'), array)
            progress.update()
