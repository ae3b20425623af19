"""Ground truth of the generated toy nuScenes world fed back as predictions."""
from collections import Counter

import pytest
from nuscenes import NuScenes
from tiny_nuscenes import ground_truth_as_predictions

from nexusflow.evaluation.nuscenes_track_metric import NuScenesTrackMetric

VERSION = 'v1.0-mini'


def test_toy_world_ground_truth_perfect(toy_nuscenes_root, tmp_path):
    root = str(toy_nuscenes_root)
    nusc = NuScenes(VERSION, root, verbose=False)
    samples = ground_truth_as_predictions(nusc, [s['token'] for s in nusc.sample])
    metric = NuScenesTrackMetric(root, VERSION, eval_classes='gt_present', class_range=60.0,
                                 partition=dict(track=['boston-seaport'], map='all'),
                                 outfile_prefix=str(tmp_path))
    metric.process(None, samples)
    metrics = metric.evaluate(len(samples))

    per_city = Counter(sample.city for sample in samples)
    assert metrics['det/num_samples'] == len(samples)
    for city, count in per_city.items():
        assert metrics[f'det/num_samples@{city}'] == count
        assert metrics[f'track/num_samples@{city}'] == count
    assert metrics['track/num_samples@supervised'] == per_city['boston-seaport']
    assert metrics['det/mAP'] == pytest.approx(1.0)
    assert metrics['track/AMOTA'] == pytest.approx(1.0)
    assert metrics['track/AMOTA@unsupervised'] == pytest.approx(1.0)
    assert metrics['track/IDS'] == 0
