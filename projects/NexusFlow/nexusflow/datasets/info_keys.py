"""The info keys NexusFlow adds to mmdet3d's nuScenes infos, and their checks."""
import copy
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from .map_geometry import MAP_CLASSES

SAMPLE_KEYS = ('scene_token', 'scene_name', 'frame_idx', 'prev', 'next',
               'city', 'can_bus', 'map_geoms')
INSTANCE_KEYS = ('instance_token', 'track_id')
CONVERTER_HINT = ('Run `python tools/create_data.py nuscenes --root-path '
                  '<nuscenes root> --version <version>` to write NexusFlow '
                  'info files')


def check_nexusflow_info(info: Mapping, source: str) -> None:
    """Raise if an info entry lacks the keys that NexusFlow's converter writes.

    Args:
        info (Mapping): One ``data_list`` entry.
        source (str): Info file path, for the message.

    Raises:
        KeyError: Naming the missing keys and the converter command.
    """
    missing = [k for k in SAMPLE_KEYS if k not in info]
    for instance in info.get('instances', []):
        missing += [f'instances[*].{k}' for k in INSTANCE_KEYS if k not in instance]
        break
    if missing:
        raise KeyError(f'{source} (sample {info.get("token", "?")}) lacks the '
                       f'NexusFlow info keys {missing}; it looks like an '
                       f'mmdet3d info file. {CONVERTER_HINT}.')


def add_nexusflow_keys(info: dict,
                       city: str,
                       map_geoms: Optional[Dict[str, List[np.ndarray]]] = None,
                       scene_token: Optional[str] = None,
                       scene_name: str = '',
                       frame_idx: int = 0,
                       prev: str = '',
                       next: str = '',
                       can_bus: Optional[Sequence[float]] = None,
                       first_track_id: int = 0) -> dict:
    """Return a copy of an mmdet3d info entry with NexusFlow's keys filled in.

    Meant for a single keyframe taken from an mmdet3d info file (tests, demos):
    a real conversion gets these keys from the devkit through
    ``tools/create_data.py``. Each box gets the instance token
    ``'<sample token>_<k>'`` and track id ``first_track_id + k``, so
    identities are not linked across frames.

    Args:
        info (dict): One mmdet3d v2 ``data_list`` entry.
        city (str): Log location of the keyframe.
        map_geoms (dict, optional): Map class -> list of (P, 2) arrays in the
            LiDAR frame, metres. Defaults to empty lists for every class.
        scene_token (str, optional): Defaults to ``'scene_of_<sample token>'``.
        scene_name (str): Defaults to ''.
        frame_idx (int): Index of the keyframe in its scene. Defaults to 0.
        prev (str): Previous sample token. Defaults to ''.
        next (str): Next sample token. Defaults to ''.
        can_bus (Sequence[float], optional): 18 values. Defaults to zeros.
        first_track_id (int): Track id of the first box. Defaults to 0.

    Returns:
        dict: The completed entry.
    """
    info = copy.deepcopy(info)
    token = info['token']
    if map_geoms is None:
        map_geoms = {name: [] for name in MAP_CLASSES}
    info.update(
        scene_token=scene_token or f'scene_of_{token}',
        scene_name=scene_name,
        frame_idx=frame_idx,
        prev=prev,
        next=next,
        city=city,
        can_bus=list(can_bus) if can_bus is not None else [0.0] * 18,
        map_geoms=map_geoms)
    for k, instance in enumerate(info.get('instances', [])):
        instance['instance_token'] = f'{token}_{k}'
        instance['track_id'] = first_track_id + k
    return info
