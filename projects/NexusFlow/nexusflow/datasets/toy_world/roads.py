"""Road networks of the toy cities and the map geometry derived from them.

All coordinates are global map coordinates in metres, inside ``[0, canvas_size]``.
A road is a dense centerline with ``lanes_per_direction`` lanes on each side. Lanes,
dividers, junctions, pedestrian crossings, sidewalks and the drivable area are all
derived from the centerlines with shapely.
"""
import math
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np
from shapely.geometry import LinearRing, LineString, MultiPoint, Point, Polygon
from shapely.ops import unary_union


@dataclass
class Road:
    """A road centerline sampled densely.

    Attributes:
        points (np.ndarray): (N, 2) centerline in metres; for a closed road the first
            point is not repeated at the end.
        closed (bool): whether the road is a loop.
    """
    points: np.ndarray
    closed: bool = False

    def __post_init__(self):
        nxt = np.roll(self.points, -1, axis=0) if self.closed else None
        if self.closed:
            tangent = nxt - np.roll(self.points, 1, axis=0)
        else:
            tangent = np.gradient(self.points, axis=0)
        self.tangent = tangent / np.linalg.norm(tangent, axis=1, keepdims=True)
        # Left normal: the tangent rotated by +90 degrees.
        self.normal = np.stack([-self.tangent[:, 1], self.tangent[:, 0]], axis=1)

    @property
    def line(self):
        """The centerline as a shapely LineString or LinearRing."""
        return LinearRing(self.points) if self.closed else LineString(self.points)

    def offset_points(self, offset: float) -> np.ndarray:
        """Return the centerline shifted ``offset`` metres to its left, (N, 2)."""
        return self.points + offset * self.normal

    def offset_line(self, offset: float):
        """Return the centerline shifted ``offset`` metres left as a shapely line."""
        pts = self.offset_points(offset)
        return LinearRing(pts) if self.closed else LineString(pts)


