"""Write the toy world as a nuScenes dataset folder that nuscenes-devkit 1.2 reads.

Layout of ``out_dir``::

    <version>/*.json            the 13 nuScenes tables
    <version>/splits.json       custom splits (read by nuscenes.utils.splits)
    maps/<token>.png            drivable-area mask per city, 0.1 m per pixel
    maps/expansion/<city>.json  map expansion per city
    samples/CAM_*/*.jpg         six camera images per keyframe
    samples/LIDAR_TOP/*.pcd.bin float32 (x, y, z, intensity, ring) points
"""
import json
from pathlib import Path
from typing import Dict, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from .agents import plan_agents, plan_ego
from .calibration import image_size, load_calibration, scale_intrinsics
from .ground_texture import GroundTexture
from .lidar import simulate_sweep
from .map_expansion import build_map_expansion
from .renderer import Box, CameraRenderer
from .roads import build_road_network
from .styles import CAMERAS, CITIES, CITY_STYLES, LIDAR, OBJECT_CLASSES
from .tables import (invert_rigid, matrix_to_quaternion, pose_matrix, static_tables, visibility_token,
                     yaw_to_quaternion)
from .tokens import TokenFactory

DEFAULT_CALIBRATION = ('/work/shared/realdata/nuscenes/mmdetection3d/demo/data/nuscenes/'
                       'n015-2018-07-24-11-22-45+0800.pkl')
TABLE_NAMES = ('category', 'attribute', 'visibility', 'instance', 'sensor', 'calibrated_sensor',
               'ego_pose', 'log', 'scene', 'sample', 'sample_data', 'sample_annotation', 'map')
# Keyframes are 0.5 s apart (2 Hz), timestamps are in microseconds.
KEYFRAME_INTERVAL_US = 500_000
FIRST_TIMESTAMP_US = 1_533_000_000_000_000
# Resolution in metres per pixel that NuScenes() assumes for the map PNGs.
MAP_MASK_RESOLUTION_M = 0.1


def split_names(city: str = None) -> Dict[str, str]:
    """Return the custom split names, per city when ``city`` is given.

    The devkit treats ``train``, ``val``, ``mini_train``, ``mini_val`` ... as the fixed
    official scene lists, so the toy splits carry a ``toy_`` prefix.
    """
    suffix = '' if city is None else f'_{city}'
    return dict(train=f'toy_train{suffix}', val=f'toy_val{suffix}')


