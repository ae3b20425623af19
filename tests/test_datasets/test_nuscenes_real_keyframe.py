"""The data layer on one real nuScenes keyframe (scene-0061, singapore-onenorth).

The keyframe comes as an mmdet3d v2 info file without NexusFlow's keys, so
the tests adapt it with ``add_nexusflow_keys`` and map geometry cut from the
real onenorth drivable-area polygons.
"""
import json
import re
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
import shapely
from mmengine.registry import init_default_scope
from shapely.geometry import MultiPoint, box, shape

from nexusflow.datasets import NuScenesPartialDataset
from nexusflow.datasets.converters.camera_boxes import (box_corners_lidar,
                                                        camera_instances,
                                                        project_points)
from nexusflow.datasets.info_keys import add_nexusflow_keys
from nexusflow.datasets.map_geometry import (MAP_CLASSES, MapGeometryIndex,
                                             extract_map_geoms,
                                             rasterize_map_geoms)

REAL = '/work/shared/realdata/nuscenes'
KEYFRAME_DIR = osp.join(REAL, 'mmdetection3d/demo/data/nuscenes')
KEYFRAME_PKL = osp.join(KEYFRAME_DIR, 'n015-2018-07-24-11-22-45+0800.pkl')
DRIVABLE_JSON = osp.join(REAL, 'drivable_area/onenorth_drivable_area.json')
CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
CLASS_NAMES = ('car', 'truck', 'construction_vehicle', 'bus', 'trailer',
               'barrier', 'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone')
POINT_CLOUD_RANGE = [-51.2, -51.2, -5.0, 51.2, 51.2, 3.0]
BEV_SIZE = 200
RESIZE_SCALE = 0.5
FLAT_PREFIX = dict(pts='', **{cam: '' for cam in CAMERAS})

pytestmark = pytest.mark.skipif(
    not osp.isfile(KEYFRAME_PKL), reason='real nuScenes keyframe not available')


def _iou(a, b) -> float:
    inter = box(*a).intersection(box(*b)).area
    return inter / (box(*a).area + box(*b).area - inter)


@pytest.fixture(scope='module')
def real_info():
    with open(KEYFRAME_PKL, 'rb') as f:
        return pickle.load(f)


@pytest.fixture(scope='module')
def onenorth_index():
    with open(DRIVABLE_JSON) as f:
        drivable = shape(json.load(f)).buffer(0)
    return drivable, MapGeometryIndex({'drivable': list(shapely.get_parts(drivable))})


def _lidar2global(info) -> np.ndarray:
    return np.asarray(info['ego2global']) @ np.asarray(info['lidar_points']['lidar2ego'])


@pytest.fixture(scope='module')
def adapted_pkl(real_info, onenorth_index, tmp_path_factory):
    info = real_info['data_list'][0]
    map_geoms = extract_map_geoms(onenorth_index[1], _lidar2global(info),
                                  [-53.2, -53.2, 53.2, 53.2])
    adapted = add_nexusflow_keys(info, city='singapore-onenorth', map_geoms=map_geoms)
    path = tmp_path_factory.mktemp('real') / 'nexusflow_infos_val.pkl'
    with open(path, 'wb') as f:
        pickle.dump(dict(metainfo=real_info['metainfo'], data_list=[adapted]), f)
    return str(path)


def _pipeline():
    return [
        dict(type='LoadMultiViewImages'),
        dict(type='ResizeMultiViewImages', scale=RESIZE_SCALE),
        dict(type='LoadTrackedBoxes3D'),
        dict(type='FilterTrackedBoxes', point_cloud_range=POINT_CLOUD_RANGE),
        dict(type='RasterizeMapGT', point_cloud_range=POINT_CLOUD_RANGE,
             bev_h=BEV_SIZE, bev_w=BEV_SIZE, line_width=1.0),
        dict(type='PackNexusFlowInputs'),
    ]


