"""Write NexusFlow's nuScenes info files (mmdet3d v2 format plus our keys).

Run through ``tools/create_data.py nuscenes`` or call
:func:`create_nuscenes_infos` directly.
"""
import json
import multiprocessing
import os
import os.path as osp
import pickle
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from ..map_geometry import MAP_CLASSES, MapGeometryIndex
from .sample_info import (DETECTION_CLASSES, build_sample_info, pose_matrix,
                          scene_sample_tokens)

NEXUSFLOW_INFO_VERSION = 1
CAN_BUS_DIM = 18
OFFICIAL_SPLITS = {
    'v1.0-trainval': ('train', 'val'),
    'v1.0-mini': ('mini_train', 'mini_val'),
    'v1.0-test': ('test', ),
}

# Shared with forked workers so that the devkit tables are not copied per task.
_WORKER_STATE: dict = {}


def _custom_split_name(available: Sequence[str], split: str,
                       requested: Optional[str], path: str) -> str:
    candidates = [requested] if requested else [split, f'toy_{split}']
    for name in candidates:
        if name in available:
            return name
    raise KeyError(f'{path} has none of the split names {candidates}; it has '
                   f'{sorted(available)}. Pass the names with --train-split '
                   'and --val-split.')


def resolve_split_scenes(nusc, root_path: str, version: str,
                         split_names: Optional[Mapping[str, str]] = None
                         ) -> Dict[str, List[str]]:
    """Return ``dict(split -> scene names)`` for the output info files.

    A custom ``splits.json`` wins over the official split: first
    ``<root>/<version>/splits.json`` (where devkit 1.2's
    ``get_scenes_of_custom_split`` reads it), then ``<root>/splits.json``.
    Its ``train`` and ``val`` lists are taken from the keys in
    ``split_names``, by default ``train`` / ``val`` or else ``toy_train`` /
    ``toy_val`` (the toy world's names, because the devkit reserves the
    official names).

    Args:
        nusc (NuScenes): The devkit database.
        root_path (str): nuScenes root.
        version (str): Devkit version folder.
        split_names (Mapping[str, str], optional): ``dict(train=..., val=...)``
            keys of the custom ``splits.json``.

    Returns:
        dict: ``train`` and ``val`` (or ``test`` for v1.0-test) -> scene names.
    """
    from nuscenes.utils.splits import create_splits_scenes

    split_names = dict(split_names or {})
    for path in (osp.join(root_path, version, 'splits.json'),
                 osp.join(root_path, 'splits.json')):
        if not osp.isfile(path):
            continue
        print_log(f'Using the custom split in {path}.', logger='current')
        with open(path) as f:
            custom = json.load(f)
        return {
            split: list(custom[_custom_split_name(custom, split,
                                                  split_names.get(split), path)])
            for split in ('train', 'val')
        }

    if version not in OFFICIAL_SPLITS:
        raise ValueError(f"Unknown nuScenes version '{version}' without a "
                         f'splits.json; expected one of {sorted(OFFICIAL_SPLITS)}.')
    official = create_splits_scenes()
    names = OFFICIAL_SPLITS[version]
    return {('val' if n.endswith('val') else 'train' if n.endswith('train')
             else 'test'): official[n] for n in names}