def generate_toy_nuscenes(out_dir, version: str = 'v1.0-mini', seed: int = 0,
                          num_scenes: int = 8, num_frames: int = 20, img_scale: float = 0.1,
                          cities: Sequence[str] = ('boston-seaport', 'singapore-onenorth'),
                          calibration_file=DEFAULT_CALIBRATION,
                          object_counts: Dict[str, int] = None, val_fraction: float = 0.25,
                          annotation_range: float = 50.0, texture_resolution: float = 0.2,
                          jpeg_quality: int = 95, image_noise: float = 2.0) -> Path:
    """Generate the toy world and write it in the nuScenes on-disk format.

    Args:
        out_dir (str | Path): dataroot to write; created if missing.
        version (str): table folder name, e.g. ``'v1.0-mini'``.
        seed (int): random seed; the same seed writes byte-identical tables.
        num_scenes (int): scenes per city.
        num_frames (int): keyframes per scene (2 Hz).
        img_scale (float): camera image size relative to 1600 x 900.
        cities (sequence[str]): nuScenes map names used as cities.
        calibration_file (str | Path): mmdet3d v2 info pickle with real calibrations.
        object_counts (dict, optional): class -> agents to place per scene.
        val_fraction (float): share of each city's scenes in the validation split.
        annotation_range (float): boxes farther than this from the ego, in metres, are
            not annotated in that keyframe.
        texture_resolution (float): ground texture cell size in metres.
        jpeg_quality (int): JPEG quality of the camera images, 0-100.
        image_noise (float): standard deviation of the pixel noise, in grey levels.

    Returns:
        Path: the dataroot.
    """
    if version.split('-')[0] != 'v1.0' or '-' not in version:
        raise ValueError(f'version must look like v1.0-<name>, got {version!r}')
    unknown = [city for city in cities if city not in CITIES]
    if unknown or not cities:
        raise ValueError(f'cities must be a non-empty subset of {CITIES}, got {list(cities)}')
    if len(set(cities)) != len(cities):
        raise ValueError(f'cities must not repeat, got {list(cities)}')
    if num_scenes < 1 or num_frames < 2:
        raise ValueError(f'need num_scenes >= 1 and num_frames >= 2, got {num_scenes} and '
                         f'{num_frames}')
    if not 0.0 < img_scale <= 1.0:
        raise ValueError(f'img_scale must be in (0, 1], got {img_scale}')

    out_dir = Path(out_dir)
    table_dir = out_dir / version
    for folder in [table_dir, out_dir / 'maps' / 'expansion', out_dir / 'samples' / LIDAR]:
        folder.mkdir(parents=True, exist_ok=True)
    for camera in CAMERAS:
        (out_dir / 'samples' / camera).mkdir(parents=True, exist_ok=True)

    make_token = TokenFactory(seed)
    tables = {name: [] for name in TABLE_NAMES}
    tables.update(static_tables(make_token))
    calibration = load_calibration(calibration_file)
    seeds = np.random.SeedSequence(seed).spawn(len(cities))

    splits = {}
    progress = ProgressBar(len(cities) * num_scenes)
    for city_index, (city, city_seed) in enumerate(zip(cities, seeds)):
        writer = _CityWriter(city, city_index, out_dir, tables, make_token, calibration,
                             city_seed,
                             img_scale, object_counts, annotation_range, texture_resolution,
                             jpeg_quality, image_noise)
        scene_names = []
        for scene_index in range(num_scenes):
            scene_names.append(writer.write_scene(scene_index, num_frames))
            progress.update()
        num_val = max(1, int(round(num_scenes * val_fraction))) if num_scenes > 1 else 0
        names = split_names(city)
        splits[names['train']] = scene_names[:num_scenes - num_val]
        splits[names['val']] = scene_names[num_scenes - num_val:]

    combined = split_names()
    all_splits = {combined['val']: [n for c in cities for n in splits[split_names(c)['val']]],
                  combined['train']: [n for c in cities for n in splits[split_names(c)['train']]]}
    if not all_splits[combined['val']]:
        all_splits = {combined['train']: all_splits[combined['train']], combined['val']: []}
    all_splits.update(splits)

    for name in TABLE_NAMES:
        _write_json(table_dir / f'{name}.json', tables[name])
    _write_json(table_dir / 'splits.json', all_splits)
    print_log(f'wrote {len(tables["scene"])} scenes, {len(tables["sample"])} samples and '
              f'{len(tables["sample_annotation"])} annotations to {out_dir}', logger='current')
    return out_dir


def _write_json(path: Path, content):
    with open(path, 'w') as f:
        json.dump(content, f, indent=0)


