"""Tests of the per-sample picture, track histories, videos and the visualization hook."""
import os

import cv2
import numpy as np
import pytest
import torch
from mmdet3d.registry import HOOKS
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from mmengine.config import Config
from mmengine.structures import InstanceData
from PIL import Image

from nexusflow.visualization import (BEVVisualizationHook, SampleRenderer,
                                     TrackHistory, boxes_from_instances,
                                     save_png, write_video)
from nexusflow.visualization.sample_figure import (FrameBoxes,
                                                   images_from_paths,
                                                   images_from_tensor)

PC_RANGE = [-20.0, -20.0, -5.0, 20.0, 20.0, 3.0]
BEV = 40


def pose(x=0.0, y=0.0, yaw=0.0):
    matrix = np.eye(4)
    matrix[:2, :2] = [[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]]
    matrix[:2, 3] = [x, y]
    return matrix


def make_frame(token, frame_idx, ego_x=0.0, box_x=5.0, scores=(0.9, 0.1)):
    """Prediction and GT of one frame: two boxes, ids 3 and 8; a pinhole front camera."""
    lidar2img = np.tile(np.eye(4), (6, 1, 1))
    lidar2img[:, :3, :3] = [[0, -50, 32], [0, 0, 0], [1, 0, 0]]
    lidar2img[:, 1, :3] = [0, 0, -50]
    lidar2img[:, 1, 0] = 24
    lidar2img[:, 0, 0] = 32
    meta = dict(token=token, scene_token='scene-a', frame_idx=frame_idx,
                lidar2ego=np.eye(4), ego2global=pose(ego_x), lidar2img=lidar2img,
                cam_names=['CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
                           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT'])
    tensor = torch.tensor([[box_x, 0.0, -1.0, 4.0, 2.0, 1.5, 0.0, 0, 0],
                           [-5.0, 8.0, -1.0, 4.0, 2.0, 1.5, 0.0, 0, 0]])
    boxes = LiDARInstance3DBoxes(tensor, box_dim=9)
    masks = np.zeros((4, BEV, BEV), dtype=bool)
    masks[3, 10:30] = True

    pred = Det3DDataSample(metainfo=meta)
    instances = InstanceData()
    instances.bboxes_3d = boxes
    instances.scores_3d = torch.tensor(scores)
    instances.labels_3d = torch.zeros(2, dtype=torch.long)
    instances.track_ids = torch.tensor([3, 8])
    pred.pred_instances_3d = instances
    pred.pred_map_masks = torch.from_numpy(masks)

    gt = Det3DDataSample(metainfo=meta)
    gt_instances = InstanceData()
    gt_instances.bboxes_3d = boxes
    gt_instances.labels_3d = torch.zeros(2, dtype=torch.long)
    gt_instances.track_ids = torch.tensor([3, 8])
    gt.gt_instances_3d = gt_instances
    gt.gt_map_masks = torch.from_numpy(masks.astype(np.uint8))
    return pred, gt


def test_boxes_from_instances_filters_scores():
    pred, _ = make_frame('t0', 0)
    boxes = boxes_from_instances(pred.pred_instances_3d, score_thr=0.5)
    assert boxes.track_ids.tolist() == [3]
    assert boxes.corners.shape == (1, 8, 3)
    np.testing.assert_allclose(boxes.centers[0], [5.0, 0.0, -1.0])
    assert len(boxes_from_instances(None).track_ids) == 0


def test_track_history_moves_into_current_frame():
    history = TrackHistory(num_frames=3)
    centers = np.array([[5.0, 0.0, 0.0]])
    out = history.update('s', FrameBoxes(np.zeros((1, 8, 3)), centers, np.array([3])), pose(0.0))
    assert out == {}
    # The ego moved 2 m along x and the object stayed put in the global frame.
    out = history.update('s', FrameBoxes(np.zeros((1, 8, 3)), centers - [2.0, 0, 0], np.array([3])),
                         pose(2.0))
    np.testing.assert_allclose(out[3], [[3.0, 0.0], [3.0, 0.0]])
    # A new scene clears the old tracks.
    out = history.update('t', FrameBoxes(np.zeros((1, 8, 3)), centers, np.array([3])), pose(0.0))
    assert out == {}


def test_track_history_keeps_k_frames():
    history = TrackHistory(num_frames=2)
    for step in range(5):
        out = history.update('s', FrameBoxes(np.zeros((1, 8, 3)), np.array([[float(step), 0, 0]]),
                                             np.array([1])))
    np.testing.assert_allclose(out[1][:, 0], [2.0, 3.0, 4.0])


def test_renderer_side_by_side_and_compare():
    pred, gt = make_frame('t0', 0)
    renderer = SampleRenderer(PC_RANGE, BEV, BEV, panel_size=200)
    single = renderer.render([pred], gt)
    renderer = SampleRenderer(PC_RANGE, BEV, BEV, panel_size=200)
    double = renderer.render([pred, pred], gt, pred_titles=['baseline', 'nexusflow'])
    assert single.shape[0] == double.shape[0]
    # Three panels are wider than two by one panel plus its gap.
    panel_width = (single.shape[1] - 6) // 2
    assert double.shape[1] == single.shape[1] + panel_width + 6
    assert single.std() > 10


def test_renderer_adds_camera_mosaic():
    pred, gt = make_frame('t0', 0)
    images = [np.full((48, 64, 3), 100, dtype=np.uint8) for _ in range(6)]
    without = SampleRenderer(PC_RANGE, BEV, BEV, panel_size=200).render([pred], gt)
    with_cams = SampleRenderer(PC_RANGE, BEV, BEV, panel_size=200).render([pred], gt, images=images)
    assert with_cams.shape[1] == without.shape[1]
    assert with_cams.shape[0] > without.shape[0] + 100


def test_renderer_needs_bev_size_without_masks():
    pred, _ = make_frame('t0', 0)
    del pred.pred_map_masks
    with pytest.raises(ValueError, match='bev_h and bev_w'):
        SampleRenderer(PC_RANGE).render([pred])


def test_images_from_tensor_swaps_bgr():
    img = torch.zeros(1, 6, 3, 4, 5, dtype=torch.uint8)
    img[:, :, 0] = 200  # blue in BGR
    images = images_from_tensor(img, 'bgr')
    assert len(images) == 6
    assert images[0].shape == (4, 5, 3)
    assert images[0][0, 0].tolist() == [0, 0, 200]


def test_write_gif_and_mp4(tmp_path):
    frames = [np.full((31, 41, 3), 40 * k, dtype=np.uint8) for k in range(3)]
    gif = write_video(frames, str(tmp_path / 'scene.gif'))
    with Image.open(gif) as image:
        assert image.n_frames == 3
        assert image.size == (42, 32)
    mp4 = write_video(frames, str(tmp_path / 'scene.mp4'))
    capture = cv2.VideoCapture(mp4)
    num_read = 0
    while capture.read()[0]:
        num_read += 1
    capture.release()
    assert num_read == 3
    with pytest.raises(ValueError, match='.gif or .mp4'):
        write_video(frames, str(tmp_path / 'scene.avi'))


class FakeRunner:
    def __init__(self):
        self.cfg = Config(dict(point_cloud_range=PC_RANGE, bev_h=BEV, bev_w=BEV))


def test_hook_writes_one_png_per_sample(tmp_path):
    hook = HOOKS.build(dict(type='BEVVisualizationHook', out_dir=str(tmp_path), score_thr=0.5))
    assert isinstance(hook, BEVVisualizationHook)
    runner = FakeRunner()
    hook.before_test(runner)
    for batch_idx in range(2):
        frames = [make_frame(f'tok{batch_idx}{k}', 2 * batch_idx + k, box_x=5.0 + k)
                  for k in range(2)]
        data_batch = dict(
            inputs=dict(img=[torch.full((1, 6, 3, 24, 32), 120, dtype=torch.uint8)] * 2),
            data_samples=[[gt] for _, gt in frames])
        hook.after_test_iter(runner, batch_idx, data_batch, [pred for pred, _ in frames])

    files = sorted(os.listdir(tmp_path))
    assert files == [f'scene-a_{k:03d}_tok{k // 2}{k % 2}.png' for k in range(4)]
    sizes = set()
    for name in files:
        with Image.open(tmp_path / name) as image:
            assert image.format == 'PNG'
            sizes.add(image.size)
            assert np.asarray(image.convert('RGB')).std() > 10
    assert len(sizes) == 1
    assert hook.num_saved == 4


def test_hook_interval_skips_iterations(tmp_path):
    hook = BEVVisualizationHook(out_dir=str(tmp_path), interval=2, draw_cameras=False)
    runner = FakeRunner()
    hook.before_test(runner)
    for batch_idx in range(3):
        pred, gt = make_frame(f'tok{batch_idx}', batch_idx)
        hook.after_test_iter(runner, batch_idx, dict(data_samples=[[gt]]), [pred])
    assert len(os.listdir(tmp_path)) == 2


def test_hook_without_range_raises(tmp_path):
    hook = BEVVisualizationHook(out_dir=str(tmp_path))

    class NoRangeRunner:
        cfg = Config(dict())

    with pytest.raises(ValueError, match='no point_cloud_range'):
        hook.before_test(NoRangeRunner())


def test_save_png_creates_folder(tmp_path):
    path = save_png(np.zeros((5, 7, 3), np.uint8), str(tmp_path / 'a' / 'b.png'))
    with Image.open(path) as image:
        assert image.size == (7, 5)


def test_camera_boxes_from_gt_or_pred():
    pred, gt = make_frame('t0', 0)
    images = [np.full((48, 64, 3), 100, dtype=np.uint8) for _ in range(6)]
    # A threshold above both scores leaves no predicted boxes.
    from_pred = SampleRenderer(PC_RANGE, BEV, BEV, score_thr=0.95, panel_size=200,
                               camera_source='pred').render([pred], gt, images=images)
    from_gt = SampleRenderer(PC_RANGE, BEV, BEV, score_thr=0.95, panel_size=200,
                             camera_source='gt').render([pred], gt, images=images)
    assert from_pred.shape == from_gt.shape
    # The box 5 m ahead shows in the CAM_FRONT tile (top row, middle third).
    height, width = from_pred.shape[:2]
    tile_width = width // 3
    front_pred = from_pred[20:60, tile_width:2 * tile_width]
    front_gt = from_gt[20:60, tile_width:2 * tile_width]
    assert (front_pred != front_gt).any(axis=-1).sum() > 20


def test_hook_names_files_by_scene_name(tmp_path):
    pred, gt = make_frame('tok0', 0)

    class FakeDataset:
        def __len__(self):
            return 1

        def get_data_info(self, index):
            return dict(token='tok0', scene_name='scene-0007')

    class LoaderRunner(FakeRunner):
        test_dataloader = type('Loader', (), {'dataset': FakeDataset()})()

    hook = BEVVisualizationHook(out_dir=str(tmp_path), draw_cameras=False)
    runner = LoaderRunner()
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, dict(data_samples=[[gt]]), [pred])
    assert os.listdir(tmp_path) == ['scene-0007_000_tok0.png']


def test_images_from_paths_resizes_to_img_shape(tmp_path):
    path = str(tmp_path / 'cam.png')
    Image.fromarray(np.full((90, 160, 3), (10, 200, 30), dtype=np.uint8)).save(path)
    images = images_from_paths([path], img_shape=(45, 80))
    assert images[0].shape == (45, 80, 3)
    assert images[0][10, 10].tolist() == [10, 200, 30]
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        images_from_paths([str(tmp_path / 'missing.jpg')])
