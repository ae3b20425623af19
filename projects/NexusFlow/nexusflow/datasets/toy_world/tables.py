"""Static nuScenes tables and pose helpers for the toy dataset writer."""
from typing import Dict, List

import numpy as np
from scipy.spatial.transform import Rotation

from .styles import ATTRIBUTES, CAMERAS, LIDAR, OBJECT_CLASSES

# nuScenes visibility bins: token, level, share of the box visible in the cameras.
VISIBILITY_LEVELS = (('1', 'v0-40', 0.0), ('2', 'v40-60', 0.4), ('3', 'v60-80', 0.6),
                     ('4', 'v80-100', 0.8))


def yaw_to_quaternion(yaw: float) -> List[float]:
    """Return the nuScenes ``[w, x, y, z]`` quaternion of a rotation about +z by ``yaw`` rad."""
    return [float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2))]


def matrix_to_quaternion(rotation: np.ndarray) -> List[float]:
    """Return the ``[w, x, y, z]`` quaternion of a (3, 3) rotation, orthonormalised first."""
    x, y, z, w = Rotation.from_matrix(rotation).as_quat()
    return [float(w), float(x), float(y), float(z)]


def quaternion_to_matrix(quaternion: List[float]) -> np.ndarray:
    """Return the (3, 3) rotation of a ``[w, x, y, z]`` quaternion."""
    w, x, y, z = quaternion
    return Rotation.from_quat([x, y, z, w]).as_matrix()


def pose_matrix(translation, quaternion) -> np.ndarray:
    """Return the (4, 4) transform of a translation (metres) and ``[w, x, y, z]`` rotation."""
    matrix = np.eye(4)
    matrix[:3, :3] = quaternion_to_matrix(quaternion)
    matrix[:3, 3] = translation
    return matrix


def invert_rigid(transform: np.ndarray) -> np.ndarray:
    """Invert a (4, 4) rotation-plus-translation transform without a general inverse."""
    inverse = np.eye(4)
    inverse[:3, :3] = transform[:3, :3].T
    inverse[:3, 3] = -transform[:3, :3].T @ transform[:3, 3]
    return inverse


def visibility_token(ratio: float) -> str:
    """Return the visibility token of a visible share in [0, 1]."""
    token = VISIBILITY_LEVELS[0][0]
    for level_token, _, lower in VISIBILITY_LEVELS:
        if ratio >= lower:
            token = level_token
    return token


def static_tables(make_token) -> Dict[str, list]:
    """Build the category, attribute, visibility and sensor tables.

    Args:
        make_token (callable): returns a fresh token given a record kind.

    Returns:
        dict: table name -> records.
    """
    category = [dict(token=make_token('category'), name=spec.category,
                     description=f'toy world {name}')
                for name, spec in OBJECT_CLASSES.items()]
    attribute = [dict(token=make_token('attribute'), name=name,
                      description=f'toy world {name}') for name in ATTRIBUTES]
    visibility = [dict(token=token, level=level,
                       description=f'visible share of the box in the cameras: {level[1:]} %')
                  for token, level, _ in VISIBILITY_LEVELS]
    sensor = [dict(token=make_token('sensor'), channel=channel, modality='camera')
              for channel in CAMERAS]
    sensor.append(dict(token=make_token('sensor'), channel=LIDAR, modality='lidar'))
    return dict(category=category, attribute=attribute, visibility=visibility, sensor=sensor)
