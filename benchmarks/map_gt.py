"""Compare our map ground-truth building with nuScenes-devkit's map masks.

Patches are square, BEV-sized and centred on random points of the drivable
area with random headings. On each patch the script times, alternating:

- ``extract``: our cut of the map around the pose into ``map_geoms`` in the
  LiDAR frame (``extract_map_geoms``);
- ``raster``: our rasterization of those ``map_geoms`` into the four
  (C_map, bev_h, bev_w) masks (``rasterize_map_geoms``);
- ``devkit``: ``NuScenesMap.get_map_mask`` on the same patch and canvas,
  with the map layers that our classes are built from.

Two maps are measured:

- ``toy``: the map expansion of a toy world written by the toy nuScenes
  generator, with all four classes. The devkit draws the six source layers
  of those classes: lane and road dividers, crossings, road segments, lanes
  and the drivable area.
- ``real``: the real nuScenes drivable-area polygons of one city (the
  ``drivable`` class only). They are written as a map expansion with only
  that layer, so that the devkit can read them.

The detail lines also give the IoU between our drivable mask and the
devkit's on the same patches, to show that both cover the same area.

Example:
    python benchmarks/map_gt.py --patches 50 --size 200 --bev-range 51.2
"""
import argparse
import json
import logging
import math
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np
import shapely
from mmengine.logging import MMLogger
from nuscenes.map_expansion.map_api import NuScenesMap
from shapely.geometry import Point, Polygon, shape

from bench_common import median
from nexusflow.datasets.map_geometry import (MAP_CLASSES, MapGeometryIndex,
                                             extract_map_geoms,
                                             rasterize_map_geoms)

REAL_DRIVABLE_DIR = '/work/shared/realdata/nuscenes/drivable_area'
REAL_DRIVABLE_FILES = {
    'boston-seaport': 'boston_drivable_area.json',
    'singapore-onenorth': 'onenorth_drivable_area.json',
    'singapore-hollandvillage': 'holland_village_drivable_area.json',
    'singapore-queenstown': 'queenstown_drivable_area.json',
}
# Devkit layers that our four classes are built from.
DEVKIT_LAYERS = ('lane_divider', 'road_divider', 'ped_crossing',
                 'road_segment', 'lane', 'drivable_area')
EMPTY_LAYERS = ('road_segment', 'road_block', 'lane', 'ped_crossing',
                'walkway', 'stop_line', 'carpark_area', 'road_divider',
                'lane_divider', 'traffic_light', 'lane_connector', 'line')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--patches', type=int, default=30,
                        help='Patches per map.')
    parser.add_argument('--size', type=int, default=200,
                        help='BEV side in cells (bev_h = bev_w).')
    parser.add_argument('--bev-range', type=float, default=51.2,
                        help='Half side of the BEV in metres.')
    parser.add_argument('--margin', type=float, default=2.0,
                        help='Metres added to each side of the extraction '
                        'patch, so clipped polygon edges stay off the grid.')
    parser.add_argument('--line-width', type=float, default=1.0,
                        help='Width of rasterized lines in metres.')
    parser.add_argument('--city', choices=sorted(REAL_DRIVABLE_FILES),
                        default='boston-seaport',
                        help='City of the real drivable area and of the '
                        'toy map.')
    parser.add_argument('--toy-root', default=None,
                        help='dataroot of an existing toy world. Default: '
                        'generate one scene of the city in a temporary '
                        'folder.')
    parser.add_argument('--real-drivable-dir', default=REAL_DRIVABLE_DIR,
                        help='Folder with the GeoJSON drivable areas of the '
                        'four nuScenes maps.')
    parser.add_argument('--maps', nargs='+', choices=('toy', 'real'),
                        default=['toy', 'real'], help='Maps to measure.')
    parser.add_argument('--repeats', type=int, default=3,
                        help='Timed passes over the patches.')
    return parser.parse_args()


def load_real_drivable(folder: str, city: str) -> List[Polygon]:
    """Return the real drivable-area polygons of a city, global metres."""
    path = osp.join(folder, REAL_DRIVABLE_FILES[city])
    if not osp.isfile(path):
        raise FileNotFoundError(f'real drivable area {path} not found')
    with open(path) as file:
        geometry = shape(json.load(file)).buffer(0)
    return [p for p in shapely.get_parts(geometry) if isinstance(p, Polygon)]


def write_drivable_expansion(polygons: List[Polygon], city: str,
                             dataroot: str) -> None:
    """Write ``maps/expansion/<city>.json`` with only a drivable layer."""
    nodes, records = [], []

    def ring_tokens(ring) -> List[str]:
        tokens = []
        for x, y in list(ring.coords)[:-1]:
            tokens.append(f'n{len(nodes)}')
            nodes.append(dict(token=tokens[-1], x=float(x), y=float(y)))
        return tokens

    for index, polygon in enumerate(polygons):
        records.append(dict(
            token=f'p{index}',
            exterior_node_tokens=ring_tokens(polygon.exterior),
            holes=[dict(node_tokens=ring_tokens(hole))
                   for hole in polygon.interiors]))
    expansion = {layer: [] for layer in EMPTY_LAYERS}
    expansion.update(
        version='1.3', canvas_edge=[4000.0, 4000.0], node=nodes,
        polygon=records, arcline_path_3={}, connectivity={},
        drivable_area=[dict(token='drivable',
                            polygon_tokens=[r['token'] for r in records])])
    folder = osp.join(dataroot, 'maps', 'expansion')
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, f'{city}.json'), 'w') as file:
        json.dump(expansion, file)


