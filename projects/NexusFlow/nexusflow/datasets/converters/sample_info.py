"""One keyframe of nuScenes as an mmdet3d v2 info entry plus NexusFlow's keys."""
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
from mmdet3d.datasets import NuScenesDataset
from nuscenes.eval.detection.utils import category_to_detection_name
from pyquaternion import Quaternion

from ..map_geometry import MapGeometryIndex, extract_map_geoms
from .camera_boxes import ATTRIBUTES, camera_instances

CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
# Label order of mmdet3d's NuScenesDataset, so that its loader reads our infos.
DETECTION_CLASSES = tuple(NuScenesDataset.METAINFO['classes'])
NUM_POINT_FEATURES = 5


def pose_matrix(rotation, translation) -> np.ndarray:
    """Return the (4, 4) transform of a nuScenes (w, x, y, z) quaternion and translation."""
    matrix = np.eye(4)
    matrix[:3, :3] = Quaternion(rotation).rotation_matrix
    matrix[:3, 3] = translation
    return matrix


def _sensor_poses(nusc, sample_data_token: str):
    record = nusc.get('sample_data', sample_data_token)
    calib = nusc.get('calibrated_sensor', record['calibrated_sensor_token'])
    ego = nusc.get('ego_pose', record['ego_pose_token'])
    sensor2ego = pose_matrix(calib['rotation'], calib['translation'])
    ego2global = pose_matrix(ego['rotation'], ego['translation'])
    return record, calib, sensor2ego, ego2global


def _attribute_label(nusc, annotation: dict) -> int:
    if not annotation['attribute_tokens']:
        return ATTRIBUTES.index('None')
    name = nusc.get('attribute', annotation['attribute_tokens'][0])['name']
    return ATTRIBUTES.index(name) if name in ATTRIBUTES else ATTRIBUTES.index('None')


def _lidar_sweeps(nusc, lidar_record: dict, lidar2global: np.ndarray,
                  max_sweeps: int) -> List[Dict]:
    """Previous LiDAR sweeps in the layout that mmdet3d's multi-sweep loader reads."""
    sweeps = []
    record = lidar_record
    global2lidar = np.linalg.inv(lidar2global)
    while len(sweeps) < max_sweeps and record['prev']:
        record, _, sweep2ego, ego2global = _sensor_poses(nusc, record['prev'])
        sensor2lidar = global2lidar @ ego2global @ sweep2ego
        # mmdet3d's LoadPointsFromMultiSweeps computes p @ R - t from this
        # matrix, so it stores the transposed rotation and negated translation.
        lidar2sensor = np.eye(4)
        lidar2sensor[:3, :3] = sensor2lidar[:3, :3].T
        lidar2sensor[:3, 3] = -sensor2lidar[:3, 3]
        sweeps.append(dict(
            lidar_points=dict(
                lidar_path=osp.basename(record['filename']),
                lidar2ego=sweep2ego.tolist(),
                lidar2sensor=lidar2sensor.tolist()),
            ego2global=ego2global.tolist(),
            timestamp=record['timestamp'] / 1e6,
            sample_data_token=record['token']))
    return sweeps