class _CityWriter:
    """Builds one city's map and writes its scenes into the shared tables."""

    def __init__(self, city, city_index, out_dir, tables, make_token, calibration, seed_sequence,
                 img_scale, object_counts, annotation_range, texture_resolution, jpeg_quality,
                 image_noise):
        self.city = city
        self.city_index = city_index
        self.out_dir = out_dir
        self.tables = tables
        self.make_token = make_token
        self.object_counts = object_counts
        self.annotation_range = annotation_range
        self.jpeg_quality = jpeg_quality
        self.image_noise = image_noise
        self.style = CITY_STYLES[city]
        map_seed, self.scene_seed = seed_sequence.spawn(2)

        self.network = build_road_network(self.style.layout, self.style.left_hand_traffic)
        self.texture = GroundTexture(self.network, self.style, texture_resolution,
                                     np.random.default_rng(map_seed))
        self._write_map()

        self.sensor_tokens = {s['channel']: s['token'] for s in tables['sensor']}
        self.category_tokens = {spec.category: c['token'] for spec, c in zip(
            OBJECT_CLASSES.values(), tables['category'])}
        self.attribute_tokens = {a['name']: a['token'] for a in tables['attribute']}
        self.size = image_size(img_scale)
        self.calibrated = {}
        self.sensor2ego = {}
        self.renderers = {}
        for channel in CAMERAS + (LIDAR,):
            raw = calibration[channel]['sensor2ego']
            rotation = matrix_to_quaternion(raw[:3, :3])
            translation = [float(v) for v in raw[:3, 3]]
            record = dict(token=make_token('calibrated_sensor'),
                          sensor_token=self.sensor_tokens[channel], translation=translation,
                          rotation=rotation, camera_intrinsic=[])
            self.sensor2ego[channel] = pose_matrix(translation, rotation)
            if channel != LIDAR:
                intrinsic = scale_intrinsics(calibration[channel]['cam2img'], img_scale)
                record['camera_intrinsic'] = intrinsic.tolist()
                self.renderers[channel] = CameraRenderer(self.sensor2ego[channel], intrinsic,
                                                         self.size, self.style)
            tables['calibrated_sensor'].append(record)
            self.calibrated[channel] = record['token']

    def _write_map(self):
        self.log_token = self.make_token('log')
        map_token = self.make_token('map')
        self.log_name = f'n{self.city_index:03d}-toy-{self.city}'
        self.tables['log'].append(dict(token=self.log_token, logfile=self.log_name,
                                       vehicle='toy-ego', date_captured='2018-08-01',
                                       location=self.city, map_token=map_token))
        filename = f'maps/{map_token}.png'
        self.tables['map'].append(dict(token=map_token, log_tokens=[self.log_token],
                                       category='semantic_prior', filename=filename))
        size = int(np.ceil(self.network.canvas_size / MAP_MASK_RESOLUTION_M))
        mask = np.zeros((size, size), np.uint8)
        parts = getattr(self.network.drivable, 'geoms', [self.network.drivable])
        for polygon in parts:
            rings = [polygon.exterior.coords] + [ring.coords for ring in polygon.interiors]
            cv2.fillPoly(mask, [np.round(np.asarray(r) / MAP_MASK_RESOLUTION_M).astype(np.int32)
                                for r in rings], 255)
        # Row 0 of a nuScenes map mask is the largest y.
        cv2.imwrite(str(self.out_dir / filename), mask[::-1])
        expansion = build_map_expansion(self.network, self.make_token)
        _write_json(self.out_dir / 'maps' / 'expansion' / f'{self.city}.json', expansion)

    def write_scene(self, scene_index: int, num_frames: int) -> str:
        """Plan and write one scene; return its name."""
        rng = np.random.default_rng(self.scene_seed.spawn(1)[0])
        times = np.arange(num_frames) * KEYFRAME_INTERVAL_US / 1e6
        ego = plan_ego(self.network, rng, times)
        agents = plan_agents(self.network, ego, rng, times, self.object_counts,
                             max_range=self.annotation_range * 0.8)
        scene_token = self.make_token('scene')
        name = f'scene-{len(self.tables["scene"]) + 1:04d}'
        first_us = FIRST_TIMESTAMP_US + (self.city_index * 1000 + scene_index) * 10 ** 8

        sample_tokens = [self.make_token('sample') for _ in range(num_frames)]
        track_annotations = [[] for _ in agents]
        previous_data = {channel: '' for channel in CAMERAS + (LIDAR,)}
        for frame in range(num_frames):
            timestamp = first_us + frame * KEYFRAME_INTERVAL_US
            self.tables['sample'].append(dict(
                token=sample_tokens[frame], timestamp=timestamp, scene_token=scene_token,
                prev=sample_tokens[frame - 1] if frame > 0 else '',
                next=sample_tokens[frame + 1] if frame + 1 < num_frames else ''))
            data_tokens = self._write_frame(rng, ego, agents, frame, sample_tokens[frame],
                                            timestamp, track_annotations, previous_data)
            previous_data = data_tokens

        self._link_tracks(agents, track_annotations)
        self.tables['scene'].append(dict(
            token=scene_token, log_token=self.log_token, nbr_samples=num_frames,
            first_sample_token=sample_tokens[0], last_sample_token=sample_tokens[-1], name=name,
            description=f'toy world, {self.city}, {self.style.layout} roads'))
        return name

    def _write_frame(self, rng, ego, agents, frame, sample_token, timestamp,
                     track_annotations, previous_data):
        ego_xy, ego_yaw = ego.xy[frame], float(ego.yaw[frame])
        ego_rotation = yaw_to_quaternion(ego_yaw)
        ego_translation = [float(ego_xy[0]), float(ego_xy[1]), 0.0]
        ego2global = pose_matrix(ego_translation, ego_rotation)

        near = [i for i, agent in enumerate(agents)
                if np.linalg.norm(agent.xy[frame] - ego_xy) < self.annotation_range]
        boxes = [Box(np.array([*agents[i].xy[frame], agents[i].size[2] / 2]), agents[i].size,
                     float(agents[i].yaw[frame]), self.style.object_rgb(agents[i].class_name))
                 for i in near]

        data_tokens = {}
        visible = np.zeros(len(boxes), np.int64)
        covered = np.zeros(len(boxes), np.int64)
        for channel in CAMERAS + (LIDAR,):
            token = self.make_token('sample_data')
            data_tokens[channel] = token
            stem = f'{self.log_name}__{channel}__{timestamp}'
            if channel == LIDAR:
                filename = f'samples/{LIDAR}/{stem}.pcd.bin'
                global2lidar = invert_rigid(ego2global @ self.sensor2ego[LIDAR])
                cloud, num_points = simulate_sweep(boxes, global2lidar, rng)
                cloud.tofile(self.out_dir / filename)
                width = height = 0
                fileformat = 'pcd'
            else:
                filename = f'samples/{channel}/{stem}.jpg'
                image, seen, area = self.renderers[channel].render(self.texture, ego_xy, ego_yaw,
                                                                   boxes)
                visible += seen
                covered += area
                if self.image_noise > 0:
                    image = image + rng.normal(0.0, self.image_noise, image.shape)
                image = np.clip(np.round(image), 0, 255).astype(np.uint8)
                cv2.imwrite(str(self.out_dir / filename), image[..., ::-1],
                            [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                width, height = self.size
                fileformat = 'jpg'
            pose_token = self.make_token('ego_pose')
            self.tables['ego_pose'].append(dict(token=pose_token, timestamp=timestamp,
                                                rotation=ego_rotation,
                                                translation=ego_translation))
            self.tables['sample_data'].append(dict(
                token=token, sample_token=sample_token, ego_pose_token=pose_token,
                calibrated_sensor_token=self.calibrated[channel], timestamp=timestamp,
                fileformat=fileformat, is_key_frame=True, height=height, width=width,
                filename=filename, prev=previous_data[channel], next=''))
            if previous_data[channel]:
                self._sample_data_by_token(previous_data[channel])['next'] = token

        for box_index, agent_index in enumerate(near):
            if num_points[box_index] == 0:
                continue
            agent = agents[agent_index]
            spec = OBJECT_CLASSES[agent.class_name]
            attribute = spec.moving_attribute if agent.speed > 0 else spec.still_attribute
            ratio = visible[box_index] / covered[box_index] if covered[box_index] else 0.0
            box = boxes[box_index]
            annotation = dict(
                token=self.make_token('sample_annotation'), sample_token=sample_token,
                instance_token='', visibility_token=visibility_token(ratio),
                attribute_tokens=[self.attribute_tokens[attribute]] if attribute else [],
                translation=[float(v) for v in box.center],
                size=[float(v) for v in box.size], rotation=yaw_to_quaternion(box.yaw),
                prev='', next='', num_lidar_pts=int(num_points[box_index]), num_radar_pts=0)
            self.tables['sample_annotation'].append(annotation)
            track_annotations[agent_index].append(annotation)
        return data_tokens

    def _sample_data_by_token(self, token):
        # The previous record of a channel is always among the last seven written.
        for record in reversed(self.tables['sample_data'][-2 * len(CAMERAS) - 2:]):
            if record['token'] == token:
                return record
        raise KeyError(f'sample_data {token} not found among the latest records')

    def _link_tracks(self, agents, track_annotations):
        for agent, annotations in zip(agents, track_annotations):
            if not annotations:
                continue
            instance_token = self.make_token('instance')
            for previous, current in zip(annotations[:-1], annotations[1:]):
                previous['next'] = current['token']
                current['prev'] = previous['token']
            for annotation in annotations:
                annotation['instance_token'] = instance_token
            self.tables['instance'].append(dict(
                token=instance_token,
                category_token=self.category_tokens[OBJECT_CLASSES[agent.class_name].category],
                nbr_annotations=len(annotations), first_annotation_token=annotations[0]['token'],
                last_annotation_token=annotations[-1]['token']))