class CanBusReader:
    """Read the 18-value CAN bus vector of a keyframe.

    Layout: global position (3, m), orientation quaternion (4), acceleration
    (3, m/s^2), rotation rate (3, rad/s), velocity (3, m/s) of the last
    ``pose`` message at or before the keyframe, then the ego yaw from
    ``ego2global`` in radians and in degrees. Without ``<root>/can_bus``, or
    for scenes that the devkit lists as having no CAN data, the vector is
    zeros; :func:`create_nuscenes_infos` logs one warning with the count.

    Args:
        root_path (str): nuScenes root.
    """

    def __init__(self, root_path: str) -> None:
        self.api = None
        self.missing_scenes = set()
        self.root_available = osp.isdir(osp.join(root_path, 'can_bus'))
        if self.root_available:
            from nuscenes.can_bus.can_bus_api import NuScenesCanBus
            self.api = NuScenesCanBus(dataroot=root_path)
        self._cache: Dict[str, Optional[list]] = {}

    def _messages(self, scene_name: str) -> Optional[list]:
        if scene_name not in self._cache:
            messages = None
            if self.api is not None and int(scene_name[-4:]) not in self.api.can_blacklist:
                path = osp.join(self.api.can_dir, f'{scene_name}_pose.json')
                if osp.isfile(path):
                    messages = self.api.get_messages(scene_name, 'pose',
                                                     print_warnings=False)
            self._cache[scene_name] = messages
        return self._cache[scene_name]

    def read(self, scene_name: str, timestamp_us: int,
             ego2global: np.ndarray) -> np.ndarray:
        """Return the (18,) vector for a keyframe at ``timestamp_us`` (microseconds)."""
        vector = np.zeros(CAN_BUS_DIM, dtype=np.float64)
        messages = self._messages(scene_name)
        if not messages:
            self.missing_scenes.add(scene_name)
            return vector
        times = np.array([m['utime'] for m in messages])
        k = max(int(np.searchsorted(times, timestamp_us, side='right')) - 1, 0)
        message = messages[k]
        vector[:16] = np.concatenate([
            message['pos'], message['orientation'], message['accel'],
            message['rotation_rate'], message['vel']])
        yaw = float(np.arctan2(ego2global[1][0], ego2global[0][0]))
        vector[16] = yaw
        vector[17] = np.degrees(yaw)
        return vector


def _city_map_index(root_path: str, city: str) -> MapGeometryIndex:
    from nuscenes.map_expansion.map_api import NuScenesMap
    path = osp.join(root_path, 'maps', 'expansion', f'{city}.json')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Map expansion file {path} not found; download the nuScenes map '
            f'expansion (v1.3) into {osp.join(root_path, "maps", "expansion")}.')
    return MapGeometryIndex.from_nusc_map(NuScenesMap(dataroot=root_path, map_name=city))


def _convert_one(sample_token: str) -> dict:
    state = _WORKER_STATE
    nusc = state['nusc']
    sample = nusc.get('sample', sample_token)
    scene = nusc.get('scene', sample['scene_token'])
    city = nusc.get('log', scene['log_token'])['location']
    lidar = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
    ego = nusc.get('ego_pose', lidar['ego_pose_token'])
    can_bus = state['can_bus'].read(scene['name'], sample['timestamp'],
                                    pose_matrix(ego['rotation'], ego['translation']))
    info = build_sample_info(
        nusc, sample, state['map_indexes'][city], state['map_patch_range'],
        can_bus, max_sweeps=state['max_sweeps'],
        with_cam_instances=state['with_cam_instances'])
    info['_can_bus_missing'] = scene['name'] in state['can_bus'].missing_scenes
    return info


def _run_conversion(sample_tokens: List[str], workers: int) -> List[dict]:
    progress = ProgressBar(len(sample_tokens))
    results = []
    if workers <= 1:
        for token in sample_tokens:
            results.append(_convert_one(token))
            progress.update()
    else:
        # fork shares the loaded devkit tables and map indexes with workers.
        context = multiprocessing.get_context('fork')
        with context.Pool(workers) as pool:
            for info in pool.imap(_convert_one, sample_tokens, chunksize=16):
                results.append(info)
                progress.update()
    print()
    return results


def _number_infos(infos: List[dict]) -> None:
    """Set ``sample_idx``, ``frame_idx`` and integer ``track_id`` over one file."""
    track_ids: Dict[str, int] = {}
    frame_counter: Dict[str, int] = {}
    for index, info in enumerate(infos):
        info['sample_idx'] = index
        info['frame_idx'] = frame_counter.get(info['scene_token'], 0)
        frame_counter[info['scene_token']] = info['frame_idx'] + 1
        for instance in info['instances']:
            token = instance['instance_token']
            instance['track_id'] = track_ids.setdefault(token, len(track_ids))


