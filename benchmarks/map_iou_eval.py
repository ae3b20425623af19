"""Measure the time to accumulate map IoU over a nuScenes-val-sized set.

Feeds ``MapIoUMetric.process`` one sample per call (the test batch size of
the BEV model), with predicted masks as bool tensors and ground truth as
uint8 tensors, as ``Evaluator`` passes them after ``to_dict``, then calls
``compute_metrics`` with per-city and partition-role subsets. The masks are
made before timing: a pool of random blob masks is cycled through, and each
sample gets its own token and one of the four cities. The timed part is
process + compute_metrics, repeated with a fresh metric; the median counts.

Example:
    python benchmarks/map_iou_eval.py --num-samples 6019 --size 200
"""
import argparse
import logging
import time

import numpy as np
import torch
from mmengine.logging import MMLogger

from bench_common import median
from nexusflow.evaluation import MapIoUMetric

CITIES = ('boston-seaport', 'singapore-onenorth', 'singapore-hollandvillage',
          'singapore-queenstown')
MAP_CLASSES = ('divider', 'ped_crossing', 'contour', 'drivable')
# Map labels in two cities, so that the supervised and unsupervised role
# subsets are both computed.
PARTITION = dict(map=['boston-seaport', 'singapore-onenorth'],
                 track=['singapore-hollandvillage', 'singapore-queenstown'])


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-samples', type=int, default=6019,
                        help='Samples evaluated (nuScenes val has 6019).')
    parser.add_argument('--size', type=int, default=200,
                        help='Mask side in cells (H = W).')
    parser.add_argument('--pool', type=int, default=32,
                        help='Distinct mask pairs cycled through.')
    parser.add_argument('--repeats', type=int, default=3,
                        help='Timed evaluations, each with a fresh metric.')
    return parser.parse_args()


def blob_masks(rng: np.random.Generator, size: int) -> np.ndarray:
    """Return bool (C, size, size) masks of smoothed random noise."""
    noise = rng.random((len(MAP_CLASSES), size // 8 + 1, size // 8 + 1))
    masks = np.repeat(np.repeat(noise, 8, 1), 8, 2)[:, :size, :size]
    return masks > 0.6


def make_pool(size: int, pool: int, seed: int = 0) -> list:
    """Return ``pool`` pairs of (pred bool tensor, gt uint8 tensor)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(pool):
        gt = blob_masks(rng, size)
        # The prediction is the ground truth with 10% of the cells flipped.
        pred = gt ^ (rng.random(gt.shape) < 0.1)
        pairs.append((torch.from_numpy(pred),
                      torch.from_numpy(gt.astype(np.uint8))))
    return pairs


def evaluate_once(samples: list) -> tuple:
    """Return (seconds in process, seconds in compute_metrics, metrics)."""
    metric = MapIoUMetric(map_classes=MAP_CLASSES, partition=PARTITION)
    start = time.perf_counter()
    for sample in samples:
        metric.process(None, [sample])
    middle = time.perf_counter()
    metrics = metric.compute_metrics(metric.results)
    return middle - start, time.perf_counter() - middle, metrics


def main():
    args = parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    pool = make_pool(args.size, args.pool)
    samples = []
    for index in range(args.num_samples):
        pred, gt = pool[index % len(pool)]
        samples.append(dict(token=f'sample{index:05d}',
                            city=CITIES[index % len(CITIES)],
                            pred_map_masks=pred, gt_map_masks=gt))

    process_s, compute_s = [], []
    for _ in range(args.repeats):
        seconds_process, seconds_compute, metrics = evaluate_once(samples)
        process_s.append(seconds_process)
        compute_s.append(seconds_compute)
    total = median([p + c for p, c in zip(process_s, compute_s)])
    print('detail process_s=' + ','.join(f'{s:.2f}' for s in process_s) +
          ' compute_metrics_s=' + ','.join(f'{s:.3f}' for s in compute_s) +
          f' map/IoU_lanes={metrics["map/IoU_lanes"]:.3f}')
    print(f'map_iou_eval samples={args.num_samples} size={args.size}x'
          f'{args.size} classes={len(MAP_CLASSES)} repeats={args.repeats} '
          f'total_s={total:.2f} process_s={median(process_s):.2f} '
          f'compute_metrics_s={median(compute_s):.3f} '
          f'samples_per_s={args.num_samples / total:.0f}')


if __name__ == '__main__':
    main()
