import math

import numpy as np
import pytest
import torch

from nexusflow.evaluation import NYUv2Metric
from nexusflow.evaluation.nyuv2_metric import HIGHER_IS_BETTER, delta_mtl


def seg_sample(pred, gt):
    return dict(
        pred_seg=dict(data=torch.tensor([pred])),
        gt_seg=dict(data=torch.tensor([gt])))


def normal_sample(angles_deg, invalid=0):
    """Ground truth +z, predictions rotated about y by the given angles."""
    angles = torch.deg2rad(torch.tensor(angles_deg, dtype=torch.float64))
    pred = torch.stack([torch.sin(angles), torch.zeros_like(angles),
                        torch.cos(angles)])
    gt = torch.zeros_like(pred)
    gt[2] = 1.0
    if invalid:
        pred = torch.cat([pred, torch.ones(3, invalid)], dim=1)
        gt = torch.cat([gt, torch.zeros(3, invalid)], dim=1)
    return dict(
        pred_normal=dict(data=pred[:, None].float()),
        gt_normal=dict(data=gt[:, None].float()))


def test_miou_from_confusion():
    metric = NYUv2Metric(num_classes=3)
    # Class 0: TP 1, FN 1 -> IoU 1/2. Class 1: TP 2, FP 1 -> IoU 2/3.
    # Class 2 never occurs and is left out. The -1 pixel is ignored.
    metric.process({}, [seg_sample([0, 1, 1, 1, 0], [0, 0, 1, 1, -1])])
    results = metric.compute_metrics(metric.results)
    assert math.isclose(results['seg_mIoU'], 100 * (1 / 2 + 2 / 3) / 2)
    assert math.isclose(results['seg_pixel_acc'], 75.0)


def test_miou_accumulates_over_batches():
    metric = NYUv2Metric(num_classes=2)
    # Batch 1 alone: IoU 1 for class 0. Batch 2 alone: class 0 IoU 0,
    # class 1 IoU 0. Over the set: class 0 TP 1 / union 2, class 1 0 / 1.
    metric.process({}, [seg_sample([0], [0])])
    metric.process({}, [seg_sample([0], [1])])
    results = metric.compute_metrics(metric.results)
    assert math.isclose(results['seg_mIoU'], 100 * (1 / 2 + 0) / 2)
    assert math.isclose(results['seg_pixel_acc'], 50.0)


def test_depth_errors_pixel_weighted():
    metric = NYUv2Metric()
    one_pixel = dict(
        pred_depth=dict(data=torch.tensor([[[3.0, 5.0]]])),
        gt_depth=dict(data=torch.tensor([[[2.0, 0.0]]])))
    three_pixels = dict(
        pred_depth=dict(data=torch.tensor([[[1.0, 2.0, 4.0]]])),
        gt_depth=dict(data=torch.tensor([[[1.0, 2.0, 4.0]]])))
    metric.process({}, [one_pixel, three_pixels])
    results = metric.compute_metrics(metric.results)
    assert math.isclose(results['depth_abs_err'], 1.0 / 4)
    assert math.isclose(results['depth_rel_err'], 0.5 / 4)
    assert 'seg_mIoU' not in results


def test_normal_angle_errors():
    metric = NYUv2Metric()
    metric.process({}, [normal_sample([0.0, 10.0, 90.0], invalid=2)])
    metric.process({}, [normal_sample([20.0, 45.0])])
    results = metric.compute_metrics(metric.results)
    assert math.isclose(results['normal_mean'], 33.0, rel_tol=1e-5)
    assert abs(results['normal_median'] - 20.0) <= 0.011
    assert math.isclose(results['normal_11.25'], 40.0)
    assert math.isclose(results['normal_22.5'], 60.0)
    assert math.isclose(results['normal_30'], 60.0)


def test_delta_mtl_formula():
    metrics = dict(seg_mIoU=30.0, depth_abs_err=0.5, normal_mean=20.0)
    baselines = dict(seg_mIoU=25.0, depth_abs_err=0.4, normal_mean=25.0)
    # +20 % on mIoU, -25 % on depth, +20 % on normals (lower is better).
    expected = (20.0 - 25.0 + 20.0) / 3
    assert math.isclose(
        delta_mtl(metrics, baselines, HIGHER_IS_BETTER), expected)


def test_metric_reports_delta_mtl():
    metric = NYUv2Metric(
        num_classes=2, single_task_baselines=dict(seg_pixel_acc=40.0))
    metric.process({}, [seg_sample([0, 1], [0, 0])])
    results = metric.compute_metrics(metric.results)
    assert math.isclose(results['delta_mtl'], 100 * (50.0 - 40.0) / 40.0)


def test_missing_baseline_metric_raises():
    metric = NYUv2Metric(single_task_baselines=dict(depth_abs_err=0.6))
    metric.process({}, [seg_sample([0], [0])])
    with pytest.raises(KeyError, match='depth_abs_err'):
        metric.compute_metrics(metric.results)


def test_unknown_baseline_key_rejected():
    with pytest.raises(KeyError, match='seg_miou'):
        NYUv2Metric(single_task_baselines=dict(seg_miou=30.0))


def test_within_keys_follow_thresholds():
    metric = NYUv2Metric(angle_thresholds=(5.0, ))
    metric.process({}, [normal_sample([1.0, 6.0, 7.0])])
    results = metric.compute_metrics(metric.results)
    assert math.isclose(results['normal_5'], 100 / 3)
    assert np.isclose(results['normal_mean'], 14.0 / 3)
