"""The converter on the toy world, checked against the devkit's own results."""
import pickle

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from nexusflow.datasets.converters.camera_boxes import box_corners_lidar
from nexusflow.datasets.map_geometry import MAP_CLASSES

MMDET3D_SAMPLE_KEYS = ('sample_idx', 'token', 'timestamp', 'ego2global',
                       'lidar_points', 'images', 'instances', 'cam_instances')
OUR_SAMPLE_KEYS = ('scene_token', 'scene_name', 'frame_idx', 'prev', 'next',
                   'city', 'can_bus', 'map_geoms')


@pytest.fixture(scope='module')
def toy_infos(toy_nuscenes_infos):
    infos = {}
    for split, path in toy_nuscenes_infos.items():
        with open(path, 'rb') as f:
            infos[split] = pickle.load(f)
    return infos


@pytest.fixture(scope='module')
def nusc(toy_nuscenes_root):
    from nuscenes import NuScenes
    return NuScenes(version='v1.0-mini', dataroot=str(toy_nuscenes_root), verbose=False)


def test_info_files_have_all_keys(toy_infos):
    assert sorted(toy_infos) == ['train', 'val']
    for content in toy_infos.values():
        metainfo = content['metainfo']
        assert metainfo['info_version'] == '1.1'
        assert metainfo['nexusflow_info_version'] == 1
        assert metainfo['map_classes'] == list(MAP_CLASSES)
        assert len(content['data_list']) > 0
        for info in content['data_list']:
            for key in MMDET3D_SAMPLE_KEYS + OUR_SAMPLE_KEYS:
                assert key in info, key
            assert len(info['images']) == 6
            assert len(info['can_bus']) == 18
            assert not any(info['can_bus'])  # the toy world has no CAN bus


def test_scenes_are_contiguous_and_linked(toy_infos):
    for content in toy_infos.values():
        data_list = content['data_list']
        by_token = {info['token']: info for info in data_list}
        for index, info in enumerate(data_list):
            assert info['sample_idx'] == index
            if info['frame_idx'] == 0:
                assert info['prev'] == ''
            else:
                previous = data_list[index - 1]
                assert previous['scene_token'] == info['scene_token']
                assert previous['frame_idx'] == info['frame_idx'] - 1
                assert info['prev'] == previous['token']
            if info['next']:
                assert by_token[info['next']]['frame_idx'] == info['frame_idx'] + 1


def test_track_ids_follow_instance_tokens(toy_infos):
    for content in toy_infos.values():
        token_to_id = {}
        for info in content['data_list']:
            for instance in info['instances']:
                token = instance['instance_token']
                assert token_to_id.setdefault(token, instance['track_id']) == instance['track_id']
        assert len(set(token_to_id.values())) == len(token_to_id)
        # Objects persist across frames in the toy world, so ids repeat.
        total = sum(len(i['instances']) for i in content['data_list'])
        assert len(token_to_id) < total


def test_cities_follow_split(toy_infos, nusc):
    for content in toy_infos.values():
        for info in content['data_list']:
            scene = nusc.get('scene', info['scene_token'])
            assert info['city'] == nusc.get('log', scene['log_token'])['location']
    cities = {i['city'] for i in toy_infos['train']['data_list']}
    assert cities == {'boston-seaport', 'singapore-onenorth'}


def test_boxes_match_devkit_camera_boxes(toy_infos, nusc):
    """LiDAR boxes taken to each camera with lidar2cam land on the devkit's
    own camera-frame boxes (``NuScenes.get_sample_data``).

    Centres agree within 1 mm. Corners agree within 3 % of the box diagonal,
    because LiDAR boxes keep only the yaw and drop the small pitch and roll
    that the LiDAR mount (about 0.02 rad) gives upright boxes."""
    from nuscenes.utils.geometry_utils import BoxVisibility

    checked = 0
    for info in toy_infos['train']['data_list'][:3]:
        ours = {i['instance_token']: i for i in info['instances']}
        for image in info['images'].values():
            lidar2cam = np.asarray(image['lidar2cam'])
            _, boxes, _ = nusc.get_sample_data(image['sample_data_token'],
                                               box_vis_level=BoxVisibility.NONE)
            for devkit_box in boxes:
                instance_token = nusc.get('sample_annotation', devkit_box.token)['instance_token']
                corners = box_corners_lidar(np.array([ours[instance_token]['bbox_3d']]))[0]
                corners_cam = corners @ lidar2cam[:3, :3].T + lidar2cam[:3, 3]
                reference = devkit_box.corners().T
                distance = np.linalg.norm(reference[:, None] - corners_cam[None], axis=2)
                diagonal = np.linalg.norm(devkit_box.wlh)
                assert distance.min(axis=1).max() < 0.03 * diagonal
                assert np.linalg.norm(corners_cam.mean(0) - devkit_box.center) < 1e-3
                checked += 1
    assert checked > 50


