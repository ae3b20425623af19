"""A real nuScenes keyframe from an mmdet3d v2 info file, adapted to NexusFlow's info keys.

mmdet3d's demo keyframe comes without NexusFlow's keys and without the map
expansion. Only the drivable-area polygons of each map are available as
separate GeoJSON files, so the adapted keyframe carries the ``drivable`` map
class and leaves ``divider``, ``ped_crossing`` and ``contour`` empty.
"""
import glob
import json
import os.path as osp
import pickle
from typing import Dict, Sequence

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from .info_keys import add_nexusflow_keys
from .map_geometry import MapGeometryIndex, extract_map_geoms

# Folders below the root of the real nuScenes pieces.
KEYFRAME_SUBDIR = osp.join('mmdetection3d', 'demo', 'data', 'nuscenes')
DRIVABLE_SUBDIR = 'drivable_area'
DRIVABLE_FILES = {
    'boston-seaport': 'boston_drivable_area.json',
    'singapore-onenorth': 'onenorth_drivable_area.json',
    'singapore-hollandvillage': 'holland_village_drivable_area.json',
    'singapore-queenstown': 'queenstown_drivable_area.json',
}
# Map classes that the drivable-area files cannot provide.
MISSING_MAP_CLASSES = ('divider', 'ped_crossing', 'contour')


def find_info_file(keyframe_dir: str) -> str:
    """Return the path of the single ``.pkl`` info file in ``keyframe_dir``.

    Raises:
        FileNotFoundError: If the folder or its info file is missing.
        ValueError: If the folder contains several ``.pkl`` files.
    """
    if not osp.isdir(keyframe_dir):
        raise FileNotFoundError(f'Keyframe folder not found: {keyframe_dir}')
    paths = sorted(glob.glob(osp.join(keyframe_dir, '*.pkl')))
    if not paths:
        raise FileNotFoundError(
            f'No mmdet3d info file (*.pkl) found in {keyframe_dir}.')
    if len(paths) > 1:
        raise ValueError(f'Expected one info file in {keyframe_dir}; found '
                         f'{[osp.basename(p) for p in paths]}.')
    return paths[0]


def load_info_file(path: str) -> dict:
    """Load an mmdet3d v2 info file and check its ``metainfo`` and ``data_list``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Info file not found: {path}')
    with open(path, 'rb') as f:
        infos = pickle.load(f)
    if not isinstance(infos, dict) or not {'metainfo', 'data_list'} <= set(infos):
        raise ValueError(f'{path} is not an mmdet3d v2 info file; expected a '
                         'dict with metainfo and data_list.')
    if not infos['data_list']:
        raise ValueError(f'{path} has an empty data_list; expected at least one keyframe.')
    return infos


def load_drivable_area(path: str) -> BaseGeometry:
    """Load a GeoJSON drivable area in global map coordinates (metres), repaired by ``buffer(0)``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Drivable-area file not found: {path}')
    with open(path) as f:
        area = shape(json.load(f)).buffer(0)
    if area.is_empty:
        raise ValueError(f'{path} contains no drivable-area polygon.')
    return area


def drivable_area_path(realdata_root: str, city: str) -> str:
    """Return the drivable-area GeoJSON of ``city`` below ``realdata_root``."""
    if city not in DRIVABLE_FILES:
        raise ValueError(f'No drivable-area file for city {city!r}; expected '
                         f'one of {sorted(DRIVABLE_FILES)}.')
    return osp.join(realdata_root, DRIVABLE_SUBDIR, DRIVABLE_FILES[city])


def lidar2global(info: dict) -> np.ndarray:
    """Return the (4, 4) LiDAR pose ``ego2global @ lidar2ego`` of an info entry."""
    return (np.asarray(info['ego2global'], dtype=np.float64)
            @ np.asarray(info['lidar_points']['lidar2ego'], dtype=np.float64))


def adapt_keyframe(info: dict, city: str, drivable_area: BaseGeometry,
                   patch_range: Sequence[float], first_track_id: int = 0) -> dict:
    """Return a copy of one mmdet3d info entry with NexusFlow's keys and the drivable map.

    Args:
        info (dict): One ``data_list`` entry of an mmdet3d v2 info file.
        city (str): Log location of the keyframe.
        drivable_area (BaseGeometry): The city's drivable area in global
            map coordinates, metres.
        patch_range (Sequence[float]): ``[x_min, y_min, x_max, y_max]`` of
            the map patch in the LiDAR frame, metres. Take it a few metres
            larger than the BEV range so that clipped edges stay off the grid.
        first_track_id (int): Track id of the first box. Defaults to 0.

    Returns:
        dict: The entry with ``map_geoms`` holding the drivable rings and
        empty lists for ``MISSING_MAP_CLASSES``.
    """
    index = MapGeometryIndex({'drivable': list(shapely.get_parts(drivable_area))})
    map_geoms: Dict[str, list] = extract_map_geoms(index, lidar2global(info),
                                                   patch_range)
    return add_nexusflow_keys(info, city=city, map_geoms=map_geoms,
                              first_track_id=first_track_id)


def write_adapted_info_file(info_path: str, drivable_path: str, city: str,
                            patch_range: Sequence[float], out_path: str) -> str:
    """Adapt every keyframe of an mmdet3d info file and write a NexusFlow info file.

    Each keyframe becomes a scene of its own, and track ids stay unique
    across the file.

    Args:
        info_path (str): mmdet3d v2 info file.
        drivable_path (str): GeoJSON drivable area of ``city``.
        city (str): Log location of all keyframes in the file.
        patch_range (Sequence[float]): See :func:`adapt_keyframe`.
        out_path (str): Output ``.pkl``.

    Returns:
        str: ``out_path``.
    """
    infos = load_info_file(info_path)
    area = load_drivable_area(drivable_path)
    data_list = []
    first_track_id = 0
    for info in infos['data_list']:
        data_list.append(adapt_keyframe(info, city, area, patch_range, first_track_id))
        first_track_id += len(info.get('instances', []))
    with open(out_path, 'wb') as f:
        pickle.dump(dict(metainfo=infos['metainfo'], data_list=data_list), f)
    return out_path
