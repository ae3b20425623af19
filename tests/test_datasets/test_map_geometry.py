"""Map geometry extraction and BEV rasterization conventions."""
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from shapely.geometry import LineString, Polygon

from nexusflow.datasets.map_geometry import (MAP_CLASSES, MapGeometryIndex,
                                             extract_map_geoms,
                                             rasterize_map_geoms)
from nexusflow.datasets.transforms import ResizeMultiViewImages

RANGE = [-10.0, -5.0, -3.0, 10.0, 5.0, 3.0]  # 20 m x 10 m
EMPTY = {name: [] for name in MAP_CLASSES}


def raster(geoms, bev_h=10, bev_w=20, line_width=0.5):
    return rasterize_map_geoms({**EMPTY, **geoms}, MAP_CLASSES, RANGE, bev_h,
                               bev_w, line_width)


def test_cell_convention_rows_are_y():
    # A short divider around x = 3.5 m, y = -2.5 m: column 13, row 2 (1 m cells).
    masks = raster(dict(divider=[np.array([[3.4, -2.5], [3.6, -2.5]], np.float32)]))
    channel = masks[MAP_CLASSES.index('divider')]
    assert channel.sum() >= 1
    rows, cols = np.nonzero(channel)
    assert set(rows) == {2}
    assert set(cols) <= {13, 14}
    assert 13 in cols


def test_drivable_filled_with_hole():
    outer = np.array([[-8, -4], [8, -4], [8, 4], [-8, 4]], np.float32)
    hole = np.array([[-2, -2], [-2, 2], [2, 2], [2, -2]], np.float32)
    channel = raster(dict(drivable=[outer, hole]))[MAP_CLASSES.index('drivable')]
    assert channel[1, 3] == 1        # x = -6.5, y = -3.5 inside the ring
    assert channel[5, 10] == 0       # x = 0.5, y = 0.5 inside the hole
    assert channel[0, 0] == 0        # x = -9.5 outside


def test_contour_is_drawn_as_ring_not_filled():
    ring = np.array([[-8, -4], [8, -4], [8, 4], [-8, 4]], np.float32)
    channel = raster(dict(contour=[ring]))[MAP_CLASSES.index('contour')]
    assert channel[1, 2] == 1        # the left edge at x = -8
    assert channel[5, 10] == 0       # the interior stays empty


def test_line_width_in_metres():
    line = [np.array([[-9.0, 0.0], [9.0, 0.0]], np.float32)]
    thin = raster(dict(divider=line), bev_h=40, bev_w=80, line_width=0.25)
    thick = raster(dict(divider=line), bev_h=40, bev_w=80, line_width=1.5)
    column_thin = thin[0][:, 40].sum()
    column_thick = thick[0][:, 40].sum()
    assert column_thin <= 2
    assert column_thick >= 5


def test_missing_class_raises():
    with pytest.raises(KeyError, match='ped_crossing'):
        rasterize_map_geoms({'divider': []}, MAP_CLASSES, RANGE, 10, 20, 0.5)


def test_extract_rotates_into_lidar_frame():
    """A road strip along global +x, seen by a LiDAR that faces global +y
    (yaw 90 degrees), runs along LiDAR -y."""
    strip = Polygon([(90, 195), (110, 195), (110, 205), (90, 205)])
    divider = LineString([(90, 200), (110, 200)])
    index = MapGeometryIndex(dict(drivable=[strip], divider=[divider], road=[strip]))
    lidar2global = np.eye(4)
    lidar2global[:2, :2] = [[0, -1], [1, 0]]
    lidar2global[:2, 3] = [100, 200]
    geoms = extract_map_geoms(index, lidar2global, [-6, -6, 6, 6])
    line = geoms['divider'][0]
    assert np.allclose(line[:, 0], 0, atol=1e-4)
    assert np.allclose(sorted(line[[0, -1], 1]), [-6, 6], atol=1e-4)
    drivable = np.concatenate(geoms['drivable'])
    assert np.allclose(np.abs(drivable[:, 0]).max(), 5, atol=1e-4)
    assert len(geoms['contour']) == 1
    assert len(geoms['ped_crossing']) == 0


def test_resize_scales_projection():
    init_default_scope('mmdet3d')
    cam2img = np.array([[100.0, 0, 80, 0], [0, 100.0, 45, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    lidar2cam = np.eye(4)
    results = dict(img=[np.zeros((90, 160, 3), np.uint8)] * 2,
                   cam2img=np.stack([cam2img] * 2), lidar2cam=np.stack([lidar2cam] * 2))
    out = ResizeMultiViewImages(size=(80, 30))(results)
    assert out['img'][0].shape == (30, 80, 3)
    point = np.array([1.0, 2.0, 10.0, 1.0])
    projected = out['lidar2img'][0] @ point
    u, v = projected[:2] / projected[2]
    assert np.isclose(u, (80 + 100 * 0.1) * 0.5)
    assert np.isclose(v, (45 + 100 * 0.2) / 3)
    with pytest.raises(ValueError, match='exactly one'):
        ResizeMultiViewImages(scale=0.5, size=(10, 10))
