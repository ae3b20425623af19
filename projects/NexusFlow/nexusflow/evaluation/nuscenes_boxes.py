"""Conversion of predicted LiDAR-frame boxes into nuScenes submission entries.

The devkit scores boxes in the global frame: ``translation`` is the box's
gravity centre (metres), ``size`` is ``(w, l, h)`` (metres), ``rotation`` is a
``(w, x, y, z)`` quaternion and ``velocity`` is ``(vx, vy)`` in m/s.
Our boxes are ``LiDARInstance3DBoxes`` with ``(x, y, z_bottom, dx, dy, dz,
yaw, vx, vy)``, where ``dx`` is the length along the heading ``yaw``.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
from scipy.spatial.transform import Rotation

DETECTION_CLASSES = ('car', 'truck', 'construction_vehicle', 'bus', 'trailer',
                     'barrier', 'motorcycle', 'bicycle', 'pedestrian',
                     'traffic_cone')
# The devkit's seven tracking classes; the other detection classes are not tracked.
TRACKING_CLASSES = ('bicycle', 'bus', 'car', 'motorcycle', 'pedestrian',
                    'trailer', 'truck')

_VEHICLES = ('car', 'truck', 'construction_vehicle', 'bus', 'trailer')
_CYCLES = ('motorcycle', 'bicycle')


def lidar_boxes_to_global(boxes: np.ndarray, lidar2ego: np.ndarray,
                          ego2global: np.ndarray) -> Dict[str, np.ndarray]:
    """Move 9-dim LiDAR-frame boxes into the global frame in devkit layout.

    Args:
        boxes: ``(N, 9)`` ``(x, y, z_bottom, dx, dy, dz, yaw, vx, vy)``,
            metres, radians and m/s in the LiDAR frame.
        lidar2ego: ``(4, 4)`` LiDAR-to-ego pose.
        ego2global: ``(4, 4)`` ego-to-global pose.

    Returns:
        ``translation`` ``(N, 3)`` gravity centres, ``size`` ``(N, 3)``
        ``(w, l, h)``, ``rotation`` ``(N, 4)`` ``(w, x, y, z)`` quaternions and
        ``velocity`` ``(N, 2)``, all in the global frame.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 9)
    lidar2global = np.asarray(ego2global, np.float64) @ np.asarray(lidar2ego, np.float64)
    rotation = lidar2global[:3, :3]

    centers = boxes[:, :3].copy()
    centers[:, 2] += boxes[:, 5] / 2
    translation = centers @ rotation.T + lidar2global[:3, 3]

    yaw_rotations = Rotation.from_euler('z', boxes[:, 6:7]).as_matrix()
    quats_xyzw = Rotation.from_matrix(rotation @ yaw_rotations).as_quat()
    quats_wxyz = quats_xyzw[:, [3, 0, 1, 2]]
    # q and -q are the same rotation, so a non-negative w keeps the output stable.
    quats_wxyz[quats_wxyz[:, 0] < 0] *= -1

    velocity = np.concatenate([boxes[:, 7:9], np.zeros((len(boxes), 1))], 1)
    velocity = velocity @ rotation.T

    return dict(translation=translation, size=boxes[:, [4, 3, 5]],
                rotation=quats_wxyz, velocity=velocity[:, :2])


def default_attribute(class_name: str, speed: float, moving_speed: float) -> str:
    """Pick the nuScenes attribute of a class from its speed.

    The model predicts no attributes, so the speed decides between the moving
    and the still attribute. Barriers and traffic cones have none.

    Args:
        class_name: A detection class.
        speed: Ground speed in m/s.
        moving_speed: Speed in m/s above which a box counts as moving.
    """
    moving = speed > moving_speed
    if class_name in _VEHICLES:
        return 'vehicle.moving' if moving else 'vehicle.parked'
    if class_name == 'pedestrian':
        return 'pedestrian.moving' if moving else 'pedestrian.standing'
    if class_name in _CYCLES:
        return 'cycle.with_rider' if moving else 'cycle.without_rider'
    return ''


def format_sample_boxes(sample: Mapping[str, np.ndarray],
                        class_names: Sequence[str],
                        moving_speed: float,
                        max_boxes: Optional[int] = None) -> Dict[str, List[dict]]:
    """Build one sample's detection and tracking submission entries.

    Args:
        sample: The per-sample result of ``NuScenesTrackMetric.process``:
            ``token``, global-frame ``translation``, ``size``, ``rotation``,
            ``velocity`` (see ``lidar_boxes_to_global``), ``scores`` ``(N,)``,
            ``labels`` ``(N,)`` indices into ``class_names`` and
            ``track_ids`` ``(N,)`` or None.
        class_names: Detection class of each label index.
        moving_speed: See ``default_attribute``.
        max_boxes: Keep at most this many boxes, the highest-scoring ones.

    Returns:
        ``detection``: devkit detection entries; ``tracking``: entries of the
        tracking classes (empty when ``track_ids`` is None).
    """
    order = np.argsort(-np.asarray(sample['scores']), kind='stable')
    if max_boxes is not None:
        order = order[:max_boxes]
    detection, tracking = [], []
    track_ids = sample.get('track_ids')
    for i in order:
        label = int(sample['labels'][i])
        if not 0 <= label < len(class_names):
            raise ValueError(f'Sample {sample["token"]}: label {label} is outside '
                             f'the {len(class_names)} classes {tuple(class_names)}.')
        name = class_names[label]
        velocity = [float(v) for v in sample['velocity'][i]]
        common = dict(
            sample_token=sample['token'],
            translation=[float(v) for v in sample['translation'][i]],
            size=[float(v) for v in sample['size'][i]],
            rotation=[float(v) for v in sample['rotation'][i]],
            velocity=velocity)
        score = float(sample['scores'][i])
        detection.append(dict(
            common, detection_name=name, detection_score=score,
            attribute_name=default_attribute(name, float(np.hypot(*velocity)),
                                             moving_speed)))
        if track_ids is not None and name in TRACKING_CLASSES:
            tracking.append(dict(common, tracking_name=name, tracking_score=score,
                                 tracking_id=str(int(track_ids[i]))))
    return dict(detection=detection, tracking=tracking)
