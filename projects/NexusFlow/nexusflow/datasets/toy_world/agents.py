"""Ego route and agent trajectories of one toy scene.

Vehicles follow lane centres at constant speed, bicycles ride near the curb,
pedestrians walk along sidewalks and barriers and traffic cones stand on the road
shoulder. Agents are drawn by rejection sampling so that no two bounding circles
(nor an agent and the ego) ever overlap during the scene.
"""
import math
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from .roads import Lane, RoadNetwork
from .styles import OBJECT_CLASSES

# Radius of a circle around the ego that agents never enter, in metres.
EGO_RADIUS_M = 3.0
# Extra gap in metres between the bounding circles of two agents.
CLEARANCE_M = 0.3

DEFAULT_OBJECT_COUNTS = dict(car=10, truck=2, bus=1, pedestrian=8, bicycle=2, motorcycle=2,
                             barrier=2, traffic_cone=3)


@dataclass
class Trajectory:
    """Poses of one object over the keyframes of a scene.

    Attributes:
        class_name (str): key of ``OBJECT_CLASSES``.
        size (np.ndarray): (3,) width, length, height in metres.
        xy (np.ndarray): (T, 2) box centre on the ground in global metres.
        yaw (np.ndarray): (T,) heading in radians, global frame.
        speed (float): constant speed in m/s.
    """
    class_name: str
    size: np.ndarray
    xy: np.ndarray
    yaw: np.ndarray
    speed: float

    @property
    def radius(self) -> float:
        """Radius in metres of the circle that contains the box footprint."""
        return 0.5 * float(np.hypot(self.size[0], self.size[1]))


def _curb_sign(network: RoadNetwork) -> float:
    """+1 when the curb is on the left of the driving direction, -1 when on the right."""
    return 1.0 if network.left_hand_traffic else -1.0


def _sidewalk_paths(network: RoadNetwork) -> List[Lane]:
    paths = []
    offset = network.sidewalk_offset()
    for index, road in enumerate(network.roads):
        for sign in (1.0, -1.0):
            points = road.offset_points(sign * offset)
            paths.append(Lane(index, sign * offset, points, road.closed))
            paths.append(Lane(index, sign * offset, points[::-1].copy(), road.closed))
    return paths


def plan_ego(network: RoadNetwork, rng: np.random.Generator, times: np.ndarray,
             speed_range=(5.0, 9.0)) -> Trajectory:
    """Pick a lane and drive the ego along it at constant speed.

    Args:
        network (RoadNetwork): roads of the city.
        rng (np.random.Generator): random source.
        times (np.ndarray): (T,) keyframe times in seconds from the scene start.
        speed_range (tuple): ``(min, max)`` ego speed in m/s.

    Returns:
        Trajectory: the ego poses (class_name ``'ego'``).
    """
    speed = float(rng.uniform(*speed_range))
    travel = speed * float(times[-1])
    margin = 30.0
    usable = [lane for lane in network.lanes if lane.closed or lane.length > travel + 2 * margin]
    if not usable:
        raise ValueError(f'no lane is longer than the {travel + 2 * margin:.0f} m a scene '
                         f'needs; lower num_frames or the ego speed')
    lane = usable[int(rng.integers(len(usable)))]
    if lane.closed:
        start = float(rng.uniform(0.0, lane.length))
    else:
        start = float(rng.uniform(margin, lane.length - travel - margin))
    xy, yaw = lane.pose_at(start + speed * times)
    return Trajectory('ego', np.array([1.73, 4.08, 1.56]), xy, yaw, speed)


