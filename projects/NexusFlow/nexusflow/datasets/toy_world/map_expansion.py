"""Write a road network as a nuScenes map expansion (``maps/expansion/<city>.json``).

The record layout follows what ``nuscenes.map_expansion.map_api.NuScenesMap`` of
nuscenes-devkit 1.2 reads: geometric layers (``node``, ``line``, ``polygon``) that the
semantic layers reference by token, and map version ``'1.3'``.
"""
import math
from typing import Callable, Dict, List

import numpy as np
from shapely.geometry import LineString, Polygon

from .roads import RoadNetwork

MAP_VERSION = '1.3'
# Vertex spacing tolerance in metres when simplifying curved outlines.
SIMPLIFY_TOLERANCE_M = 0.05


class _MapBuilder:
    """Collects records and hands out tokens for one map."""

    def __init__(self, make_token: Callable[[str], str]):
        self.make_token = make_token
        self.layers: Dict[str, list] = {name: [] for name in (
            'polygon', 'line', 'node', 'drivable_area', 'road_segment', 'road_block', 'lane',
            'ped_crossing', 'walkway', 'stop_line', 'carpark_area', 'road_divider',
            'lane_divider', 'traffic_light', 'lane_connector')}

    def node(self, x: float, y: float) -> str:
        token = self.make_token('node')
        self.layers['node'].append(dict(token=token, x=round(float(x), 3),
                                        y=round(float(y), 3)))
        return token

    def nodes(self, coords) -> List[str]:
        return [self.node(x, y) for x, y in coords]

    def polygon(self, polygon: Polygon) -> str:
        polygon = polygon.simplify(SIMPLIFY_TOLERANCE_M)
        token = self.make_token('polygon')
        exterior = list(polygon.exterior.coords)[:-1]
        holes = [dict(node_tokens=self.nodes(list(ring.coords)[:-1]))
                 for ring in polygon.interiors]
        self.layers['polygon'].append(dict(token=token,
                                           exterior_node_tokens=self.nodes(exterior),
                                           holes=holes))
        return token

    def line(self, line: LineString) -> str:
        line = line.simplify(SIMPLIFY_TOLERANCE_M)
        token = self.make_token('line')
        self.layers['line'].append(dict(token=token,
                                        node_tokens=self.nodes(list(line.coords))))
        return token


def _straight_arcline(start, end) -> dict:
    """Build a straight arcline record: shape 'LSR' with zero-length turns."""
    heading = math.atan2(end[1] - start[1], end[0] - start[0])
    length = float(np.hypot(end[0] - start[0], end[1] - start[1]))
    return dict(start_pose=[float(start[0]), float(start[1]), heading],
                end_pose=[float(end[0]), float(end[1]), heading],
                shape='LSR', radius=999.999, segment_length=[0.0, length, 0.0])


def build_map_expansion(network: RoadNetwork, make_token: Callable[[str], str],
                        arcline_step: float = 10.0) -> dict:
    """Build the map expansion JSON object of a road network.

    Args:
        network (RoadNetwork): the city's roads and derived geometry.
        make_token (callable): returns a fresh token given a record kind.
        arcline_step (float): spacing in metres of the points that the straight
            arcline pieces of each lane centre join.

    Returns:
        dict: JSON-serialisable map expansion with every layer NuScenesMap loads.
    """
    builder = _MapBuilder(make_token)
    layers = builder.layers

    drivable_token = make_token('drivable_area')
    drivable_parts = getattr(network.drivable, 'geoms', [network.drivable])
    layers['drivable_area'].append(dict(
        token=drivable_token, polygon_tokens=[builder.polygon(p) for p in drivable_parts]))

    segment_tokens = []
    for polygon in network.road_segments:
        token = make_token('road_segment')
        layers['road_segment'].append(dict(token=token, polygon_token=builder.polygon(polygon),
                                           is_intersection=False,
                                           drivable_area_token=drivable_token))
        segment_tokens.append((polygon, token))
    for junction in network.junctions:
        token = make_token('road_segment')
        layers['road_segment'].append(dict(
            token=token, polygon_token=builder.polygon(junction['polygon']),
            is_intersection=True, drivable_area_token=drivable_token))
        segment_tokens.append((junction['polygon'], token))

    def segment_of(geometry) -> str:
        for polygon, token in segment_tokens:
            if polygon.intersects(geometry):
                return token
        return ''

    arcline_path_3 = {}
    connectivity = {}
    for polygon, centre in network.lane_pieces:
        exterior = np.asarray(polygon.exterior.coords)
        from_edge = builder.line(LineString(exterior[:2]))
        to_edge = builder.line(LineString(exterior[-3:-1]))
        token = make_token('lane')
        layers['lane'].append(dict(
            token=token, polygon_token=builder.polygon(polygon), lane_type='CAR',
            from_edge_line_token=from_edge, to_edge_line_token=to_edge,
            left_lane_divider_segments=[], right_lane_divider_segments=[]))
        # The lane centre as a chain of straight arclines.
        step_count = max(1, int(math.ceil(centre.length / arcline_step)))
        chosen = np.asarray([centre.interpolate(d).coords[0]
                             for d in np.linspace(0.0, centre.length, step_count + 1)])
        arcline_path_3[token] = [_straight_arcline(a, b)
                                 for a, b in zip(chosen[:-1], chosen[1:])]
        connectivity[token] = dict(incoming=[], outgoing=[])

    for polygon in network.ped_crossings:
        layers['ped_crossing'].append(dict(token=make_token('ped_crossing'),
                                           polygon_token=builder.polygon(polygon),
                                           road_segment_token=segment_of(polygon)))
    for polygon in network.walkways:
        layers['walkway'].append(dict(token=make_token('walkway'),
                                      polygon_token=builder.polygon(polygon)))
    for line in network.road_dividers:
        layers['road_divider'].append(dict(token=make_token('road_divider'),
                                           line_token=builder.line(line),
                                           road_segment_token=segment_of(line)))
    for line in network.lane_dividers:
        line_token = builder.line(line)
        node_tokens = layers['line'][-1]['node_tokens']
        layers['lane_divider'].append(dict(
            token=make_token('lane_divider'), line_token=line_token,
            lane_divider_segments=[dict(node_token=n, segment_type='DOUBLE_DASHED_WHITE')
                                   for n in node_tokens]))

    result = dict(layers)
    result['arcline_path_3'] = arcline_path_3
    result['connectivity'] = connectivity
    result['canvas_edge'] = [float(network.canvas_size), float(network.canvas_size)]
    result['version'] = MAP_VERSION
    return result
