"""Train and evaluate the partial baseline, partial + NexusFlow and the oracle on the toy world.

Each method is trained with several seeds through tools/train.py and scored with
tools/test.py. The script then writes a markdown table of mean ± std, split by
city role (cities where a task was supervised and where it was not).

Example (the full experiment, 3 methods x 3 seeds):
    python tools/experiments/toy_partition_table.py --seeds 0 1 2 \
        --out work_dirs/toy_partition/table.md

Finished runs (a work dir holding test_metrics.json) are not run again, so the
script can be stopped and restarted.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'nexusflow')
METHODS = {
    'partial baseline': 'bev-track-map_r18-tiny_1xb2-toy-nus-partial.py',
    'partial + NexusFlow': 'nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py',
    'oracle (all labels)': 'bev-track-map_r18-tiny_1xb2-toy-nus-oracle.py',
}
# (column title, metric key without the subset suffix)
COLUMNS = [
    ('AMOTA', 'track/AMOTA'),
    ('lanes IoU', 'map/IoU_lanes'),
    ('drivable IoU', 'map/IoU_drivable'),
]
ROLES = ('supervised', 'unsupervised')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2], help='random seeds per method')
    parser.add_argument('--work-root', default=osp.join(REPO_ROOT, 'work_dirs', 'toy_partition'),
                        help='one work dir per run is made below this folder')
    parser.add_argument('--out', default=None, help='markdown table path; defaults to <work-root>/table.md')
    parser.add_argument('--cfg-options', nargs='*', default=[],
                        help='extra config overrides for every run, e.g. train_cfg.max_iters=500')
    return parser.parse_args()


def run(cmd):
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO_ROOT)


def train_and_test(config, seed, work_dir, cfg_options):
    """Train one run and return its metrics dict (reads test_metrics.json)."""
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    if osp.isfile(metrics_file):
        print(f'{metrics_file} exists; skipping this run.', flush=True)
    else:
        options = [f'randomness.seed={seed}', *cfg_options]
        start = time.time()
        run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir, '--cfg-options', *options])
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        run([sys.executable, 'tools/test.py', config, checkpoint, '--work-dir', work_dir,
             '--cfg-options', *cfg_options])
        with open(osp.join(work_dir, 'wall_time_s.txt'), 'w') as f:
            f.write(f'{time.time() - start:.0f}\n')
    with open(metrics_file) as f:
        return json.load(f)


def find_metric(metrics, key):
    """Return ``metrics[key]``, also when the evaluator prefixed the key."""
    if key in metrics:
        return float(metrics[key])
    matches = [v for k, v in metrics.items() if k.endswith('/' + key)]
    if len(matches) != 1:
        raise KeyError(f'metric {key!r} not found once in the test metrics (keys: {sorted(metrics)[:20]} ...)')
    return float(matches[0])


def format_cell(values):
    if not values:
        return 'n/a'
    values = np.asarray(values, dtype=np.float64)
    return f'{values.mean():.3f} ± {values.std(ddof=0):.3f}'


def main():
    args = parse_args()
    results = {method: [] for method in METHODS}
    # Seed-major order: an interrupted experiment still covers every method.
    for seed in args.seeds:
        for method, config_name in METHODS.items():
            config = osp.join(CONFIG_DIR, config_name)
            work_dir = osp.join(args.work_root, osp.splitext(config_name)[0], f'seed{seed}')
            results[method].append(train_and_test(config, seed, work_dir, args.cfg_options))

    header = ['method'] + [f'{title} ({role})' for title, _ in COLUMNS for role in ROLES]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for method, runs in results.items():
        cells = [method]
        for _, key in COLUMNS:
            for role in ROLES:
                cells.append(format_cell([find_metric(m, f'{key}@{role}') for m in runs]))
        lines.append('| ' + ' | '.join(cells) + ' |')
    table = '\n'.join(lines) + f'\n\nmean ± std over seeds {args.seeds}; options: {args.cfg_options}\n'

    out = args.out or osp.join(args.work_root, 'table.md')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(table)
    print(table)
    print(f'Table written to {out}')


if __name__ == '__main__':
    main()