@dataclass
class Lane:
    """One lane in its driving direction.

    Attributes:
        road_index (int): index of its road in ``RoadNetwork.roads``.
        offset (float): signed lateral offset of the lane centre from the road
            centerline in metres (positive: left of the centerline's direction).
        points (np.ndarray): (N, 2) lane centre ordered in the driving direction.
        closed (bool): whether the lane is a loop.
    """
    road_index: int
    offset: float
    points: np.ndarray
    closed: bool

    def __post_init__(self):
        pts = np.concatenate([self.points, self.points[:1]]) if self.closed else self.points
        steps = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        self.cum_length = np.concatenate([[0.0], np.cumsum(steps)])
        self._closed_points = pts

    @property
    def length(self) -> float:
        """Length of the lane centre in metres."""
        return float(self.cum_length[-1])

    def pose_at(self, s: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Interpolate positions and headings along the lane.

        Args:
            s (np.ndarray): (T,) arc lengths in metres; wrapped for closed lanes.

        Returns:
            tuple: positions (T, 2) in metres and headings (T,) in radians.
        """
        s = np.asarray(s, np.float64)
        s = np.mod(s, self.length) if self.closed else np.clip(s, 0.0, self.length)
        idx = np.clip(np.searchsorted(self.cum_length, s, side='right') - 1, 0,
                      len(self.cum_length) - 2)
        seg = self.cum_length[idx + 1] - self.cum_length[idx]
        frac = (s - self.cum_length[idx]) / np.maximum(seg, 1e-9)
        start = self._closed_points[idx]
        end = self._closed_points[idx + 1]
        xy = start + frac[:, None] * (end - start)
        direction = end - start
        heading = np.arctan2(direction[:, 1], direction[:, 0])
        return xy, heading

    def nearest_arc_length(self, xy: np.ndarray) -> float:
        """Return the arc length in metres of the lane point nearest to ``xy`` (2,)."""
        dist = np.linalg.norm(self._closed_points - np.asarray(xy)[None], axis=1)
        return float(self.cum_length[int(np.argmin(dist))])


@dataclass
class RoadNetwork:
    """Roads of one city and the map geometry derived from them.

    Args:
        roads (list[Road]): centerlines.
        canvas_size (float): side of the square map canvas in metres.
        lane_width (float): lane width in metres.
        lanes_per_direction (int): lanes on each side of the centerline.
        sidewalk_width (float): walkway width beside the road edge in metres.
        crossing_depth (float): depth of a pedestrian crossing along the road in metres.
        left_hand_traffic (bool): whether vehicles drive on the left of the centerline.
    """
    roads: List[Road]
    canvas_size: float
    lane_width: float = 3.5
    lanes_per_direction: int = 2
    sidewalk_width: float = 3.0
    crossing_depth: float = 3.0
    left_hand_traffic: bool = False
    junctions: list = field(default_factory=list, init=False)

    def __post_init__(self):
        if self.lanes_per_direction < 1:
            raise ValueError(f'lanes_per_direction must be >= 1, got {self.lanes_per_direction}')
        self.half_width = self.lane_width * self.lanes_per_direction
        self._build_geometry()

    # ---- derived geometry -------------------------------------------------------------
    def _road_area(self, road: Road, half_width: float) -> Polygon:
        return road.line.buffer(half_width, cap_style='flat', join_style='round')

    def _build_geometry(self):
        road_areas = [self._road_area(road, self.half_width) for road in self.roads]
        self.drivable = unary_union(road_areas)

        # Junction centres: where two centerlines cross.
        self.junctions = []
        for i in range(len(self.roads)):
            for j in range(i + 1, len(self.roads)):
                crossing = self.roads[i].line.intersection(self.roads[j].line)
                if crossing.is_empty:
                    continue
                points = crossing.geoms if isinstance(crossing, MultiPoint) else [crossing]
                for point in points:
                    if isinstance(point, Point):
                        self.junctions.append(self._make_junction(point, i, j))
        junction_union = unary_union([j['polygon'] for j in self.junctions]) \
            if self.junctions else Polygon()
        self.junction_union = junction_union

        self.road_segments = []
        for area in road_areas:
            self.road_segments.extend(_polygon_parts(area.difference(junction_union)))

        self.lanes: List[Lane] = []
        # (polygon, centre line in the driving direction) of each lane between junctions.
        self.lane_pieces = []
        forward_sign = 1.0 if self.left_hand_traffic else -1.0
        for road_index, road in enumerate(self.roads):
            for k in range(self.lanes_per_direction):
                magnitude = (k + 0.5) * self.lane_width
                for direction in (1.0, -1.0):
                    offset = forward_sign * direction * magnitude
                    points = road.offset_points(offset)
                    if direction < 0:
                        points = points[::-1]
                    self.lanes.append(Lane(road_index, offset, points, road.closed))
                    centre = LinearRing(points) if road.closed else LineString(points)
                    for piece in _line_parts(centre.difference(junction_union)):
                        area = piece.buffer(self.lane_width / 2, cap_style='flat',
                                            join_style='round')
                        self.lane_pieces.append((area, piece))

        self.road_dividers = []
        self.lane_dividers = []
        for road in self.roads:
            self.road_dividers.extend(_line_parts(road.line.difference(junction_union)))
            for k in range(1, self.lanes_per_direction):
                for sign in (1.0, -1.0):
                    line = road.offset_line(sign * k * self.lane_width)
                    self.lane_dividers.extend(_line_parts(line.difference(junction_union)))

        self.ped_crossings = []
        for junction in self.junctions:
            for road_index in junction['roads']:
                road = self.roads[road_index]
                idx = int(np.argmin(np.linalg.norm(
                    road.points - np.asarray(junction['center']), axis=1)))
                tangent = road.tangent[idx]
                for sign in (1.0, -1.0):
                    center = np.asarray(junction['center']) + sign * tangent * (
                        junction['radius'] + self.crossing_depth / 2 + 0.5)
                    rect = _oriented_rectangle(center, tangent, self.crossing_depth / 2,
                                               self.half_width)
                    rect = rect.intersection(self.drivable).difference(junction_union)
                    self.ped_crossings.extend(_polygon_parts(rect))

        sidewalk_area = unary_union([
            self._road_area(road, self.half_width + self.sidewalk_width)
            for road in self.roads])
        self.walkways = _polygon_parts(sidewalk_area.difference(self.drivable))

    def _make_junction(self, point: Point, i: int, j: int) -> dict:
        ti = _tangent_near(self.roads[i], point)
        tj = _tangent_near(self.roads[j], point)
        sin_angle = max(abs(ti[0] * tj[1] - ti[1] * tj[0]), 0.3)
        # A disk of this radius covers the rhombus where the two roads overlap.
        radius = 0.75 * 2 * self.half_width / sin_angle + 1.0
        polygon = point.buffer(radius).intersection(unary_union([
            self._road_area(self.roads[i], self.half_width),
            self._road_area(self.roads[j], self.half_width)]))
        return dict(center=(point.x, point.y), radius=radius, roads=(i, j),
                    polygon=polygon)

    def sidewalk_offset(self) -> float:
        """Lateral offset of the sidewalk centre from a road centerline in metres."""
        return self.half_width + self.sidewalk_width / 2


def _tangent_near(road: Road, point: Point) -> np.ndarray:
    idx = int(np.argmin(np.linalg.norm(road.points - np.array([point.x, point.y]), axis=1)))
    return road.tangent[idx]


def _oriented_rectangle(center, tangent, half_depth, half_width) -> Polygon:
    normal = np.array([-tangent[1], tangent[0]])
    corners = [center + a * tangent * half_depth + b * normal * half_width
               for a, b in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
    return Polygon(corners)


def _polygon_parts(geometry, min_area: float = 1.0) -> list:
    """Split a shapely geometry into its polygons larger than ``min_area`` m^2."""
    if geometry.is_empty:
        return []
    parts = getattr(geometry, 'geoms', [geometry])
    return [p for p in parts if isinstance(p, Polygon) and p.area >= min_area]


def _line_parts(geometry, min_length: float = 1.0) -> list:
    """Split a shapely geometry into its line strings longer than ``min_length`` m."""
    if geometry.is_empty:
        return []
    parts = getattr(geometry, 'geoms', [geometry])
    return [LineString(p.coords) for p in parts
            if isinstance(p, (LineString, LinearRing)) and p.length >= min_length]


def _straight_road(start, end, step: float) -> Road:
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    count = max(2, int(math.ceil(np.linalg.norm(end - start) / step)) + 1)
    t = np.linspace(0.0, 1.0, count)[:, None]
    return Road(start + t * (end - start))


def build_road_network(layout: str, left_hand_traffic: bool, canvas_size: float = 500.0,
                       block_size: float = 100.0, step: float = 1.0,
                       lane_width: float = 3.5) -> RoadNetwork:
    """Build the road network of a city layout.

    Args:
        layout (str): ``'grid'`` or ``'rings'``.
        left_hand_traffic (bool): whether vehicles keep left.
        canvas_size (float): side of the square map canvas in metres.
        block_size (float): spacing of grid roads, and of ring radii, in metres.
        step (float): centerline sampling step in metres.
        lane_width (float): lane width in metres.

    Returns:
        RoadNetwork: the roads and their derived map geometry.
    """
    margin = 40.0
    roads = []
    if layout == 'grid':
        positions = np.arange(margin + block_size / 2, canvas_size - margin, block_size)
        for p in positions:
            roads.append(_straight_road((margin, p), (canvas_size - margin, p), step))
            roads.append(_straight_road((p, margin), (p, canvas_size - margin), step))
    elif layout == 'rings':
        center = np.array([canvas_size / 2, canvas_size / 2])
        max_radius = canvas_size / 2 - margin
        radii = np.arange(block_size * 0.9, max_radius - 15.0, block_size)
        for radius in radii:
            count = int(math.ceil(2 * math.pi * radius / step))
            angle = np.linspace(0.0, 2 * math.pi, count, endpoint=False)
            # A slight ellipse keeps the curvature varying along the ring.
            pts = center + np.stack([radius * 1.1 * np.cos(angle),
                                     radius * 0.9 * np.sin(angle)], axis=1)
            roads.append(Road(pts, closed=True))
        for angle in np.deg2rad([20.0, 110.0, 200.0, 290.0]):
            direction = np.array([math.cos(angle), math.sin(angle)])
            # Radial roads end short of the centre so that they do not all meet there.
            roads.append(_straight_road(center + 35.0 * direction,
                                        center + max_radius * direction, step))
        # One oblique chord through the city.
        roads.append(_straight_road((margin, canvas_size * 0.3),
                                    (canvas_size - margin, canvas_size * 0.62), step))
    else:
        raise ValueError(f"unknown road layout {layout!r}; expected 'grid' or 'rings'")
    return RoadNetwork(roads, canvas_size, lane_width=lane_width,
                       left_hand_traffic=left_hand_traffic)