def _dataset(ann_file, data_root=KEYFRAME_DIR, **kwargs):
    init_default_scope('mmdet3d')
    options = dict(partition=dict(map='all', track='all'), queue_length=3,
                   metainfo=dict(classes=CLASS_NAMES))
    options.update(kwargs)
    return NuScenesPartialDataset(data_root=data_root, ann_file=ann_file,
                                  pipeline=_pipeline(), data_prefix=FLAT_PREFIX,
                                  **options)


def test_raw_mmdet3d_pkl_asks_for_converter():
    with pytest.raises(KeyError, match='tools/create_data.py'):
        _dataset(KEYFRAME_PKL)


def test_clip_repeats_first_frame(adapted_pkl, real_info):
    item = _dataset(adapted_pkl)[0]
    img = item['inputs']['img']
    assert tuple(img.shape) == (3, 6, 3, 450, 800)
    assert len(item['data_samples']) == 3
    tokens = [s.metainfo['token'] for s in item['data_samples']]
    assert tokens == [real_info['data_list'][0]['token']] * 3
    sample = item['data_samples'][-1]
    assert sample.metainfo['city'] == 'singapore-onenorth'
    assert sample.metainfo['task_mask'] == dict(map=True, track=True)
    assert sample.metainfo['lidar2img'].shape == (6, 4, 4)
    assert sample.metainfo['can_bus'].shape == (18, )
    assert sample.gt_instances_3d.bboxes_3d.tensor.shape[1] == 9
    assert sample.gt_map_masks.shape == (len(MAP_CLASSES), BEV_SIZE, BEV_SIZE)


def test_test_mode_returns_one_frame(adapted_pkl):
    item = _dataset(adapted_pkl, test_mode=True)[0]
    assert tuple(item['inputs']['img'].shape[:2]) == (1, 6)
    # Labels stay in the sample at test time; metrics read them.
    assert len(item['data_samples'][0].gt_instances_3d.labels_3d) > 0


def test_boxes_project_onto_annotated_2d_boxes(adapted_pkl, real_info):
    """Corners of the packed 3D boxes, projected with the resized lidar2img,
    bound the same image region as mmdet3d's 2D annotations.

    Tolerance: the centre of each box projects within 1 px of the annotated
    ``center_2d`` and the clipped corner box has IoU > 0.7 with the
    annotated 2D box (both at the resized scale)."""
    sample = _dataset(adapted_pkl, test_mode=True)[0]['data_samples'][0]
    boxes = sample.gt_instances_3d.bboxes_3d
    centers = boxes.gravity_center.numpy().astype(np.float64)
    corners = boxes.corners.numpy().astype(np.float64)
    height, width = sample.metainfo['img_shape']
    info = real_info['data_list'][0]
    matched = 0
    for cam_index, cam in enumerate(CAMERAS):
        lidar2img = sample.metainfo['lidar2img'][cam_index]
        annotated = info['cam_instances'][cam]
        annotated_centers = np.array([a['center_2d'] for a in annotated]) * RESIZE_SCALE
        pixels, depth = project_points(centers, lidar2img)
        for k in range(len(centers)):
            inside = (0 <= pixels[k, 0] < width) and (0 <= pixels[k, 1] < height)
            if depth[k] < 1.0 or not inside:
                continue
            distance = np.linalg.norm(annotated_centers - pixels[k], axis=1)
            nearest = int(distance.argmin())
            assert distance[nearest] < 1.0, (cam, k, distance[nearest])
            corner_px, corner_depth = project_points(corners[k], lidar2img)
            hull = MultiPoint([tuple(p) for p in corner_px[corner_depth > 0.1]]).convex_hull
            ours = hull.intersection(box(0, 0, width, height)).bounds
            reference = np.array(annotated[nearest]['bbox']) * RESIZE_SCALE
            assert _iou(ours, reference) > 0.7, (cam, k, ours, reference)
            matched += 1
    assert matched >= 30


