"""tools/analysis_tools/track_fit_report.py: matched-query statistics and a run on the toy world."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from mmdet3d.registry import MODELS
from mmengine.config import Config

import nexusflow  # noqa: F401  (fills the registries)

from toy_run import REPO_ROOT, write_toy_config

SCRIPT = osp.join(REPO_ROOT, 'tools', 'analysis_tools', 'track_fit_report.py')
TINY_MODEL = osp.join(REPO_ROOT, 'configs', '_base_', 'models', 'bev-track-map_tiny.py')


@pytest.fixture(scope='module')
def report_module():
    spec = importlib.util.spec_from_file_location('track_fit_report', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_track_head():
    return MODELS.build(Config.fromfile(TINY_MODEL).model.track_head)


def _outputs_and_targets(head):
    """Three matched queries 0 m, 1 m and 5 m off in the BEV plane, one unmatched query."""
    num_query = 4
    gt_boxes = torch.tensor([[0.0, 0.0, -1.0, 2.0, 4.0, 1.5, 0.0, 0.0, 0.0]]).repeat(3, 1)
    gt_boxes[:, 0] = torch.tensor([-10.0, 0.0, 10.0])
    pred_boxes = gt_boxes.clone()
    pred_boxes[1, 1] += 1.0  # 1 m along y
    pred_boxes[2, 0] += 3.0  # 3 m along x and 4 m along y: 5 m
    pred_boxes[2, 1] += 4.0
    gt_codes = head.coder.encode(gt_boxes)
    pred_codes = torch.cat([head.coder.encode(pred_boxes), gt_codes[:1]])
    labels = torch.tensor([0, 1, 2, head.num_classes])
    logits = torch.full((num_query, head.num_classes), -4.0)
    logits[0, 0] = logits[1, 1] = logits[2, 2] = 4.0  # matched: score 0.982
    logits[3, 5] = 0.0  # unmatched: best score 0.5
    outputs = dict(codes=pred_codes[None, None], logits=logits[None, None],
                   padding_mask=torch.zeros(1, num_query, dtype=torch.bool))
    targets = dict(positive=labels < head.num_classes, labels=labels, num_gt=3,
                   targets=torch.cat([gt_codes, torch.zeros(1, 10)]))
    return outputs, targets


def test_recorder_measures_metres_and_scores(report_module):
    head = _tiny_track_head()
    outputs, targets = _outputs_and_targets(head)
    with report_module.MatchRecorder(head) as recorder:
        head._frame_loss(outputs, 0, targets)
    stats = recorder.summary(score_thresh=0.6)
    assert stats['num_matched'] == 3
    assert stats['median_centre_error_m'] == pytest.approx(1.0, abs=1e-4)
    assert stats['share_within_match_distance'] == pytest.approx(2 / 3)
    assert stats['mean_abs_error']['x_m'] == pytest.approx(1.0, abs=1e-4)
    assert stats['mean_abs_error']['y_m'] == pytest.approx(5 / 3, abs=1e-4)
    assert stats['mean_abs_error']['log_w'] == pytest.approx(0.0, abs=1e-5)
    assert stats['mean_matched_score'] == pytest.approx(float(torch.sigmoid(torch.tensor(4.0))))
    assert stats['share_matched_above_thresh'] == 1.0
    assert stats['mean_unmatched_max_score'] == pytest.approx(0.5)
    assert stats['share_unmatched_above_thresh'] == 0.0


def test_recorder_restores_the_head(report_module):
    head = _tiny_track_head()
    with report_module.MatchRecorder(head):
        assert '_frame_loss' in vars(head)
    assert '_frame_loss' not in vars(head)


def test_recorder_without_frames_raises(report_module):
    head = _tiny_track_head()
    recorder = report_module.MatchRecorder(head)
    with pytest.raises(RuntimeError, match='no frame labelled for tracking'):
        recorder.summary(score_thresh=0.3)


def test_report_runs_on_toy_world(report_module, toy_nuscenes_root, toy_nuscenes_infos, tmp_path):
    config = write_toy_config(tmp_path / 'toy.py', toy_nuscenes_root, toy_nuscenes_infos)
    cfg = report_module.load_config(config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = tmp_path / 'random.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    out = tmp_path / 'report.json'

    report = report_module.main([
        config, str(checkpoint), '--num-batches', '2', '--out', str(out),
        '--ann-files', str(toy_nuscenes_infos['train']), '--device', 'cpu'])

    saved = json.loads(out.read_text())
    assert list(saved) == [str(toy_nuscenes_infos['train'])]
    stats = saved[str(toy_nuscenes_infos['train'])]
    assert stats == report[str(toy_nuscenes_infos['train'])]
    # Every labelled frame of the toy world has boxes, so queries were matched.
    assert stats['num_matched'] > 0
    assert stats['score_thresh'] == model.track_head.score_thresh
    assert sorted(stats['mean_abs_error']) == sorted(report_module.DIM_NAMES)
