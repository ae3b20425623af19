import numpy as np
import pytest
import torch

from nexusflow.evaluation.map_iou_metric import MapIoUMetric

CLASSES = ('divider', 'ped_crossing', 'contour', 'drivable')


def make_sample(token, city, pred, gt):
    return dict(token=token, city=city, pred_map_masks=torch.as_tensor(pred, dtype=torch.bool),
                gt_map_masks=torch.as_tensor(gt, dtype=torch.uint8))


def two_samples():
    """Two 4-class 2x3 samples whose IoUs are worked out by hand below."""
    pred_a = np.zeros((4, 2, 3), bool)
    gt_a = np.zeros((4, 2, 3), bool)
    pred_a[0, 0, :2] = True          # divider: pred 2 cells
    gt_a[0, 0, 1:] = True            # divider: gt 2 cells, 1 shared -> I 1, U 3
    pred_a[1, 1, 0] = True           # ped_crossing: I 0, U 2
    gt_a[1, 1, 2] = True
    pred_a[3] = True                 # drivable: all 6 predicted, 4 in gt -> I 4, U 6
    gt_a[3, :, :2] = True
    pred_b = np.zeros((4, 2, 3), bool)
    gt_b = np.zeros((4, 2, 3), bool)
    pred_b[0, 1, :] = True           # divider: I 3, U 3
    gt_b[0, 1, :] = True
    pred_b[2, 0, 0] = True           # contour: I 0, U 1
    return make_sample('a', 'boston-seaport', pred_a, gt_a), \
        make_sample('b', 'singapore-onenorth', pred_b, gt_b)


def test_hand_made_iou():
    metric = MapIoUMetric()
    metric.process(None, list(two_samples()))
    metrics = metric.evaluate(2)

    # Summed over both samples before dividing: divider (1 + 3) / (3 + 3).
    assert metrics['map/IoU_divider'] == pytest.approx(4 / 6)
    assert metrics['map/IoU_ped_crossing'] == pytest.approx(0.0)
    assert metrics['map/IoU_contour'] == pytest.approx(0.0)
    assert metrics['map/IoU_drivable'] == pytest.approx(4 / 6)
    # lanes of a: pred cells {00,01,10}, gt {01,02,12}: I 1, U 5; b: I 3, U 4 (contour 00).
    assert metrics['map/IoU_lanes'] == pytest.approx(4 / 9)
    assert metrics['map/IoU_divider@boston-seaport'] == pytest.approx(1 / 3)
    assert metrics['map/IoU_divider@singapore-onenorth'] == pytest.approx(1.0)
    assert np.isnan(metrics['map/IoU_drivable@singapore-onenorth'])


def test_identical_masks_score_one():
    rng = np.random.default_rng(0)
    gt = rng.random((4, 8, 8)) > 0.5
    metric = MapIoUMetric()
    metric.process(None, [make_sample('a', 'boston-seaport', gt, gt)])
    metrics = metric.evaluate(1)
    for name in CLASSES + ('lanes',):
        assert metrics[f'map/IoU_{name}'] == pytest.approx(1.0)


def test_empty_prediction_scores_zero():
    gt = np.ones((4, 3, 3), bool)
    metric = MapIoUMetric()
    metric.process(None, [make_sample('a', 'boston-seaport', np.zeros_like(gt), gt)])
    metrics = metric.evaluate(1)
    for name in CLASSES + ('lanes',):
        assert metrics[f'map/IoU_{name}'] == 0.0


def test_partition_roles(tmp_path):
    metric = MapIoUMetric(partition=dict(map=['singapore-onenorth'], track='all'),
                          outfile_prefix=str(tmp_path))
    metric.process(None, list(two_samples()))
    metrics = metric.evaluate(2)

    assert metrics['map/num_samples@supervised'] == 1
    assert metrics['map/num_samples@unsupervised'] == 1
    assert metrics['map/IoU_divider@supervised'] == pytest.approx(1.0)
    assert metrics['map/IoU_divider@unsupervised'] == pytest.approx(1 / 3)
    assert (tmp_path / 'map_iou_summary.json').exists()


def test_uneven_ranks_keep_each_token_once():
    a, b = two_samples()
    c = make_sample('c', 'boston-seaport', np.zeros((4, 2, 3)), np.ones((4, 2, 3)))
    metric = MapIoUMetric()
    metric.process(None, [a, b, c])
    results = list(metric.results)
    # Rank 0 has a and b, rank 1 has c and a repeated a.
    metric.gather_fn = lambda _: [results[:2], [results[2], results[0]]]
    metrics = metric.evaluate(3)

    assert metrics['map/num_samples'] == 3
    assert metrics['map/num_samples@boston-seaport'] == 2
    # c adds 6 gt cells to the divider union and nothing to the intersection.
    assert metrics['map/IoU_divider'] == pytest.approx(4 / 12)


def test_shape_mismatch_rejected():
    metric = MapIoUMetric()
    sample = make_sample('a', 'boston-seaport', np.zeros((3, 2, 2)), np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match='pred_map_masks'):
        metric.process(None, [sample])


def test_unknown_lane_class_rejected():
    with pytest.raises(ValueError, match='lane_classes'):
        MapIoUMetric(lane_classes=('divider', 'stop_line'))