def test_camera_instances_match_mmdet3d(real_info):
    """Our cam_instances builder reproduces the 2D annotations of the real info."""
    info = real_info['data_list'][0]
    boxes = np.array([i['bbox_3d'] for i in info['instances']])
    velocities = np.array([i['velocity'] for i in info['instances']])
    labels = [i['bbox_label_3d'] for i in info['instances']]
    for cam in CAMERAS:
        image = info['images'][cam]
        ours = camera_instances(boxes, velocities, labels, [8] * len(labels),
                                image['lidar2cam'], image['cam2img'], (1600, 900))
        ours_centers = np.array([o['bbox_3d'][:3] for o in ours])
        for reference in info['cam_instances'][cam]:
            distance = np.linalg.norm(ours_centers - reference['bbox_3d'][:3], axis=1)
            match = ours[int(distance.argmin())]
            assert distance.min() < 1e-3
            yaw_error = (match['bbox_3d'][6] - reference['bbox_3d'][6] + np.pi) % (2 * np.pi) - np.pi
            assert abs(yaw_error) < 1e-2
            assert np.allclose(match['center_2d'], reference['center_2d'], atol=0.5)


def test_drivable_raster_agrees_with_polygon(real_info, onenorth_index):
    drivable, index = onenorth_index
    info = real_info['data_list'][0]
    lidar2global = _lidar2global(info)
    map_geoms = extract_map_geoms(index, lidar2global, [-53.2, -53.2, 53.2, 53.2])
    masks = rasterize_map_geoms(map_geoms, MAP_CLASSES, POINT_CLOUD_RANGE,
                                BEV_SIZE, BEV_SIZE, line_width=1.0)
    raster = masks[MAP_CLASSES.index('drivable')]

    # The LiDAR origin sits between cells 99 and 100 on both axes.
    assert raster[97:103, 97:103].all()
    assert masks[:3].sum() == 0  # only the drivable layer was given

    # Cell centres taken back to global coordinates must agree with the
    # polygon itself, except along its edges.
    cell = 102.4 / BEV_SIZE
    rows, cols = np.mgrid[0:BEV_SIZE:5, 0:BEV_SIZE:5]
    x = -51.2 + (cols + 0.5) * cell
    y = -51.2 + (rows + 0.5) * cell
    points = np.stack([x.ravel(), y.ravel(), np.zeros(x.size), np.ones(x.size)])
    world = (lidar2global @ points)[:2].T
    local = drivable.intersection(box(*(world.min(0) - 1), *(world.max(0) + 1)))
    inside = shapely.contains_xy(local, world[:, 0], world[:, 1])
    agreement = (raster[rows.ravel(), cols.ravel()].astype(bool) == inside).mean()
    assert 0.05 < inside.mean() < 0.95  # the patch contains road and non-road
    assert agreement > 0.97


def _copy_images(tmp_path) -> str:
    for name in pickle.load(open(KEYFRAME_PKL, 'rb'))['data_list'][0]['images'].values():
        shutil.copy(osp.join(KEYFRAME_DIR, name['img_path']), tmp_path)
    return str(tmp_path)


def test_missing_image_names_file(adapted_pkl, real_info, tmp_path):
    root = _copy_images(tmp_path)
    front = real_info['data_list'][0]['images']['CAM_FRONT']['img_path']
    (tmp_path / front).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(front)):
        _dataset(adapted_pkl, data_root=root)[0]


def test_corrupt_image_names_file(adapted_pkl, real_info, tmp_path):
    root = _copy_images(tmp_path)
    back = real_info['data_list'][0]['images']['CAM_BACK']['img_path']
    data = (tmp_path / back).read_bytes()
    (tmp_path / back).write_bytes(b'not a jpeg' + data[:100])
    with pytest.raises(ValueError, match=re.escape(back)):
        _dataset(adapted_pkl, data_root=root)[0]
