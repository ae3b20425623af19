"""A tiny nuScenes database (tables only) and ground truth as predictions.

Three scenes of three keyframes, two in boston-seaport and one in
singapore-onenorth. Each scene has a moving car, a walking pedestrian and a
static barrier, all within 20 m of the ego vehicle. LIDAR_TOP sits 1 m ahead
of the ego origin and is turned by -90 degrees, as on the real car, so the
LiDAR-to-global conversion is exercised.
"""
import json
import os
import os.path as osp

import numpy as np
import torch
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from mmengine.structures import InstanceData
from nuscenes.eval.detection.utils import category_to_detection_name
from nuscenes.utils.data_classes import Box
from PIL import Image
from pyquaternion import Quaternion

from nexusflow.evaluation.nuscenes_boxes import DETECTION_CLASSES

VERSION = 'v1.0-tiny'
SCENES = (('scene-0001', 'boston-seaport'), ('scene-0002', 'boston-seaport'),
          ('scene-0003', 'singapore-onenorth'))
FRAMES = 3
LIDAR_ROTATION = Quaternion(axis=[0, 0, 1], angle=-np.pi / 2)
LIDAR_TRANSLATION = [1.0, 0.0, 1.8]
# name, nuScenes category, attribute, start offset from ego (m), velocity (m/s), size wlh
OBJECTS = (('car', 'vehicle.car', 'vehicle.moving', (8.0, 3.0), (2.0, 0.5), (1.9, 4.5, 1.6)),
           ('pedestrian', 'human.pedestrian.adult', 'pedestrian.moving', (-5.0, 6.0), (0.0, 1.2),
            (0.6, 0.7, 1.8)),
           ('barrier', 'movable_object.barrier', '', (4.0, -7.0), (0.0, 0.0), (2.0, 0.4, 1.0)))


def write_tiny_nuscenes(root: str) -> str:
    """Write the tables under ``root/VERSION`` and return ``root``."""
    tables = {name: [] for name in (
        'category', 'attribute', 'visibility', 'instance', 'sensor', 'calibrated_sensor',
        'ego_pose', 'log', 'scene', 'sample', 'sample_data', 'sample_annotation', 'map')}
    categories = {}
    for _, category, *_ in OBJECTS:
        categories[category] = f'cat-{category}'
        tables['category'].append(dict(token=categories[category], name=category,
                                       description=''))
    attributes = {}
    for _, _, attribute, *_ in OBJECTS:
        if attribute:
            attributes[attribute] = f'attr-{attribute}'
            tables['attribute'].append(dict(token=attributes[attribute], name=attribute,
                                            description=''))
    tables['visibility'].append(dict(token='4', level='v80-100', description=''))
    tables['sensor'].append(dict(token='sensor-lidar', channel='LIDAR_TOP', modality='lidar'))
    tables['calibrated_sensor'].append(dict(
        token='cs-lidar', sensor_token='sensor-lidar', translation=LIDAR_TRANSLATION,
        rotation=list(LIDAR_ROTATION.elements), camera_intrinsic=[]))

    for s, (scene_name, city) in enumerate(SCENES):
        log_token = f'log-{s}'
        tables['log'].append(dict(token=log_token, logfile='', vehicle='', date_captured='',
                                  location=city))
        tables['map'].append(dict(token=f'map-{s}', log_tokens=[log_token], category='semantic_prior',
                                  filename=f'maps/{s}.png'))
        sample_tokens = [f'sample-{s}-{f}' for f in range(FRAMES)]
        ego_start = np.array([100.0 * (s + 1), 50.0 * s, 0.0])
        ego_yaw = 0.3 * (s + 1)
        for f, token in enumerate(sample_tokens):
            timestamp = 1_000_000 * (s * 100) + 500_000 * f
            ego_pos = ego_start + np.array([np.cos(ego_yaw), np.sin(ego_yaw), 0.0]) * 3.0 * f
            pose_token = f'pose-{s}-{f}'
            tables['ego_pose'].append(dict(
                token=pose_token, timestamp=timestamp, translation=list(ego_pos),
                rotation=list(Quaternion(axis=[0, 0, 1], angle=ego_yaw).elements)))
            tables['sample'].append(dict(
                token=token, timestamp=timestamp, scene_token=f'scene-tok-{s}',
                prev=sample_tokens[f - 1] if f else '',
                next=sample_tokens[f + 1] if f + 1 < FRAMES else ''))
            tables['sample_data'].append(dict(
                token=f'sd-{s}-{f}', sample_token=token, ego_pose_token=pose_token,
                calibrated_sensor_token='cs-lidar', timestamp=timestamp, fileformat='pcd',
                is_key_frame=True, height=0, width=0, filename=f'samples/LIDAR_TOP/{s}-{f}.bin',
                prev=f'sd-{s}-{f - 1}' if f else '',
                next=f'sd-{s}-{f + 1}' if f + 1 < FRAMES else ''))
        tables['scene'].append(dict(
            token=f'scene-tok-{s}', name=scene_name, description='', log_token=log_token,
            nbr_samples=FRAMES, first_sample_token=sample_tokens[0],
            last_sample_token=sample_tokens[-1]))

        for o, (_, category, attribute, offset, velocity, size) in enumerate(OBJECTS):
            instance = f'inst-{s}-{o}'
            ann_tokens = [f'ann-{s}-{o}-{f}' for f in range(FRAMES)]
            tables['instance'].append(dict(
                token=instance, category_token=categories[category], nbr_annotations=FRAMES,
                first_annotation_token=ann_tokens[0], last_annotation_token=ann_tokens[-1]))
            heading = np.arctan2(velocity[1], velocity[0]) if any(velocity) else 0.4
            for f, ann in enumerate(ann_tokens):
                center = ego_start + np.array([offset[0], offset[1], 1.0]) \
                    + 0.5 * f * np.array([velocity[0], velocity[1], 0.0])
                tables['sample_annotation'].append(dict(
                    token=ann, sample_token=sample_tokens[f], instance_token=instance,
                    visibility_token='4',
                    attribute_tokens=[attributes[attribute]] if attribute else [],
                    translation=list(center), size=list(size),
                    rotation=list(Quaternion(axis=[0, 0, 1], angle=heading).elements),
                    prev=ann_tokens[f - 1] if f else '',
                    next=ann_tokens[f + 1] if f + 1 < FRAMES else '',
                    num_lidar_pts=10, num_radar_pts=0))

    table_root = osp.join(root, VERSION)
    os.makedirs(table_root, exist_ok=True)
    # NuScenes opens every map record's mask image at load time.
    os.makedirs(osp.join(root, 'maps'), exist_ok=True)
    for record in tables['map']:
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(osp.join(root, record['filename']))
    for name, records in tables.items():
        with open(osp.join(table_root, f'{name}.json'), 'w') as f:
            json.dump(records, f)
    return root


