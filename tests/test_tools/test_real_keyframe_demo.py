"""tools/analysis_tools/real_keyframe_demo.py on the real nuScenes keyframe with a random tiny model."""
import importlib.util
import json
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import shapely
import torch
from PIL import Image
from shapely.geometry import shape

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'real_keyframe_demo.py')
CONFIG = osp.join(REPO_ROOT, 'configs', 'nexusflow',
                  'nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py')
# The same place the script looks by default: ../shared beside the checkout.
REAL = osp.join(REPO_ROOT, '..', 'shared', 'realdata', 'nuscenes')
INFO = osp.join(REAL, 'mmdetection3d', 'demo', 'data', 'nuscenes',
                'n015-2018-07-24-11-22-45+0800.pkl')
DRIVABLE = osp.join(REAL, 'drivable_area', 'onenorth_drivable_area.json')
BEV_HALF_SIZE = 25.6  # metres, the tiny config's point_cloud_range
BEV_CELLS = 50

pytestmark = pytest.mark.skipif(
    not osp.isfile(INFO), reason=f'real nuScenes keyframe not found at {INFO}')


def _load_demo_module():
    spec = importlib.util.spec_from_file_location('real_keyframe_demo', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def demo():
    return _load_demo_module()


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory, demo):
    from mmdet3d.registry import MODELS
    from mmengine.registry import init_default_scope

    cfg = demo.load_config(CONFIG)
    init_default_scope('mmdet3d')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('ckpt') / 'random_tiny.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


