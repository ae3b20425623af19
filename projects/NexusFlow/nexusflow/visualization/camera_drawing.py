"""Draw 3D boxes into the camera images and tile the six cameras."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from .colors import TEXT_COLOR, track_color

# Tiling order of the mosaic: front row, then back row.
MOSAIC_CAMERA_ORDER = ('CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_FRONT_RIGHT',
                       'CAM_BACK_LEFT', 'CAM_BACK', 'CAM_BACK_RIGHT')
# Camera order of mmdet3d's nuScenes infos and of its multi-view loading.
MMDET3D_CAMERA_ORDER = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT',
                        'CAM_BACK', 'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')

# Pairs of corner indices of mmdet3d's corner order: bottom face, top face,
# vertical edges, then a cross on the front face (x1) to show the heading.
BOX_EDGES = ((0, 3), (3, 7), (7, 4), (4, 0),
             (1, 2), (2, 6), (6, 5), (5, 1),
             (0, 1), (3, 2), (7, 6), (4, 5),
             (4, 6), (5, 7))


def project_points(points: np.ndarray, lidar2img: np.ndarray) -> tuple:
    """Project LiDAR-frame points into an image.

    Args:
        points (np.ndarray): (..., 3) x, y, z in metres, LiDAR frame.
        lidar2img (np.ndarray): 4x4 (or 3x4) projection ``cam2img @
            lidar2cam`` for this image.

    Returns:
        tuple[np.ndarray, np.ndarray]: Pixels (..., 2) as (u, v), and the
        depth (...,) along the camera axis in metres. Pixels of points with
        depth <= 0 are meaningless.
    """
    lidar2img = np.asarray(lidar2img, dtype=np.float64)
    if lidar2img.shape not in ((4, 4), (3, 4)):
        raise ValueError(
            f'lidar2img must be a 4x4 or 3x4 matrix, got shape {lidar2img.shape}.')
    points = np.asarray(points, dtype=np.float64)
    homogeneous = np.concatenate([points, np.ones(points.shape[:-1] + (1,))], -1)
    projected = homogeneous @ lidar2img[:3].T
    depth = projected[..., 2]
    pixels = projected[..., :2] / np.where(np.abs(depth) < 1e-6, 1e-6, depth)[..., None]
    return pixels, depth


def draw_boxes_on_image(image: np.ndarray,
                        corners: np.ndarray,
                        lidar2img: np.ndarray,
                        track_ids: Optional[Sequence[int]] = None,
                        thickness: int = 2,
                        min_depth: float = 0.1) -> np.ndarray:
    """Draw the edges of 3D boxes projected into one camera image.

    An edge is drawn only when both of its corners lie at least
    ``min_depth`` in front of the camera, so boxes beside or behind the
    camera never produce lines folded through the image.

    Args:
        image (np.ndarray): (H, W, 3) uint8 image, changed in place.
        corners (np.ndarray): (N, 8, 3) ``LiDARInstance3DBoxes.corners`` in
            metres, LiDAR frame.
        lidar2img (np.ndarray): 4x4 projection of this image, scaled to the
            size of ``image``.
        track_ids (Sequence[int], optional): (N,) ids picking each box's
            colour; grey without them.
        thickness (int): Line width in pixels. Defaults to 2.
        min_depth (float): Minimum corner depth in metres. Defaults to 0.1.

    Returns:
        np.ndarray: ``image``.
    """
    corners = np.asarray(corners, dtype=np.float64).reshape(-1, 8, 3)
    if track_ids is None:
        track_ids = [-1] * len(corners)
    track_ids = [int(t) for t in np.asarray(track_ids).reshape(-1)]
    if len(track_ids) != len(corners):
        raise ValueError(f'got {len(track_ids)} track ids for {len(corners)} boxes.')
    pixels, depth = project_points(corners, lidar2img)
    height, width = image.shape[:2]
    # Far-off pixels overflow cv2's int coordinates; clip the segment to a
    # generous frame first.
    frame = (-width, -height, 3 * width, 3 * height)
    for box_pixels, box_depth, track_id in zip(pixels, depth, track_ids):
        color = track_color(track_id)
        for start, end in BOX_EDGES:
            if box_depth[start] < min_depth or box_depth[end] < min_depth:
                continue
            inside, p1, p2 = _clip_segment(box_pixels[start], box_pixels[end], frame)
            if inside:
                cv2.line(image, p1, p2, color, thickness, cv2.LINE_AA)
    return image


def _clip_segment(p1: np.ndarray, p2: np.ndarray, frame: tuple) -> tuple:
    p1 = np.clip(p1, -1e7, 1e7)
    p2 = np.clip(p2, -1e7, 1e7)
    x0, y0 = frame[0], frame[1]
    size = (frame[2] - x0, frame[3] - y0)
    inside, q1, q2 = cv2.clipLine(
        (0, 0, int(size[0]), int(size[1])),
        (int(round(p1[0] - x0)), int(round(p1[1] - y0))),
        (int(round(p2[0] - x0)), int(round(p2[1] - y0))))
    return inside, (q1[0] + x0, q1[1] + y0), (q2[0] + x0, q2[1] + y0)


def camera_names_from_paths(img_paths: Sequence[str]) -> Optional[List[str]]:
    """Return the camera channel found in each image path, or None.

    Args:
        img_paths (Sequence[str]): Image paths, one per camera, e.g. the
            nuScenes file names ``<log>__CAM_FRONT__<timestamp>.jpg``.

    Returns:
        list[str] | None: One name per path, or None when any path contains
        no name of :data:`MOSAIC_CAMERA_ORDER`.
    """
    names = []
    # Longest first, so CAM_FRONT_LEFT is not read as CAM_FRONT.
    candidates = sorted(MOSAIC_CAMERA_ORDER, key=len, reverse=True)
    for path in img_paths:
        base = osp.basename(str(path))
        found = next((name for name in candidates if name in base), None)
        if found is None:
            return None
        names.append(found)
    return names


def tile_cameras(images: Sequence[np.ndarray],
                 camera_names: Optional[Sequence[str]] = None,
                 tile_width: int = 320,
                 label: bool = True) -> np.ndarray:
    """Tile six camera images 3 x 2: the front cameras above, the back cameras below.

    Args:
        images (Sequence[np.ndarray]): (H, W, 3) uint8 RGB images.
        camera_names (Sequence[str], optional): Camera channel of each image.
            Defaults to mmdet3d's order :data:`MMDET3D_CAMERA_ORDER` when
            there are six images.
        tile_width (int): Width of each tile in pixels; the height follows
            the first image's aspect ratio. Defaults to 320.
        label (bool): Whether to write the camera name on each tile.
            Defaults to True.

    Returns:
        np.ndarray: (2 * tile_h, 3 * tile_width, 3) uint8 mosaic. A camera
        that is missing leaves its tile black.
    """
    if len(images) == 0:
        raise ValueError('tile_cameras needs at least one image, got none.')
    if camera_names is None:
        if len(images) != len(MMDET3D_CAMERA_ORDER):
            raise ValueError(
                f'camera_names are required unless there are '
                f'{len(MMDET3D_CAMERA_ORDER)} images, got {len(images)} images.')
        camera_names = MMDET3D_CAMERA_ORDER
    if len(camera_names) != len(images):
        raise ValueError(
            f'got {len(camera_names)} camera names for {len(images)} images.')
    by_name: Dict[str, np.ndarray] = dict(zip(camera_names, images))

    first = np.asarray(images[0])
    tile_height = max(1, int(round(tile_width * first.shape[0] / first.shape[1])))
    mosaic = np.zeros((2 * tile_height, 3 * tile_width, 3), dtype=np.uint8)
    for slot, name in enumerate(MOSAIC_CAMERA_ORDER):
        if name not in by_name:
            continue
        tile = cv2.resize(np.asarray(by_name[name]), (tile_width, tile_height),
                          interpolation=cv2.INTER_AREA)
        row, col = divmod(slot, 3)
        mosaic[row * tile_height:(row + 1) * tile_height,
               col * tile_width:(col + 1) * tile_width] = tile
        if label:
            origin = (col * tile_width + 4, row * tile_height + 14)
            cv2.putText(mosaic, name, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (255, 255, 255), 2, cv2.LINE_AA)
            cv2.putText(mosaic, name, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        TEXT_COLOR, 1, cv2.LINE_AA)
    return mosaic