def create_nuscenes_infos(root_path: str,
                          version: str = 'v1.0-trainval',
                          out_dir: Optional[str] = None,
                          extra_tag: str = 'nexusflow',
                          max_sweeps: int = 0,
                          map_range: Sequence[float] = (-51.2, -51.2, 51.2, 51.2),
                          map_margin: float = 2.0,
                          workers: int = 1,
                          with_cam_instances: bool = True,
                          split_names: Optional[Mapping[str, str]] = None
                          ) -> Dict[str, str]:
    """Convert a nuScenes release into ``<extra_tag>_infos_<split>.pkl`` files.

    Args:
        root_path (str): nuScenes root (contains ``<version>/``, ``samples/``,
            ``maps/expansion/`` and optionally ``can_bus/``).
        version (str): Devkit version folder. Defaults to 'v1.0-trainval'.
        out_dir (str, optional): Output folder. Defaults to ``root_path``.
        extra_tag (str): Prefix of the file names. Defaults to 'nexusflow'.
        max_sweeps (int): Previous LiDAR sweeps listed per keyframe.
            Defaults to 0.
        map_range (Sequence[float]): ``[x_min, y_min, x_max, y_max]`` of the
            map patch in the LiDAR frame, metres. Defaults to +-51.2 m.
        map_margin (float): Extra metres around ``map_range``, so that clip
            edges of polygons fall outside the BEV grid. Defaults to 2.0.
        workers (int): Worker processes (fork). Defaults to 1.
        with_cam_instances (bool): Build per-camera 2D boxes. Defaults to True.
        split_names (Mapping[str, str], optional): Keys of a custom
            ``splits.json`` for ``train`` and ``val``; see
            :func:`resolve_split_scenes`.

    Returns:
        dict: Split name -> path of the written info file.
    """
    from nuscenes import NuScenes

    if not osp.isdir(osp.join(root_path, version)):
        raise FileNotFoundError(
            f'nuScenes tables {osp.join(root_path, version)} not found; '
            'pass --root-path with the dataset root and --version with the '
            'folder name of the tables.')
    out_dir = out_dir or root_path
    os.makedirs(out_dir, exist_ok=True)

    nusc = NuScenes(version=version, dataroot=root_path, verbose=False)
    split_scenes = resolve_split_scenes(nusc, root_path, version, split_names)
    scenes_by_name = {s['name']: s for s in nusc.scene}
    for split, names in split_scenes.items():
        unknown = [n for n in names if n not in scenes_by_name]
        if unknown:
            raise KeyError(f'Split {split} lists scenes {unknown[:5]} that are '
                           f'not in {version}.')

    cities = sorted({nusc.get('log', scenes_by_name[n]['log_token'])['location']
                     for names in split_scenes.values() for n in names})
    print_log(f'Indexing the map expansion of {cities}.', logger='current')
    _WORKER_STATE.update(
        nusc=nusc,
        can_bus=CanBusReader(root_path),
        map_indexes={c: _city_map_index(root_path, c) for c in cities},
        map_patch_range=[map_range[0] - map_margin, map_range[1] - map_margin,
                         map_range[2] + map_margin, map_range[3] + map_margin],
        max_sweeps=max_sweeps,
        with_cam_instances=with_cam_instances)

    metainfo = dict(
        categories={name: i for i, name in enumerate(DETECTION_CLASSES)},
        dataset='nuscenes',
        version=version,
        info_version='1.1',
        nexusflow_info_version=NEXUSFLOW_INFO_VERSION,
        map_classes=list(MAP_CLASSES))

    paths = {}
    missing_can_scenes = set()
    try:
        for split, names in split_scenes.items():
            # Scenes in table order, frames in time order: the samplers rely on it.
            requested_scenes = set(names)
            tokens = [t for scene in nusc.scene if scene['name'] in requested_scenes
                      for t in scene_sample_tokens(nusc, scene)]
            print_log(f'Converting {len(tokens)} {split} samples of '
                      f'{len(requested_scenes)} scenes.', logger='current')
            infos = _run_conversion(tokens, workers)
            for info in infos:
                if info.pop('_can_bus_missing'):
                    missing_can_scenes.add(info['scene_name'])
                if split == 'test':
                    info['instances'] = []
                    info['cam_instances'] = {}
            _number_infos(infos)
            path = osp.join(out_dir, f'{extra_tag}_infos_{split}.pkl')
            with open(path, 'wb') as f:
                pickle.dump(dict(metainfo=metainfo, data_list=infos), f)
            print_log(f'Wrote {len(infos)} samples to {path}.', logger='current')
            paths[split] = path
    finally:
        _WORKER_STATE.clear()

    if missing_can_scenes:
        reason = ('is absent' if not osp.isdir(osp.join(root_path, 'can_bus'))
                  else 'has no pose messages for some scenes')
        print_log(f'The CAN bus expansion {reason}: can_bus is zeros for '
                  f'{len(missing_can_scenes)} scene(s).', logger='current',
                  level=30)
    return paths
