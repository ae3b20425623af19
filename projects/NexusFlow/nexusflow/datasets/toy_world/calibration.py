"""Real nuScenes sensor calibrations, read from an mmdet3d v2 info file."""
import pickle
from pathlib import Path
from typing import Dict

import numpy as np

from .styles import CAMERAS

# nuScenes cameras are 1600 x 900 pixels at full resolution.
FULL_IMAGE_SIZE = (1600, 900)


def load_calibration(info_path) -> Dict[str, dict]:
    """Read the sensor calibrations of the first keyframe of an info file.

    Args:
        info_path (str | Path): mmdet3d v2 info pickle with ``images`` (``cam2ego``,
            ``cam2img`` per camera) and ``lidar_points['lidar2ego']``.

    Returns:
        dict: sensor channel -> dict(sensor2ego=(4, 4) float64, and for cameras
        cam2img=(3, 3) float64 at 1600 x 900 pixels).

    Raises:
        FileNotFoundError: if the file does not exist.
        KeyError: if a camera or calibration key is missing.
    """
    info_path = Path(info_path)
    if not info_path.is_file():
        raise FileNotFoundError(f'calibration info file not found: {info_path}')
    with open(info_path, 'rb') as f:
        infos = pickle.load(f)
    entry = infos['data_list'][0]
    calibration = {}
    for camera in CAMERAS:
        if camera not in entry['images']:
            raise KeyError(f'{info_path} has no calibration for {camera}; expected all of '
                           f'{CAMERAS}')
        image = entry['images'][camera]
        calibration[camera] = dict(sensor2ego=np.asarray(image['cam2ego'], np.float64),
                                   cam2img=np.asarray(image['cam2img'], np.float64)[:3, :3])
    lidar2ego = entry['lidar_points'].get('lidar2ego')
    if lidar2ego is None:
        raise KeyError(f"{info_path} has no lidar_points['lidar2ego']")
    calibration['LIDAR_TOP'] = dict(sensor2ego=np.asarray(lidar2ego, np.float64))
    return calibration


def scale_intrinsics(cam2img: np.ndarray, scale: float) -> np.ndarray:
    """Scale 3x3 intrinsics for an image resized by ``scale`` in both directions."""
    scaled = cam2img.copy()
    scaled[:2] *= scale
    return scaled


def image_size(scale: float):
    """Return the ``(width, height)`` in pixels of a camera image at ``scale``."""
    return (int(round(FULL_IMAGE_SIZE[0] * scale)), int(round(FULL_IMAGE_SIZE[1] * scale)))
