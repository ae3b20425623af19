"""Evaluate a trained NexusFlow model: nuScenes mAP/NDS, AMOTA and map IoU (or NYUv2 metrics).

Examples:
    python tools/test.py CONFIG work_dirs/CONFIG/iter_2000.pth
    python tools/test.py CONFIG CKPT --show-dir work_dirs/vis   # also save BEV pictures
    bash tools/dist_test.sh CONFIG CKPT 8
"""
import argparse
import json
import os
import os.path as osp

from _bootstrap import default_work_dir, load_config, set_eval_output_dirs


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a NexusFlow model.')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='folder for predictions, metrics and logs; '
                        'defaults to work_dirs/<config name>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. test_dataloader.dataset.indices=20')
    parser.add_argument('--show-dir', help='save a BEV picture per sample in this folder '
                        '(relative paths are inside the work dir)')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='minimum box score drawn in the pictures (only with --show-dir)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='how the processes were started (pytorch = torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by older launchers; torchrun sets LOCAL_RANK instead')
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint file not found: {args.checkpoint}. Training writes '
                                f'<work_dir>/iter_N.pth or epoch_N.pth; <work_dir>/last_checkpoint '
                                f'names the newest one.')
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    set_eval_output_dirs(cfg, 'test_results')
    cfg.load_from = args.checkpoint
    cfg.resume = False

    if args.show_dir:
        show_dir = args.show_dir if osp.isabs(args.show_dir) else osp.join(cfg.work_dir, args.show_dir)
        hooks = list(cfg.get('custom_hooks', []))
        hooks.append(dict(type='BEVVisualizationHook', out_dir=show_dir, score_thr=args.score_thr))
        cfg.custom_hooks = hooks

    setup_distributed(cfg, args.launcher)
    try:
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
        if runner.rank == 0:
            # One copy beside this run's log, one at a fixed path for scripts.
            for out_file in (osp.join(runner.log_dir, 'test_metrics.json'),
                             osp.join(cfg.work_dir, 'test_metrics.json')):
                with open(out_file, 'w') as f:
                    json.dump({k: _to_builtin(v) for k, v in metrics.items()}, f, indent=2)
            print_log(f'Metrics saved to {out_file}', logger='current')
    finally:
        teardown_distributed()


def _to_builtin(value):
    """Turn numpy and torch scalars into plain Python numbers for JSON."""
    if hasattr(value, 'item'):
        return value.item()
    return value


from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from nexusflow.engine import setup_distributed, teardown_distributed  # noqa: E402

if __name__ == '__main__':
    main()