def _lanes_near(lanes: List[Lane], track_xy: np.ndarray, radius: float) -> List[Lane]:
    probe = track_xy[::max(1, len(track_xy) // 5)]
    near = []
    for lane in lanes:
        dist = np.linalg.norm(lane.points[:, None, :] - probe[None], axis=2)
        if dist.min() < radius:
            near.append(lane)
    return near


def plan_agents(network: RoadNetwork, ego: Trajectory, rng: np.random.Generator,
                times: np.ndarray, object_counts: Dict[str, int] = None,
                max_range: float = 40.0, attempts: int = 30) -> List[Trajectory]:
    """Place agents around the ego route.

    Args:
        network (RoadNetwork): roads of the city.
        ego (Trajectory): the ego route.
        rng (np.random.Generator): random source.
        times (np.ndarray): (T,) keyframe times in seconds.
        object_counts (dict, optional): class name -> number of agents to try to place.
            Defaults to ``DEFAULT_OBJECT_COUNTS``.
        max_range (float): agents start within this distance in metres of the ego at
            some keyframe.
        attempts (int): rejection-sampling tries per agent before it is dropped.

    Returns:
        list[Trajectory]: agents that never overlap each other or the ego.
    """
    counts = DEFAULT_OBJECT_COUNTS if object_counts is None else object_counts
    unknown = set(counts) - set(OBJECT_CLASSES)
    if unknown:
        raise KeyError(f'unknown object classes {sorted(unknown)}; expected some of '
                       f'{sorted(OBJECT_CLASSES)}')
    lanes = _lanes_near(network.lanes, ego.xy, max_range)
    sidewalks = _lanes_near(_sidewalk_paths(network), ego.xy, max_range)
    outer = network.lane_width * (network.lanes_per_direction - 0.5)
    curb_lanes = [lane for lane in lanes if abs(abs(lane.offset) - outer) < 1e-6]

    placed: List[Trajectory] = []
    for class_name, count in counts.items():
        spec = OBJECT_CLASSES[class_name]
        if class_name == 'pedestrian':
            paths, lateral = sidewalks, 0.0
        elif class_name == 'bicycle':
            paths, lateral = curb_lanes, network.lane_width / 2 - 0.6
        elif class_name in ('barrier', 'traffic_cone'):
            paths, lateral = curb_lanes, network.lane_width / 2 - 0.4
        else:
            paths, lateral = lanes, 0.0
        if not paths:
            continue
        for _ in range(count):
            for _ in range(attempts):
                candidate = _sample_on_path(paths, ego, rng, times, spec, class_name,
                                            lateral * _curb_sign(network), max_range)
                if candidate is not None and _is_clear(candidate, ego, placed):
                    placed.append(candidate)
                    break
    return placed


def _sample_on_path(paths, ego, rng, times, spec, class_name, lateral, max_range):
    path = paths[int(rng.integers(len(paths)))]
    size = np.asarray(spec.size) * rng.uniform(0.92, 1.08, size=3)
    if spec.speed[1] > 0 and rng.random() > 0.2:
        speed = float(rng.uniform(*spec.speed))
    else:
        speed = 0.0
    frame = int(rng.integers(len(times)))
    s_near = path.nearest_arc_length(ego.xy[frame])
    start = s_near + rng.uniform(-max_range * 0.8, max_range * 0.8) - speed * times[frame]
    travel = speed * float(times[-1])
    if not path.closed and (start < size[1] or start + travel > path.length - size[1]):
        return None
    xy, yaw = path.pose_at(start + speed * times)
    if lateral != 0.0:
        xy = xy + lateral * np.stack([-np.sin(yaw), np.cos(yaw)], axis=1)
    if class_name in ('barrier',):
        # A barrier is wider than long, so turning it lays its long side along the road.
        yaw = yaw + math.pi / 2
    distance = np.linalg.norm(xy - ego.xy, axis=1)
    if distance.min() > max_range:
        return None
    return Trajectory(class_name, size, xy, yaw, speed)


def _is_clear(candidate: Trajectory, ego: Trajectory, placed: List[Trajectory]) -> bool:
    gap = np.linalg.norm(candidate.xy - ego.xy, axis=1)
    if gap.min() < candidate.radius + EGO_RADIUS_M:
        return False
    for other in placed:
        gap = np.linalg.norm(candidate.xy - other.xy, axis=1)
        if gap.min() < candidate.radius + other.radius + CLEARANCE_M:
            return False
    return True
