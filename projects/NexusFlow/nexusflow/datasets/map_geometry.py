"""Map geometry around a keyframe: extraction from the map expansion and BEV rasterization.

All geometry leaves this module in the LiDAR frame of the keyframe, in metres,
as ``dict(map class -> list of (P, 2) float32 arrays)`` (the ``map_geoms`` info key).
Dividers are open polylines. ``ped_crossing``, ``contour`` and ``drivable`` are
polygon rings stored without repeating the first point; a polygon with holes
contributes its exterior and each interior ring.
"""
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

MAP_CLASSES = ('divider', 'ped_crossing', 'contour', 'drivable')

# Source layers of the nuScenes map expansion for each indexed geometry group.
# 'road' is the union of road segments and lanes whose boundary is the contour.
SOURCE_LAYERS = {
    'divider': ('lane_divider', 'road_divider'),
    'ped_crossing': ('ped_crossing',),
    'road': ('road_segment', 'lane'),
    'drivable': ('drivable_area',),
}


class MapGeometryIndex:
    """Spatial index over one city's map geometry in global coordinates (metres).

    Args:
        geoms (dict): Group name (``'divider'``, ``'ped_crossing'``,
            ``'road'``, ``'drivable'``) -> list of shapely geometries in
            global map coordinates. Missing groups are treated as empty.
    """

    def __init__(self, geoms: Dict[str, Sequence[BaseGeometry]]) -> None:
        unknown = set(geoms) - set(SOURCE_LAYERS)
        if unknown:
            raise ValueError(f'Unknown map geometry groups {sorted(unknown)}; '
                             f'expected a subset of {sorted(SOURCE_LAYERS)}.')
        self.geoms = {g: list(geoms.get(g, [])) for g in SOURCE_LAYERS}
        self.trees = {g: STRtree(items) for g, items in self.geoms.items()}

    @classmethod
    def from_nusc_map(cls, nusc_map) -> 'MapGeometryIndex':
        """Build the index from a devkit ``NuScenesMap`` of one city."""
        geoms = {}
        for group, layers in SOURCE_LAYERS.items():
            items = []
            for layer in layers:
                for record in getattr(nusc_map, layer):
                    if 'line_token' in record:
                        items.append(nusc_map.extract_line(record['line_token']))
                    elif 'polygon_tokens' in record:
                        items.extend(
                            nusc_map.extract_polygon(t)
                            for t in record['polygon_tokens'])
                    else:
                        items.append(
                            nusc_map.extract_polygon(record['polygon_token']))
            # Some map records have degenerate polygons; buffer(0) repairs
            # self-intersections so that union and intersection succeed.
            geoms[group] = [
                g if isinstance(g, LineString) else g.buffer(0)
                for g in items if not g.is_empty
            ]
        return cls(geoms)

    def query(self, group: str, area: BaseGeometry) -> List[BaseGeometry]:
        """Return the geometries of ``group`` whose bounds meet ``area``."""
        indices = self.trees[group].query(area)
        return [self.geoms[group][i] for i in indices]


def global_to_lidar_affine(lidar2global: np.ndarray) -> np.ndarray:
    """Return the 2D affine map from global map (x, y) to LiDAR (x, y).

    The map is treated as a plane at the LiDAR's global height, so the small
    pitch and roll of the vehicle only scale distances by their cosine.

    Args:
        lidar2global (np.ndarray): (4, 4) LiDAR-to-global pose.

    Returns:
        np.ndarray: (3, 3) homogeneous 2D transform.
    """
    lidar2global = np.asarray(lidar2global, dtype=np.float64)
    rot_t = lidar2global[:3, :3].T
    affine = np.eye(3)
    affine[:2, :2] = rot_t[:2, :2]
    affine[:2, 2] = -rot_t[:2, :2] @ lidar2global[:2, 3]
    return affine


def _to_shapely_affine(matrix: np.ndarray) -> List[float]:
    return [matrix[0, 0], matrix[0, 1], matrix[1, 0], matrix[1, 1],
            matrix[0, 2], matrix[1, 2]]


def _parts_of_type(geom: BaseGeometry, kind: type) -> List[BaseGeometry]:
    return [p for p in shapely.get_parts(geom) if isinstance(p, kind)
            and not p.is_empty]


def _polygon_rings(polygons: Sequence[Polygon]) -> List[np.ndarray]:
    rings = []
    for polygon in polygons:
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.asarray(ring.coords, dtype=np.float32)[:-1, :2]
            if len(coords) >= 3:
                rings.append(coords)
    return rings