def test_velocity_in_lidar_frame(toy_infos, nusc):
    info = toy_infos['train']['data_list'][1]
    lidar2global = (np.asarray(info['ego2global'])
                    @ np.asarray(info['lidar_points']['lidar2ego']))
    for instance in info['instances'][:10]:
        annotation_token = next(
            a for a in nusc.get('sample', info['token'])['anns']
            if nusc.get('sample_annotation', a)['instance_token'] == instance['instance_token'])
        velocity_global = nusc.box_velocity(annotation_token)
        back = lidar2global[:3, :3] @ np.array([*instance['velocity'], 0.0])
        assert np.allclose(back[:2], velocity_global[:2], atol=0.05)


def test_map_geoms_agree_with_devkit(toy_infos, toy_nuscenes_root):
    """Drivable rings and dividers lie where the devkit's map API finds them."""
    from nuscenes.map_expansion.map_api import NuScenesMap
    import shapely
    from shapely.geometry import Polygon

    info = toy_infos['train']['data_list'][0]
    nusc_map = NuScenesMap(dataroot=str(toy_nuscenes_root), map_name=info['city'])
    lidar2global = (np.asarray(info['ego2global'])
                    @ np.asarray(info['lidar_points']['lidar2ego']))
    geoms = info['map_geoms']
    for name in MAP_CLASSES:
        for points in geoms[name]:
            assert points.dtype == np.float32
            assert points.shape[1] == 2
            assert np.abs(points).max() <= 53.2 + 1e-3
    assert len(geoms['divider']) > 0

    drivable = shapely.unary_union([Polygon(r) for r in geoms['drivable']]).buffer(0)
    rng = np.random.default_rng(0)
    points = rng.uniform(-40, 40, size=(200, 2))
    agree = 0
    for x, y in points:
        world = lidar2global @ np.array([x, y, 0.0, 1.0])
        on_devkit = nusc_map.record_on_point(world[0], world[1], 'drivable_area') != ''
        on_ours = drivable.contains(shapely.geometry.Point(x, y))
        agree += on_devkit == on_ours
    assert agree / len(points) > 0.97


def test_mmdet3d_dataset_reads_our_infos(toy_nuscenes_infos, toy_nuscenes_root):
    from mmdet3d.datasets import NuScenesDataset

    init_default_scope('mmdet3d')
    cams = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
            'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')
    dataset = NuScenesDataset(
        data_root=str(toy_nuscenes_root), ann_file=toy_nuscenes_infos['val'],
        modality=dict(use_camera=True, use_lidar=False),
        data_prefix={cam: f'samples/{cam}' for cam in cams}, pipeline=[])
    info = dataset.get_data_info(0)
    assert info['ann_info']['gt_bboxes_3d'].tensor.shape[1] == 9
    assert info['images']['CAM_FRONT']['img_path'].startswith(str(toy_nuscenes_root))


def test_missing_tables_raise(tmp_path):
    from nexusflow.datasets.converters.nuscenes_converter import create_nuscenes_infos
    with pytest.raises(FileNotFoundError, match='v1.0-mini'):
        create_nuscenes_infos(str(tmp_path), version='v1.0-mini')


def test_can_bus_read_from_expansion(toy_nuscenes_root, nusc, tmp_path):
    """With ``<root>/can_bus`` present, each keyframe gets the last pose message
    at or before its timestamp, then the ego yaw in radians and degrees."""
    import json
    import os

    from nexusflow.datasets.converters.nuscenes_converter import create_nuscenes_infos

    root = tmp_path / 'root'
    root.mkdir()
    for name in os.listdir(toy_nuscenes_root):
        if not name.endswith('.pkl'):
            os.symlink(toy_nuscenes_root / name, root / name)
    (root / 'can_bus').mkdir()
    for scene in nusc.scene:
        first = nusc.get('sample', scene['first_sample_token'])['timestamp']
        messages = [dict(utime=first - 10 + 250_000 * k, pos=[float(k), 0.0, 0.0],
                         orientation=[1.0, 0.0, 0.0, 0.0], accel=[0.0, 0.0, 9.8],
                         rotation_rate=[0.0, 0.0, 0.1], vel=[float(k), 0.0, 0.0])
                    for k in range(40)]
        with open(root / 'can_bus' / f"{scene['name']}_pose.json", 'w') as f:
            json.dump(messages, f)

    paths = create_nuscenes_infos(str(root), version='v1.0-mini', out_dir=str(tmp_path),
                                  with_cam_instances=False)
    with open(paths['train'], 'rb') as f:
        data_list = pickle.load(f)['data_list']
    for info in data_list:
        scene = nusc.get('scene', info['scene_token'])
        first = nusc.get('sample', scene['first_sample_token'])['timestamp']
        offset_us = info['timestamp'] * 1e6 - first
        expected_k = int((offset_us + 10) // 250_000)
        can_bus = np.asarray(info['can_bus'])
        assert can_bus[0] == expected_k
        assert np.allclose(can_bus[3:7], [1, 0, 0, 0])
        assert can_bus[9] == pytest.approx(9.8)
        yaw = np.arctan2(info['ego2global'][1][0], info['ego2global'][0][0])
        assert can_bus[16] == pytest.approx(yaw)
        assert can_bus[17] == pytest.approx(np.degrees(yaw))