def sample_poses(drivable: List[Polygon], count: int,
                 seed: int = 0) -> List[Tuple[float, float, float]]:
    """Return (x, y, yaw) poses on the drivable area, global metres and
    radians."""
    rng = np.random.default_rng(seed)
    union = shapely.unary_union(drivable)
    x_min, y_min, x_max, y_max = union.bounds
    shapely.prepare(union)
    poses = []
    while len(poses) < count:
        x, y = rng.uniform(x_min, x_max), rng.uniform(y_min, y_max)
        if union.contains(Point(x, y)):
            poses.append((x, y, rng.uniform(-math.pi, math.pi)))
    return poses


def lidar2global_of(pose: Tuple[float, float, float]) -> np.ndarray:
    x, y, yaw = pose
    matrix = np.eye(4)
    matrix[:2, :2] = [[math.cos(yaw), -math.sin(yaw)],
                      [math.sin(yaw), math.cos(yaw)]]
    matrix[:2, 3] = x, y
    return matrix


def measure_map(name: str, index: MapGeometryIndex, nusc_map: NuScenesMap,
                devkit_layers: Tuple[str, ...], poses: list, args) -> dict:
    """Time the three variants on every patch, ``args.repeats`` passes."""
    half = args.bev_range
    point_cloud_range = [-half, -half, -5.0, half, half, 3.0]
    patch_range = [-half - args.margin, -half - args.margin,
                   half + args.margin, half + args.margin]
    canvas = (args.size, args.size)
    pass_times: Dict[str, List[float]] = dict(extract=[], raster=[],
                                              devkit=[])
    ious = []
    for repeat in range(args.repeats):
        totals = dict(extract=0.0, raster=0.0, devkit=0.0)
        for pose in poses:
            start = time.perf_counter()
            geoms = extract_map_geoms(index, lidar2global_of(pose),
                                      patch_range)
            middle = time.perf_counter()
            ours = rasterize_map_geoms(geoms, MAP_CLASSES, point_cloud_range,
                                       args.size, args.size, args.line_width)
            end = time.perf_counter()
            devkit = nusc_map.get_map_mask(
                (pose[0], pose[1], 2 * half, 2 * half),
                math.degrees(pose[2]), list(devkit_layers), canvas)
            totals['devkit'] += time.perf_counter() - end
            totals['extract'] += middle - start
            totals['raster'] += end - middle
            if repeat == 0:
                ious.append(drivable_iou(ours, devkit, devkit_layers))
        for key, value in totals.items():
            pass_times[key].append(value)
    figures = {key: len(poses) / median(values)
               for key, values in pass_times.items()}
    print(f'detail {name}: patches={len(poses)} per-pass seconds ' +
          ' '.join(f'{key}=' + ','.join(f'{v:.2f}' for v in values)
                   for key, values in pass_times.items()) +
          f' drivable_IoU_ours_vs_devkit={np.nanmean(ious):.3f}')
    return figures


def drivable_iou(ours: np.ndarray, devkit: np.ndarray,
                 devkit_layers: Tuple[str, ...]) -> float:
    """Return the IoU of our drivable mask and the devkit's."""
    ours_drivable = ours[MAP_CLASSES.index('drivable')].astype(bool)
    theirs = devkit[devkit_layers.index('drivable_area')].astype(bool)
    union = np.logical_or(ours_drivable, theirs).sum()
    if not union:
        return float('nan')
    return float(np.logical_and(ours_drivable, theirs).sum() / union)


def toy_world(args, workdir: str) -> str:
    if args.toy_root:
        return args.toy_root
    from nexusflow.datasets.toy_world import generate_toy_nuscenes
    return str(generate_toy_nuscenes(
        osp.join(workdir, 'toy'), num_scenes=1, num_frames=2,
        cities=(args.city, )))


def main():
    args = parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        if 'toy' in args.maps:
            root = toy_world(args, workdir)
            start = time.perf_counter()
            nusc_map = NuScenesMap(root, args.city)
            index = MapGeometryIndex.from_nusc_map(nusc_map)
            print(f'detail toy: devkit map + our index built in '
                  f'{time.perf_counter() - start:.2f} s')
            poses = sample_poses(index.geoms['drivable'], args.patches)
            results['toy'] = measure_map('toy', index, nusc_map,
                                         DEVKIT_LAYERS, poses, args)
        if 'real' in args.maps:
            polygons = load_real_drivable(args.real_drivable_dir, args.city)
            real_root = osp.join(workdir, 'real')
            write_drivable_expansion(polygons, args.city, real_root)
            nusc_map = NuScenesMap(real_root, args.city)
            index = MapGeometryIndex(dict(drivable=polygons))
            poses = sample_poses(polygons, args.patches, seed=1)
            results['real'] = measure_map('real', index, nusc_map,
                                          ('drivable_area', ), poses, args)

    parts = []
    for name, fig in results.items():
        ours = 1.0 / (1.0 / fig['extract'] + 1.0 / fig['raster'])
        parts.append(
            f'{name}: extract_per_s={fig["extract"]:.1f} '
            f'raster_per_s={fig["raster"]:.1f} '
            f'ours_extract+raster_per_s={ours:.1f} '
            f'devkit_get_map_mask_per_s={fig["devkit"]:.1f} '
            f'speedup_vs_devkit={ours / fig["devkit"]:.2f}')
    print(f'map_gt city={args.city} bev={args.size}x{args.size} '
          f'range=+-{args.bev_range}m patches={args.patches} '
          f'repeats={args.repeats} | ' + ' | '.join(parts))


if __name__ == '__main__':
    main()