def ground_truth_as_predictions(nusc, sample_tokens, drop=()) -> list:
    """Turn the devkit's annotations into predicted samples in the LiDAR frame.

    Args:
        nusc: A loaded NuScenes.
        sample_tokens: Samples to convert.
        drop: Detection names to leave out.

    Returns:
        One ``Det3DDataSample`` per token with ``pred_instances_3d`` (9-dim
        LiDAR boxes, scores, labels, track ids) and the pose metainfo.
    """
    track_ids = {}
    samples = []
    for token in sample_tokens:
        sample = nusc.get('sample', token)
        sd = nusc.get('sample_data', sample['data']['LIDAR_TOP'])
        cs = nusc.get('calibrated_sensor', sd['calibrated_sensor_token'])
        pose = nusc.get('ego_pose', sd['ego_pose_token'])
        rows, labels, ids = [], [], []
        for ann_token in sample['anns']:
            ann = nusc.get('sample_annotation', ann_token)
            name = category_to_detection_name(ann['category_name'])
            if name is None or name in drop:
                continue
            box = Box(ann['translation'], ann['size'], Quaternion(ann['rotation']),
                      velocity=tuple(nusc.box_velocity(ann_token)))
            box.translate(-np.array(pose['translation']))
            box.rotate(Quaternion(pose['rotation']).inverse)
            box.translate(-np.array(cs['translation']))
            box.rotate(Quaternion(cs['rotation']).inverse)
            w, l, h = box.wlh
            rows.append([box.center[0], box.center[1], box.center[2] - h / 2, l, w, h,
                         box.orientation.yaw_pitch_roll[0], box.velocity[0], box.velocity[1]])
            labels.append(DETECTION_CLASSES.index(name))
            ids.append(track_ids.setdefault(ann['instance_token'], len(track_ids)))
        lidar2ego = np.eye(4)
        lidar2ego[:3, :3] = Quaternion(cs['rotation']).rotation_matrix
        lidar2ego[:3, 3] = cs['translation']
        ego2global = np.eye(4)
        ego2global[:3, :3] = Quaternion(pose['rotation']).rotation_matrix
        ego2global[:3, 3] = pose['translation']
        scene = nusc.get('scene', sample['scene_token'])
        city = nusc.get('log', scene['log_token'])['location']
        data_sample = Det3DDataSample(metainfo=dict(
            token=token, scene_token=sample['scene_token'], city=city,
            lidar2ego=lidar2ego, ego2global=ego2global, timestamp=sample['timestamp'] / 1e6))
        instances = InstanceData()
        instances.bboxes_3d = LiDARInstance3DBoxes(
            torch.tensor(rows, dtype=torch.float64).reshape(-1, 9), box_dim=9)
        # Distinct scores keep the devkit's recall thresholds well defined.
        instances.scores_3d = torch.linspace(0.9, 0.5, len(rows))
        instances.labels_3d = torch.tensor(labels, dtype=torch.long)
        instances.track_ids = torch.tensor(ids, dtype=torch.long)
        data_sample.pred_instances_3d = instances
        samples.append(data_sample)
    return samples
