"""Map ground truth: rasterize the info's ``map_geoms`` onto the BEV grid."""
from typing import Sequence

from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS

from ..map_geometry import MAP_CLASSES, rasterize_map_geoms


@TRANSFORMS.register_module()
class RasterizeMapGT(BaseTransform):
    """Draw ``map_geoms`` into per-class BEV masks.

    Required keys: ``map_geoms``.
    Added keys: ``gt_map_masks`` (uint8 (C_map, bev_h, bev_w), 0 or 1).

    Args:
        point_cloud_range (Sequence[float]): ``[x_min, y_min, z_min, x_max,
            y_max, z_max]`` of the BEV grid, metres.
        bev_h (int): Grid rows (along y).
        bev_w (int): Grid columns (along x).
        map_classes (Sequence[str]): Channel order. Defaults to
            ``('divider', 'ped_crossing', 'contour', 'drivable')``.
        line_width (float): Width of drawn lines and rings, metres.
            Defaults to 1.0.
        fill_classes (Sequence[str]): Classes drawn as filled areas.
            Defaults to ('drivable', ).
        polyline_classes (Sequence[str]): Classes drawn as open polylines.
            Defaults to ('divider', ).
    """

    def __init__(self,
                 point_cloud_range: Sequence[float],
                 bev_h: int,
                 bev_w: int,
                 map_classes: Sequence[str] = MAP_CLASSES,
                 line_width: float = 1.0,
                 fill_classes: Sequence[str] = ('drivable', ),
                 polyline_classes: Sequence[str] = ('divider', )) -> None:
        if len(point_cloud_range) != 6:
            raise ValueError('point_cloud_range must have 6 values; got '
                             f'{point_cloud_range}.')
        if bev_h <= 0 or bev_w <= 0:
            raise ValueError(f'bev_h and bev_w must be positive; got {bev_h}, {bev_w}.')
        if line_width <= 0:
            raise ValueError(f'line_width must be positive metres; got {line_width}.')
        self.point_cloud_range = list(point_cloud_range)
        self.bev_h = bev_h
        self.bev_w = bev_w
        self.map_classes = tuple(map_classes)
        self.line_width = line_width
        self.fill_classes = tuple(fill_classes)
        self.polyline_classes = tuple(polyline_classes)

    def transform(self, results: dict) -> dict:
        results['gt_map_masks'] = rasterize_map_geoms(
            results['map_geoms'], self.map_classes, self.point_cloud_range,
            self.bev_h, self.bev_w, self.line_width,
            fill_classes=self.fill_classes,
            polyline_classes=self.polyline_classes)
        return results
