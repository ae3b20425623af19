"""Print the headline metrics of a test_metrics.json as a table: overall, per city, per role.

Example:
    python tools/analysis_tools/summarize_metrics.py work_dirs/main_job/test_metrics.json
"""
import argparse
import json
import math
import os.path as osp

DEFAULT_KEYS = ('track/AMOTA', 'track/AMOTP', 'track/IDS', 'det/mAP', 'det/NDS',
                'map/IoU_lanes', 'map/IoU_drivable', 'map/IoU_divider', 'map/IoU_ped_crossing',
                'map/IoU_contour')


def summarize(metrics, keys=DEFAULT_KEYS):
    """Return the table as text: one row per metric, one column per subset.

    Args:
        metrics (dict): Metric name -> value, names optionally ending in
            ``@<city>``, ``@supervised`` or ``@unsupervised``.
        keys (Sequence[str]): Metric names (without a subset) to show.
    """
    subsets = ['all']
    for name in metrics:
        _, _, subset = name.partition('@')
        if subset and subset not in subsets:
            subsets.append(subset)
    order = ['all'] + sorted(s for s in subsets if s not in ('all', 'supervised', 'unsupervised'))
    order += [s for s in ('supervised', 'unsupervised') if s in subsets]

    width = max(len(k) for k in keys) + 2
    lines = [''.ljust(width) + ''.join(s.ljust(20) for s in order)]
    for key in keys:
        if key not in metrics:
            continue
        cells = []
        for subset in order:
            value = metrics.get(key if subset == 'all' else f'{key}@{subset}')
            if value is None or (isinstance(value, float) and math.isnan(value)):
                cells.append('n/a'.ljust(20))
            else:
                cells.append(f'{value:.4f}'.ljust(20))
        lines.append(key.ljust(width) + ''.join(cells))
    if 'supervised' in order:
        lines.append('supervised / unsupervised: for each metric, the cities where its own task '
                     '(map/ -> map, track/ and det/ -> track) was labelled in training, and the others.')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('metrics_file', help='test_metrics.json written by tools/test.py')
    parser.add_argument('--keys', nargs='+', default=list(DEFAULT_KEYS), help='metric names to show')
    args = parser.parse_args()
    if not osp.isfile(args.metrics_file):
        raise FileNotFoundError(f'Metrics file not found: {args.metrics_file} (run tools/test.py first)')
    with open(args.metrics_file) as f:
        metrics = json.load(f)
    print(summarize(metrics, args.keys))


if __name__ == '__main__':
    main()
