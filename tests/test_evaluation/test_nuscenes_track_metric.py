import json
import os.path as osp

import numpy as np
import pytest
import torch
from nuscenes import NuScenes
from pyquaternion import Quaternion
from tiny_nuscenes import VERSION, ground_truth_as_predictions

from nexusflow.evaluation.devkit_configs import build_devkit_config
from nexusflow.evaluation.nuscenes_boxes import lidar_boxes_to_global
from nexusflow.evaluation.nuscenes_track_metric import NuScenesTrackMetric

PARTITION = dict(track=['boston-seaport'], map='all')


@pytest.fixture(scope='module')
def nusc(tiny_nuscenes_root):
    return NuScenes(VERSION, tiny_nuscenes_root, verbose=False)


def all_tokens(nusc):
    return [sample['token'] for sample in nusc.sample]


def run_metric(root, samples, out_dir, **kwargs):
    kwargs.setdefault('eval_classes', 'gt_present')
    kwargs.setdefault('class_range', 30.0)
    kwargs.setdefault('partition', PARTITION)
    metric = NuScenesTrackMetric(root, VERSION, outfile_prefix=str(out_dir), **kwargs)
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_lidar_to_global_matches_annotations(nusc):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc)[:2])
    for data_sample in samples:
        anns = [nusc.get('sample_annotation', t)
                for t in nusc.get('sample', data_sample.token)['anns']]
        boxes = data_sample.pred_instances_3d.bboxes_3d.tensor.numpy()
        converted = lidar_boxes_to_global(boxes, data_sample.lidar2ego,
                                          data_sample.ego2global)
        for i, ann in enumerate(anns):
            np.testing.assert_allclose(converted['translation'][i], ann['translation'],
                                       atol=1e-6)
            np.testing.assert_allclose(converted['size'][i], ann['size'], atol=1e-6)
            angle = (Quaternion(converted['rotation'][i]).inverse
                     * Quaternion(ann['rotation'])).angle
            assert abs(angle) < 1e-6
            np.testing.assert_allclose(converted['velocity'][i],
                                       nusc.box_velocity(ann['token'])[:2], atol=1e-6)


def test_ground_truth_scores_perfect(tiny_nuscenes_root, nusc, tmp_path):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc))
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path)

    for suffix in ('', '@boston-seaport', '@singapore-onenorth', '@supervised',
                   '@unsupervised'):
        assert metrics[f'det/mAP{suffix}'] == pytest.approx(1.0)
        assert metrics[f'det/mATE{suffix}'] == pytest.approx(0.0, abs=1e-6)
        assert metrics[f'det/mAOE{suffix}'] == pytest.approx(0.0, abs=1e-6)
        assert metrics[f'det/mAVE{suffix}'] == pytest.approx(0.0, abs=1e-6)
        assert metrics[f'track/AMOTA{suffix}'] == pytest.approx(1.0)
        assert metrics[f'track/IDS{suffix}'] == 0
    assert metrics['det/NDS'] == pytest.approx(1.0)
    assert metrics['track/MOTA'] == pytest.approx(1.0)


def test_subsets_score_their_own_samples(tiny_nuscenes_root, nusc, tmp_path):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc))
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path)

    # Two boston scenes and one onenorth scene of three keyframes each.
    expected = {'': 9, '@boston-seaport': 6, '@singapore-onenorth': 3,
                '@supervised': 6, '@unsupervised': 3}
    for suffix, count in expected.items():
        assert metrics[f'det/num_samples{suffix}'] == count
        assert metrics[f'track/num_samples{suffix}'] == count
    # Two moving objects (car, pedestrian) per frame are tracked; barriers are not.
    assert metrics['track/TP@singapore-onenorth'] == 6
    assert metrics['track/TP@boston-seaport'] == 12


def test_files_written_before_scoring(tiny_nuscenes_root, nusc, tmp_path):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc))
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path)

    with open(tmp_path / 'results_nusc_track.json') as f:
        submission = json.load(f)
    assert set(submission['results']) == set(all_tokens(nusc))
    first = submission['results'][all_tokens(nusc)[0]][0]
    assert {'tracking_id', 'tracking_name', 'tracking_score'} <= set(first)
    with open(tmp_path / 'results_nusc_det.json') as f:
        det_first = json.load(f)['results'][all_tokens(nusc)[0]][0]
    assert {'detection_name', 'detection_score', 'attribute_name'} <= set(det_first)
    with open(tmp_path / 'metric_summary.json') as f:
        assert json.load(f)['track/AMOTA'] == metrics['track/AMOTA']


def test_empty_predictions_score_zero(tiny_nuscenes_root, nusc, tmp_path):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc),
                                          drop=('car', 'pedestrian', 'barrier'))
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path)

    assert metrics['det/mAP'] == 0.0
    assert metrics['det/NDS'] == 0.0
    assert metrics['track/AMOTA'] == 0.0
    assert metrics['track/AMOTA@boston-seaport'] == 0.0
    with open(tmp_path / 'results_nusc_det.json') as f:
        results = json.load(f)['results']
    assert len(results) == 9
    assert all(boxes == [] for boxes in results.values())