def build_sample_info(nusc,
                      sample: dict,
                      map_index: MapGeometryIndex,
                      map_patch_range,
                      can_bus: np.ndarray,
                      max_sweeps: int = 0,
                      with_cam_instances: bool = True) -> dict:
    """Convert one keyframe.

    ``sample_idx`` and ``track_id`` are left for the caller, because they
    are numbered over the whole info file.

    Args:
        nusc (NuScenes): The devkit database.
        sample (dict): The devkit ``sample`` record.
        map_index (MapGeometryIndex): Map of the sample's city.
        map_patch_range (Sequence[float]): ``[x_min, y_min, x_max, y_max]``
            of the map patch in the LiDAR frame, metres.
        can_bus (np.ndarray): (18,) CAN bus vector of the keyframe.
        max_sweeps (int): Number of previous LiDAR sweeps to list. Defaults to 0.
        with_cam_instances (bool): Whether to build per-camera 2D boxes.
            Defaults to True.

    Returns:
        dict: The info entry (see docs/interfaces.md).
    """
    scene = nusc.get('scene', sample['scene_token'])
    log = nusc.get('log', scene['log_token'])
    lidar_record, _, lidar2ego, ego2global = _sensor_poses(
        nusc, sample['data']['LIDAR_TOP'])
    lidar2global = ego2global @ lidar2ego
    global2lidar = np.linalg.inv(lidar2global)

    images = {}
    for cam in CAMERAS:
        record, calib, cam2ego, cam_ego2global = _sensor_poses(nusc, sample['data'][cam])
        lidar2cam = np.linalg.inv(cam_ego2global @ cam2ego) @ lidar2global
        images[cam] = dict(
            img_path=osp.basename(record['filename']),
            cam2img=np.asarray(calib['camera_intrinsic']).tolist(),
            sample_data_token=record['token'],
            timestamp=record['timestamp'] / 1e6,
            cam2ego=cam2ego.tolist(),
            lidar2cam=lidar2cam.tolist(),
            width=record['width'],
            height=record['height'])

    instances = []
    attr_labels = []
    for token in sample['anns']:
        annotation = nusc.get('sample_annotation', token)
        center = global2lidar @ np.append(annotation['translation'], 1.0)
        rotation = global2lidar[:3, :3] @ Quaternion(annotation['rotation']).rotation_matrix
        yaw = float(np.arctan2(rotation[1, 0], rotation[0, 0]))
        width, length, height = annotation['size']
        velocity = global2lidar[:3, :3] @ nusc.box_velocity(token)
        name = category_to_detection_name(annotation['category_name'])
        label = DETECTION_CLASSES.index(name) if name in DETECTION_CLASSES else -1
        num_pts = annotation['num_lidar_pts'] + annotation['num_radar_pts']
        instances.append(dict(
            bbox_3d=[*center[:3].tolist(), length, width, height, yaw],
            bbox_label=label,
            bbox_label_3d=label,
            bbox_3d_isvalid=bool(num_pts > 0),
            velocity=velocity[:2].tolist(),
            num_lidar_pts=annotation['num_lidar_pts'],
            num_radar_pts=annotation['num_radar_pts'],
            instance_token=annotation['instance_token']))
        attr_labels.append(_attribute_label(nusc, annotation))

    cam_instances = {}
    if with_cam_instances:
        boxes = np.array([i['bbox_3d'] for i in instances]).reshape(-1, 7)
        velocities = np.nan_to_num(
            np.array([i['velocity'] for i in instances]).reshape(-1, 2))
        labels = [i['bbox_label_3d'] for i in instances]
        for cam, image in images.items():
            cam_instances[cam] = camera_instances(
                boxes, velocities, labels, attr_labels, image['lidar2cam'],
                image['cam2img'], (image['width'], image['height']))

    info = dict(
        token=sample['token'],
        timestamp=sample['timestamp'] / 1e6,
        ego2global=ego2global.tolist(),
        lidar_points=dict(
            num_pts_feats=NUM_POINT_FEATURES,
            lidar_path=osp.basename(lidar_record['filename']),
            lidar2ego=lidar2ego.tolist()),
        lidar_sweeps=_lidar_sweeps(nusc, lidar_record, lidar2global, max_sweeps),
        images=images,
        instances=instances,
        cam_instances=cam_instances,
        scene_token=scene['token'],
        scene_name=scene['name'],
        prev=sample['prev'],
        next=sample['next'],
        city=log['location'],
        can_bus=np.asarray(can_bus, dtype=np.float64).tolist(),
        map_geoms=extract_map_geoms(map_index, lidar2global, map_patch_range))
    return info


def scene_sample_tokens(nusc, scene: dict) -> List[str]:
    """Return the sample tokens of a scene in time order."""
    tokens = []
    token: Optional[str] = scene['first_sample_token']
    while token:
        tokens.append(token)
        token = nusc.get('sample', token)['next']
    return tokens
