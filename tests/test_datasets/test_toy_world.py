"""Tests of the toy nuScenes world generator (nexusflow.datasets.toy_world)."""
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from nuscenes.map_expansion.map_api import NuScenesMap
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.geometry_utils import points_in_box, view_points

from nexusflow.datasets.toy_world import CITY_STYLES, OBJECT_CLASSES, generate_toy_nuscenes

VERSION = 'v1.0-mini'
CONFORMANCE_SCRIPT = Path('/work/shared/checks/nuscenes_conformance.py')
CLASS_OF_CATEGORY = {spec.category: name for name, spec in OBJECT_CLASSES.items()}


@pytest.fixture(scope='module')
def nusc(toy_nuscenes_root):
    return NuScenes(version=VERSION, dataroot=str(toy_nuscenes_root), verbose=False)


def city_of_sample(nusc, sample):
    scene = nusc.get('scene', sample['scene_token'])
    return nusc.get('log', scene['log_token'])['location']


@pytest.mark.skipif(not CONFORMANCE_SCRIPT.is_file(),
                    reason=f'conformance script not found at {CONFORMANCE_SCRIPT}')
def test_conformance_check_passes(toy_nuscenes_root):
    result = subprocess.run(
        [sys.executable, str(CONFORMANCE_SCRIPT), '--dataroot', str(toy_nuscenes_root),
         '--version', VERSION], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'conformant' in result.stdout.splitlines()[-1]


def test_custom_splits_cover_cities(nusc):
    from nuscenes.utils.splits import get_scenes_of_split
    train = set(get_scenes_of_split('toy_train', nusc))
    val = set(get_scenes_of_split('toy_val', nusc))
    assert train and val
    assert not train & val
    assert train | val == {scene['name'] for scene in nusc.scene}
    for city in ('boston-seaport', 'singapore-onenorth'):
        city_scenes = {s['name'] for s in nusc.scene
                       if nusc.get('log', s['log_token'])['location'] == city}
        assert set(get_scenes_of_split(f'toy_train_{city}', nusc)) == city_scenes & train
        assert set(get_scenes_of_split(f'toy_val_{city}', nusc)) == city_scenes & val


def test_map_masks_around_ego(nusc, toy_nuscenes_root):
    for scene in nusc.scene:
        city = nusc.get('log', scene['log_token'])['location']
        nusc_map = NuScenesMap(dataroot=str(toy_nuscenes_root), map_name=city)
        sample = nusc.get('sample', scene['first_sample_token'])
        pose = nusc.get('ego_pose', nusc.get('sample_data', sample['data']['LIDAR_TOP'])
                        ['ego_pose_token'])
        x, y = pose['translation'][:2]
        layers = ['drivable_area', 'road_divider', 'lane_divider', 'walkway', 'lane']
        masks = nusc_map.get_map_mask((x, y, 60.0, 60.0), 0.0, layers, (240, 240))
        for layer, mask in zip(layers, masks):
            assert mask.sum() > 0, f'{city} {scene["name"]}: empty {layer} mask'
        # The ego is on the drivable area, so the centre cell of the patch is set.
        assert masks[0][120, 120] == 1
        records = nusc_map.get_records_in_patch((x - 60, y - 60, x + 60, y + 60),
                                                ['lane', 'road_segment', 'ped_crossing'])
        for layer, tokens in records.items():
            assert tokens, f'{city}: no {layer} within 60 m of the first ego pose'


def test_tracks_move_consistently(nusc):
    moving_attributes = {'vehicle.moving', 'pedestrian.moving', 'cycle.with_rider'}
    checked = 0
    for instance in nusc.instance:
        category = nusc.get('category', instance['category_token'])['name']
        spec = OBJECT_CLASSES[CLASS_OF_CATEGORY[category]]
        annotation = nusc.get('sample_annotation', instance['first_annotation_token'])
        speeds = []
        while annotation['next']:
            following = nusc.get('sample_annotation', annotation['next'])
            dt = 1e-6 * (nusc.get('sample', following['sample_token'])['timestamp']
                         - nusc.get('sample', annotation['sample_token'])['timestamp'])
            assert dt > 0
            step = np.subtract(following['translation'], annotation['translation'])
            assert abs(step[2]) < 1e-6, 'boxes stay on the ground'
            speeds.append(np.linalg.norm(step[:2]) / dt)
            if dt == pytest.approx(0.5) and speeds[-1] > 0.1:
                # Moving objects drive forwards, along their heading.
                yaw = 2 * np.arctan2(annotation['rotation'][3], annotation['rotation'][0])
                heading = np.array([np.cos(yaw), np.sin(yaw)])
                assert heading @ step[:2] / np.linalg.norm(step[:2]) > 0.95
            assert following['instance_token'] == instance['token']
            assert following['prev'] == annotation['token']
            annotation = following
        if not speeds:
            continue
        checked += 1
        attributes = {nusc.get('attribute', t)['name'] for t in annotation['attribute_tokens']}
        if attributes & moving_attributes:
            assert min(speeds) >= 0.95 * spec.speed[0]
            assert max(speeds) <= 1.05 * spec.speed[1]
            # Constant speed along the lane: chords of curved lanes differ by < 2 %.
            assert max(speeds) - min(speeds) <= 0.02 * max(speeds) + 1e-3
            velocity = nusc.box_velocity(annotation['token'])[:2]
            assert np.linalg.norm(velocity) == pytest.approx(np.mean(speeds), rel=0.05)
        else:
            assert max(speeds) < 1e-6, f'{category} without a moving attribute moved'
    assert checked >= 10


def test_lidar_points_match_counts(nusc, toy_nuscenes_root):
    sample = nusc.sample[0]
    lidar_token = sample['data']['LIDAR_TOP']
    path, boxes, _ = nusc.get_sample_data(lidar_token)
    points = np.fromfile(path, dtype=np.float32).reshape(-1, 5)
    assert len(points) > 1000
    assert boxes
    for box in boxes:
        annotation = nusc.get('sample_annotation', box.token)
        inside = points_in_box(box, points[:, :3].T).sum()
        assert annotation['num_lidar_pts'] > 0
        assert inside == annotation['num_lidar_pts']


def _expected_class(pixel, style):
    """Return the object class whose tinted colour is closest in chromaticity to pixel."""
    pixel = pixel / np.linalg.norm(pixel)
    scores = {name: float(pixel @ (style.object_rgb(name) / np.linalg.norm(style.object_rgb(name))))
              for name in OBJECT_CLASSES}
    return max(scores, key=scores.get)


def _projected_rect(box, intrinsic):
    corners = view_points(box.corners(), intrinsic, normalize=True)[:2]
    return corners[0].min(), corners[1].min(), corners[0].max(), corners[1].max()


def test_boxes_drawn_in_class_colour(nusc):
    checked = 0
    for sample in nusc.sample:
        style = CITY_STYLES[city_of_sample(nusc, sample)]
        for camera in ('CAM_FRONT', 'CAM_BACK', 'CAM_FRONT_LEFT', 'CAM_FRONT_RIGHT'):
            path, boxes, intrinsic = nusc.get_sample_data(sample['data'][camera])
            image = cv2.imread(path)[..., ::-1].astype(np.float64)
            height, width = image.shape[:2]
            in_front = sorted((b for b in boxes if b.center[2] > 1.0), key=lambda b: b.center[2])
            for rank, box in enumerate(in_front):
                if box.center[2] > 25.0:
                    break
                u, v = view_points(box.center[:, None], intrinsic, normalize=True)[:2, 0]
                col, row = int(round(u)), int(round(v))
                if not (2 <= col < width - 2 and 2 <= row < height - 2):
                    continue
                # Check only boxes of at least 5 x 5 pixels whose centre no other box may cover.
                rects = [_projected_rect(other, intrinsic) for other in in_front]
                u_min, v_min, u_max, v_max = rects[rank]
                if min(u_max - u_min, v_max - v_min) < 5:
                    continue
                # The 2-pixel margin covers the 3 x 3 window read around the centre.
                if any(r[0] - 2 <= u <= r[2] + 2 and r[1] - 2 <= v <= r[3] + 2
                       for i, r in enumerate(rects) if i != rank):
                    continue
                pixel = np.median(image[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3), axis=0)
                category = nusc.get('sample_annotation', box.token)['category_name']
                assert _expected_class(pixel, style) == CLASS_OF_CATEGORY[category], \
                    f'{camera} of {sample["token"]}: pixel {pixel} at {col},{row} for {category}'
                checked += 1
    assert checked >= 10


def test_cities_differ_in_colour(nusc):
    means = {}
    for sample in nusc.sample:
        path = nusc.get_sample_data_path(sample['data']['CAM_FRONT'])
        means.setdefault(city_of_sample(nusc, sample), []).append(
            cv2.imread(path)[..., ::-1].reshape(-1, 3).mean(axis=0))
    boston = np.mean(means['boston-seaport'], axis=0)
    onenorth = np.mean(means['singapore-onenorth'], axis=0)
    assert np.linalg.norm(boston - onenorth) > 10.0, (boston, onenorth)


def _tables(root):
    return {p.name: p.read_bytes() for p in sorted((Path(root) / VERSION).glob('*.json'))}


def test_generation_is_deterministic(tmp_path):
    kwargs = dict(version=VERSION, num_scenes=1, num_frames=3, img_scale=0.05,
                  cities=('singapore-onenorth',))
    first = generate_toy_nuscenes(tmp_path / 'a', seed=3, **kwargs)
    again = generate_toy_nuscenes(tmp_path / 'b', seed=3, **kwargs)
    other = generate_toy_nuscenes(tmp_path / 'c', seed=4, **kwargs)
    assert _tables(first) == _tables(again)
    assert len(_tables(first)) == 14
    image = sorted((first / 'samples' / 'CAM_FRONT').iterdir())[0].name
    assert (first / 'samples' / 'CAM_FRONT' / image).read_bytes() == \
        (again / 'samples' / 'CAM_FRONT' / image).read_bytes()
    different = [name for name, content in _tables(first).items()
                 if content != _tables(other)[name]]
    assert 'sample_annotation.json' in different
    assert 'ego_pose.json' in different


@pytest.mark.parametrize('kwargs, message', [
    (dict(cities=('paris',)), 'cities'),
    (dict(version='mini'), 'version'),
    (dict(num_frames=1), 'num_frames'),
    (dict(img_scale=2.0), 'img_scale'),
    (dict(calibration_file='/nonexistent/info.pkl'), 'not found'),
])
def test_invalid_arguments_raise(tmp_path, kwargs, message):
    error = FileNotFoundError if 'calibration_file' in kwargs else ValueError
    with pytest.raises(error, match=message):
        generate_toy_nuscenes(tmp_path / 'bad', **kwargs)