def extract_map_geoms(index: MapGeometryIndex,
                      lidar2global: np.ndarray,
                      patch_range: Sequence[float]) -> Dict[str, List[np.ndarray]]:
    """Cut the map around one keyframe and express it in the LiDAR frame.

    Polygons are clipped to the patch, so clipped rings gain straight edges
    on the patch border; choose ``patch_range`` larger than the BEV range
    (by more than the rasterized line width) to keep those edges off the grid.

    Args:
        index (MapGeometryIndex): Map of the keyframe's city.
        lidar2global (np.ndarray): (4, 4) LiDAR-to-global pose of the keyframe.
        patch_range (Sequence[float]): ``[x_min, y_min, x_max, y_max]`` of
            the patch in the LiDAR frame, metres.

    Returns:
        dict: Map class (see ``MAP_CLASSES``) -> list of (P, 2) float32
        arrays in the LiDAR frame, metres.
    """
    g2l = global_to_lidar_affine(lidar2global)
    l2g = np.linalg.inv(g2l)
    patch_lidar = box(*patch_range)
    patch_global = affinity.affine_transform(patch_lidar, _to_shapely_affine(l2g))
    to_lidar = _to_shapely_affine(g2l)

    def clipped(group: str) -> List[BaseGeometry]:
        parts = []
        for geom in index.query(group, patch_global):
            cut = geom.intersection(patch_global)
            if not cut.is_empty:
                parts.append(affinity.affine_transform(cut, to_lidar))
        return parts

    dividers = []
    for cut in clipped('divider'):
        for line in _parts_of_type(cut, LineString):
            dividers.append(np.asarray(line.coords, dtype=np.float32)[:, :2])

    crossings = [p for cut in clipped('ped_crossing')
                 for p in _parts_of_type(cut, Polygon)]
    road = shapely.unary_union(clipped('road')) if index.geoms['road'] else Polygon()
    drivable = (shapely.unary_union(clipped('drivable'))
                if index.geoms['drivable'] else Polygon())

    return dict(
        divider=dividers,
        ped_crossing=_polygon_rings(crossings),
        contour=_polygon_rings(_parts_of_type(road, Polygon)),
        drivable=_polygon_rings(_parts_of_type(drivable, Polygon)))


def rasterize_map_geoms(map_geoms: Dict[str, Sequence[np.ndarray]],
                        map_classes: Sequence[str],
                        point_cloud_range: Sequence[float],
                        bev_h: int,
                        bev_w: int,
                        line_width: float,
                        fill_classes: Sequence[str] = ('drivable', ),
                        polyline_classes: Sequence[str] = ('divider', ),
                        subpixel_bits: int = 4) -> np.ndarray:
    """Draw map geometry onto the BEV grid.

    Cell ``[i, j]`` covers ``x = x_min + (j + 0.5) * dx`` and
    ``y = y_min + (i + 0.5) * dy`` (the grid convention of docs/interfaces.md).

    Args:
        map_geoms (dict): Map class -> list of (P, 2) arrays, LiDAR frame, metres.
        map_classes (Sequence[str]): Output channel order.
        point_cloud_range (Sequence[float]): ``[x_min, y_min, z_min, x_max,
            y_max, z_max]`` in metres.
        bev_h (int): Grid rows (along y).
        bev_w (int): Grid columns (along x).
        line_width (float): Width of drawn lines in metres; at least one cell.
        fill_classes (Sequence[str]): Classes whose rings are filled with the
            even-odd rule (so holes stay empty). Defaults to ('drivable', ).
        polyline_classes (Sequence[str]): Classes drawn as open polylines; the
            rest are closed rings. Defaults to ('divider', ).
        subpixel_bits (int): Fractional bits of the cv2 drawing coordinates.
            Defaults to 4.

    Returns:
        np.ndarray: uint8 (C_map, bev_h, bev_w) with values 0 or 1.
    """
    if len(point_cloud_range) != 6:
        raise ValueError('point_cloud_range must have 6 values [x_min, y_min, '
                         f'z_min, x_max, y_max, z_max]; got {point_cloud_range}.')
    x_min, y_min, _, x_max, y_max, _ = [float(v) for v in point_cloud_range]
    cell_x = (x_max - x_min) / bev_w
    cell_y = (y_max - y_min) / bev_h
    thickness = max(1, int(round(line_width / (0.5 * (cell_x + cell_y)))))
    scale = 1 << subpixel_bits

    def to_pixels(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        u = (points[:, 0] - x_min) / cell_x - 0.5
        v = (points[:, 1] - y_min) / cell_y - 0.5
        return np.round(np.stack([u, v], axis=1) * scale).astype(np.int32)

    masks = np.zeros((len(map_classes), bev_h, bev_w), dtype=np.uint8)
    for channel, name in enumerate(map_classes):
        items: Optional[Sequence[np.ndarray]] = map_geoms.get(name)
        if items is None:
            raise KeyError(f"map_geoms has no class '{name}'; it has "
                           f'{sorted(map_geoms)}.')
        curves = [to_pixels(p) for p in items if len(p) >= 2]
        if not curves:
            continue
        canvas = np.zeros((bev_h, bev_w), dtype=np.uint8)
        if name in fill_classes:
            cv2.fillPoly(canvas, curves, 1, lineType=cv2.LINE_8,
                         shift=subpixel_bits)
        else:
            cv2.polylines(canvas, curves, name not in polyline_classes, 1,
                          thickness=thickness, lineType=cv2.LINE_8,
                          shift=subpixel_bits)
        masks[channel] = canvas
    return masks
