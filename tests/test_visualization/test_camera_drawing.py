"""Tests of box projection into camera images and of the camera mosaic."""
import glob
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmdet3d.structures import LiDARInstance3DBoxes

from nexusflow.visualization import (MOSAIC_CAMERA_ORDER, draw_boxes_on_image,
                                     project_points, tile_cameras, track_color)
from nexusflow.visualization.camera_drawing import camera_names_from_paths

REAL_DIR = '/work/shared/realdata/nuscenes/mmdetection3d/demo/data/nuscenes'


def pinhole_lidar2img(focal=100.0, width=200, height=100):
    """A camera at the origin looking along +x (LiDAR), image u along -y, v along -z."""
    cam2img = np.array([[focal, 0, width / 2, 0], [0, focal, height / 2, 0],
                        [0, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float64)
    lidar2cam = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
                         dtype=np.float64)
    return cam2img @ lidar2cam


def test_project_points_pinhole():
    lidar2img = pinhole_lidar2img()
    pixels, depth = project_points(np.array([[10.0, 0.0, 0.0], [10.0, -1.0, 0.5]]), lidar2img)
    np.testing.assert_allclose(depth, [10.0, 10.0])
    np.testing.assert_allclose(pixels[0], [100.0, 50.0])
    np.testing.assert_allclose(pixels[1], [110.0, 45.0])


def test_project_points_rejects_bad_matrix():
    with pytest.raises(ValueError, match='lidar2img'):
        project_points(np.zeros((1, 3)), np.eye(3))


def test_box_in_front_is_drawn():
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    boxes = LiDARInstance3DBoxes(torch.tensor([[10.0, 0.0, -1.0, 2.0, 2.0, 2.0, 0.0, 0, 0]]),
                                 box_dim=9)
    draw_boxes_on_image(image, boxes.corners.numpy(), pinhole_lidar2img(), [2], thickness=1)
    color = np.array(track_color(2))
    coloured = (np.abs(image.astype(int) - color).max(axis=-1) <= 60)
    rows, cols = np.nonzero(coloured)
    assert coloured.sum() > 50
    # The near face (x = 9 m) spans u = 100 +- 100 / 9 and v = 50 - 100 / 9 .. 50 + 100 / 9.
    assert 85 <= cols.min() <= 92
    assert 108 <= cols.max() <= 115
    assert 35 <= rows.min() <= 42
    assert 58 <= rows.max() <= 65


def test_box_behind_camera_not_drawn():
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    boxes = LiDARInstance3DBoxes(torch.tensor([[-10.0, 0.0, -1.0, 2.0, 2.0, 2.0, 0.0, 0, 0]]),
                                 box_dim=9)
    draw_boxes_on_image(image, boxes.corners.numpy(), pinhole_lidar2img(), [2])
    assert image.max() == 0


def test_box_straddling_camera_keeps_front_edges_only():
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    # From x = -2 m to x = 6 m: only the front face (x = 6 m) is in front.
    boxes = LiDARInstance3DBoxes(torch.tensor([[2.0, 0.0, -1.0, 8.0, 2.0, 2.0, 0.0, 0, 0]]),
                                 box_dim=9)
    draw_boxes_on_image(image, boxes.corners.numpy(), pinhole_lidar2img(), [1], thickness=1)
    rows, cols = np.nonzero(image.max(axis=-1) > 0)
    # The front face spans u = 100 +- 100 / 6 and v = 50 +- 100 / 6.
    assert cols.min() >= 80
    assert cols.max() <= 120
    assert rows.min() >= 30
    assert rows.max() <= 70


def test_tile_cameras_places_front_row_first():
    names = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
             'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
    images = [np.full((50, 100, 3), 10 * (k + 1), dtype=np.uint8) for k in range(6)]
    mosaic = tile_cameras(images, names, tile_width=100, label=False)
    assert mosaic.shape == (100, 300, 3)
    for slot, name in enumerate(MOSAIC_CAMERA_ORDER):
        row, col = divmod(slot, 3)
        value = 10 * (names.index(name) + 1)
        assert mosaic[row * 50 + 25, col * 100 + 50, 0] == value


def test_tile_cameras_needs_names_for_other_counts():
    with pytest.raises(ValueError, match='camera_names'):
        tile_cameras([np.zeros((10, 10, 3), np.uint8)] * 3)


def test_camera_names_from_nuscenes_paths():
    paths = ['x/log__CAM_FRONT_LEFT__1.jpg', 'x/log__CAM_FRONT__2.jpg',
             'x/log__CAM_BACK_RIGHT__3.jpg']
    assert camera_names_from_paths(paths) == ['CAM_FRONT_LEFT', 'CAM_FRONT', 'CAM_BACK_RIGHT']
    assert camera_names_from_paths(['a.jpg']) is None


@pytest.mark.skipif(not osp.isdir(REAL_DIR), reason='shared real nuScenes keyframe not present')
def test_real_keyframe_boxes_land_in_front_camera():
    with open(osp.join(REAL_DIR, 'n015-2018-07-24-11-22-45+0800.pkl'), 'rb') as f:
        info = pickle.load(f)['data_list'][0]
    cam = info['images']['CAM_FRONT']
    cam2img = np.eye(4)
    cam2img[:3, :3] = np.asarray(cam['cam2img'])
    lidar2img = cam2img @ np.asarray(cam['lidar2cam'])
    boxes = np.array([inst['bbox_3d'] for inst in info['instances']], dtype=np.float32)
    corners = LiDARInstance3DBoxes(torch.from_numpy(boxes)).corners.numpy()

    path = glob.glob(osp.join(REAL_DIR, '*__CAM_FRONT__*.jpg'))[0]
    from PIL import Image
    image = np.asarray(Image.open(path).convert('RGB')).copy()
    before = image.copy()
    draw_boxes_on_image(image, corners, lidar2img, np.arange(len(corners)))
    changed = (image != before).any(axis=-1)
    # The annotated cars ahead lie below the horizon in the 1600 x 900 image.
    assert changed.sum() > 1000
    rows = np.nonzero(changed)[0]
    assert 300 < np.median(rows) < 700