@pytest.fixture(scope='module')
def demo_run(random_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp('demo') / 'real_keyframe.png'
    result = subprocess.run(
        [sys.executable, SCRIPT, CONFIG, random_checkpoint, '--out', str(out),
         '--device', 'cpu'],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result.stdout + result.stderr


def _expected_gt_boxes_in_range() -> int:
    """Count the boxes of the 10 detection classes with LiDAR points and centre inside the BEV."""
    with open(INFO, 'rb') as f:
        entry = pickle.load(f)['data_list'][0]
    count = 0
    for instance in entry['instances']:
        x, y = instance['bbox_3d'][:2]
        inside = abs(x) < BEV_HALF_SIZE and abs(y) < BEV_HALF_SIZE
        if inside and instance['bbox_label_3d'] >= 0 and instance['num_lidar_pts'] > 0:
            count += 1
    return count


def _drivable_cell_count(grow: float = 0.0) -> int:
    """Count BEV cell centres inside the real drivable polygon grown by ``grow`` metres.

    Computed with shapely alone, without the project's map code.
    """
    with open(INFO, 'rb') as f:
        entry = pickle.load(f)['data_list'][0]
    lidar2global = (np.asarray(entry['ego2global'])
                    @ np.asarray(entry['lidar_points']['lidar2ego']))
    with open(DRIVABLE) as f:
        area = shape(json.load(f)).buffer(0).buffer(grow)
    centres = -BEV_HALF_SIZE + (np.arange(BEV_CELLS) + 0.5) * 2 * BEV_HALF_SIZE / BEV_CELLS
    grid_x, grid_y = np.meshgrid(centres, centres)
    points = np.stack([grid_x.ravel(), grid_y.ravel(), np.zeros(grid_x.size),
                       np.ones(grid_x.size)])
    world = (lidar2global @ points)[:2]
    return int(shapely.contains_xy(area, world[0], world[1]).sum())


def _expected_picture_shape(demo) -> tuple:
    """Return the picture shape for one prediction, the ground truth, six
    160x90 cameras and the demo's three caption lines."""
    from mmdet3d.structures import Det3DDataSample

    from nexusflow.visualization import SampleRenderer

    renderer = SampleRenderer(
        point_cloud_range=[-BEV_HALF_SIZE, -BEV_HALF_SIZE, -5.0, BEV_HALF_SIZE,
                           BEV_HALF_SIZE, 3.0],
        bev_h=BEV_CELLS, bev_w=BEV_CELLS)
    sample = Det3DDataSample()
    sample.pred_map_masks = torch.zeros(4, BEV_CELLS, BEV_CELLS, dtype=torch.bool)
    sample.gt_map_masks = torch.zeros(4, BEV_CELLS, BEV_CELLS, dtype=torch.uint8)
    picture = renderer.render([sample], sample,
                              images=[np.zeros((90, 160, 3), np.uint8)] * 6)
    return demo.add_caption(picture, ['caption'] * 3).shape


def test_demo_writes_picture(demo_run, demo):
    out, _ = demo_run
    assert out.is_file()
    with Image.open(out) as image:
        assert image.format == 'PNG'
        picture = np.asarray(image.convert('RGB'))
    assert picture.shape == _expected_picture_shape(demo)
    # Two BEV panels side by side, cameras and a caption above them.
    assert picture.shape[1] > 2 * 480
    assert picture.std() > 20
    # The camera mosaic starts below the caption and shows the real images,
    # which are far from the white page background.
    camera_band = picture[100:300]
    assert (camera_band < 200).mean() > 0.3


def test_demo_counts_match_real_data(demo_run):
    out, output = demo_run
    counts_path = out.with_suffix('.json')
    assert counts_path.is_file()
    counts = json.loads(counts_path.read_text())

    assert counts['gt_boxes_in_range'] == _expected_gt_boxes_in_range()
    assert counts['gt_boxes_in_range'] > 0
    # cv2.fillPoly also fills the cells that the polygon edges cross, so the
    # raster lies between the cells whose centre is inside the polygon and
    # those whose centre is within half a cell diagonal of it.
    cell = 2 * BEV_HALF_SIZE / BEV_CELLS
    assert 0 < counts['gt_drivable_cells'] < BEV_CELLS * BEV_CELLS
    assert counts['gt_drivable_cells'] >= _drivable_cell_count()
    assert counts['gt_drivable_cells'] <= _drivable_cell_count(grow=cell / np.sqrt(2))
    assert counts['empty_gt_map_classes'] == ['divider', 'ped_crossing', 'contour']
    assert counts['token'] == 'ca9a282c9e77460f8360f564131a8af5'

    assert isinstance(counts['pred_boxes'], int)
    assert counts['pred_boxes'] >= 0
    assert 0.0 <= counts['drivable_iou'] <= 1.0
    assert str(out) in output
    assert f"Drivable IoU (prediction vs. real polygon): {counts['drivable_iou']:.4f}" in output
    assert f"Predicted boxes with score >= 0.3: {counts['pred_boxes']}" in output


def test_missing_realdata_root_names_folder(demo, tmp_path):
    missing = tmp_path / 'no_realdata'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        demo.main([CONFIG, 'unused.pth', '--realdata-root', str(missing)])


def test_missing_drivable_folder_names_it(demo, tmp_path):
    (tmp_path / 'mmdetection3d' / 'demo' / 'data' / 'nuscenes').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='drivable_area'):
        demo.main([CONFIG, 'unused.pth', '--realdata-root', str(tmp_path)])


def test_resize_inserted_after_loading(demo):
    pipeline = [dict(type='LoadMultiViewImages'), dict(type='PackNexusFlowInputs')]
    resized = demo.pipeline_with_resize(pipeline, None)
    assert [step['type'] for step in resized] == [
        'LoadMultiViewImages', 'ResizeMultiViewImages', 'PackNexusFlowInputs']
    assert resized[1]['size'] == (160, 90)
    assert len(pipeline) == 2  # the config's pipeline is left unchanged


def test_resize_of_config_kept_or_replaced(demo):
    pipeline = [dict(type='LoadMultiViewImages'),
                dict(type='ResizeMultiViewImages', scale=0.8)]
    kept = demo.pipeline_with_resize(pipeline, None)
    assert kept[1] == dict(type='ResizeMultiViewImages', scale=0.8)
    replaced = demo.pipeline_with_resize(pipeline, (320, 180))
    assert replaced[1] == dict(type='ResizeMultiViewImages', size=(320, 180))
    assert len(replaced) == 2


def test_pipeline_without_loading_rejected(demo):
    with pytest.raises(ValueError, match='LoadMultiViewImages'):
        demo.pipeline_with_resize([dict(type='PackNexusFlowInputs')], None)