def test_missing_class_lowers_map(tiny_nuscenes_root, nusc, tmp_path):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc), drop=('pedestrian',))
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path)

    assert metrics['det/AP_pedestrian'] == 0.0
    assert metrics['det/AP_car'] == pytest.approx(1.0)
    assert metrics['det/mAP'] == pytest.approx(2 / 3)


def test_devkit_classes_average_absent_ones(tiny_nuscenes_root, nusc, tmp_path):
    samples = ground_truth_as_predictions(nusc, all_tokens(nusc))
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path, eval_classes=None)

    # Three of the ten detection classes have ground truth and AP 1; the rest count 0.
    assert metrics['det/mAP'] == pytest.approx(0.3)
    # Tracking classes without ground truth are NaN and left out of the mean.
    assert metrics['track/AMOTA'] == pytest.approx(1.0)


def test_unprocessed_frames_count_as_misses(tiny_nuscenes_root, nusc, tmp_path):
    scene = nusc.scene[2]
    tokens = [scene['first_sample_token']]
    tokens.append(nusc.get('sample', tokens[0])['next'])
    samples = ground_truth_as_predictions(nusc, tokens)
    metrics = run_metric(tiny_nuscenes_root, samples, tmp_path)

    assert metrics['det/num_samples'] == 3
    assert metrics['track/FN'] == 2
    assert metrics['track/recall'] == pytest.approx(4 / 6)
    assert '@boston-seaport' not in ''.join(metrics)


def test_duplicate_and_uneven_ranks(tiny_nuscenes_root, nusc, tmp_path):
    tokens = all_tokens(nusc)
    samples = ground_truth_as_predictions(nusc, tokens)
    metric = NuScenesTrackMetric(tiny_nuscenes_root, VERSION, eval_classes='gt_present',
                                 class_range=30.0, outfile_prefix=str(tmp_path))
    metric.process(None, samples)
    rank0, rank1 = metric.results[:7], metric.results[6:]
    metric.gather_fn = lambda results: [rank0, rank1]
    metrics = metric.evaluate(len(tokens))

    assert metrics['det/num_samples'] == 9
    assert metrics['track/AMOTA'] == pytest.approx(1.0)


def test_missing_track_ids_rejected(tiny_nuscenes_root, nusc):
    sample = ground_truth_as_predictions(nusc, all_tokens(nusc)[:1])[0]
    del sample.pred_instances_3d.track_ids
    metric = NuScenesTrackMetric(tiny_nuscenes_root, VERSION)
    with pytest.raises(KeyError, match='track_ids'):
        metric.process(None, [sample])


def test_unknown_token_rejected(tiny_nuscenes_root, nusc, tmp_path):
    sample = ground_truth_as_predictions(nusc, all_tokens(nusc)[:1])[0]
    sample.set_metainfo(dict(token='not-a-token'))
    with pytest.raises(KeyError, match='not-a-token'):
        run_metric(tiny_nuscenes_root, [sample], tmp_path)
    # The submission is on disk although scoring failed.
    assert osp.exists(tmp_path / 'results_nusc_det.json')


def test_bad_data_root_rejected(tmp_path, nusc):
    sample = ground_truth_as_predictions(nusc, all_tokens(nusc)[:1])[0]
    metric = NuScenesTrackMetric(str(tmp_path / 'missing'), VERSION,
                                 outfile_prefix=str(tmp_path))
    metric.process(None, [sample])
    with pytest.raises(FileNotFoundError, match='missing'):
        metric.evaluate(1)


def test_config_overrides():
    config = build_devkit_config('detection_cvpr_2019', class_range=dict(car=25))
    assert config.class_range['car'] == 25.0
    assert config.class_range['pedestrian'] == 40.0
    config = build_devkit_config('tracking_nips_2019', class_range=12,
                                 overrides=dict(dist_th_tp=1.5))
    assert set(config.class_range.values()) == {12.0}
    assert config.dist_th_tp == 1.5
    with pytest.raises(ValueError, match='construction_vehicle'):
        build_devkit_config('tracking_nips_2019', class_range=dict(construction_vehicle=10))
    with pytest.raises(ValueError, match='no_such_field'):
        build_devkit_config('detection_cvpr_2019', overrides=dict(no_such_field=1))


def test_bad_eval_classes_rejected(tiny_nuscenes_root):
    with pytest.raises(ValueError, match='eval_classes'):
        NuScenesTrackMetric(tiny_nuscenes_root, VERSION, eval_classes='present')
    with pytest.raises(ValueError, match='metrics'):
        NuScenesTrackMetric(tiny_nuscenes_root, VERSION, metrics=('mota',))
