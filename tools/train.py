"""Train a NexusFlow model with mmengine's Runner.

Examples:
    python tools/train.py configs/nexusflow/CONFIG.py
    python tools/train.py CONFIG --work-dir work_dirs/run1 --cfg-options train_cfg.max_iters=10
    bash tools/dist_train.sh CONFIG 8            # 8 processes with torchrun
"""
import argparse
import logging
import os
import os.path as osp

from _bootstrap import default_work_dir, load_config, set_eval_output_dirs


def parse_args():
    parser = argparse.ArgumentParser(description='Train a NexusFlow model (mmdet3d plugin).')
    parser.add_argument('config', help='training config file')
    parser.add_argument('--work-dir', help='folder for logs and checkpoints; '
                        'defaults to work_dirs/<config name>')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 with loss scaling on CUDA (AmpOptimWrapper), '
                        'bfloat16 autocast on CPU (AutocastOptimWrapper)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate linearly by the total batch size '
                        '(GPUs x samples per GPU) against auto_scale_lr.base_batch_size in the config')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from this checkpoint; without a path, from the latest '
                        'checkpoint in the work dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, e.g. train_cfg.max_iters=100 '
                        'custom_hooks.0.flow.num_couplings=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='how the processes were started (pytorch = torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0,
                        help='set by older launchers; torchrun sets LOCAL_RANK instead')
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_runner_config(args):
    """Return the Config that the Runner gets for ``args``."""
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    set_eval_output_dirs(cfg, 'val_results')

    if args.amp:
        optim_wrapper = cfg.optim_wrapper
        if optim_wrapper.get('type', 'OptimWrapper') in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
            print_log('AMP is already enabled in the config.', logger='current', level=logging.WARNING)
        else:
            if torch.cuda.is_available():
                optim_wrapper.type = 'AmpOptimWrapper'
                optim_wrapper.setdefault('loss_scale', 'dynamic')
            else:
                # mmengine's AmpOptimWrapper needs a GPU; bfloat16 autocast works on CPU.
                optim_wrapper.type = 'AutocastOptimWrapper'
                optim_wrapper.dtype = 'bfloat16'

    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'--auto-scale-lr needs `auto_scale_lr = dict(enable=False, '
                           f'base_batch_size=N)` in {args.config}')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main():
    args = parse_args()
    cfg = build_runner_config(args)
    setup_distributed(cfg, args.launcher)
    try:
        runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
        runner.train()
    finally:
        teardown_distributed()


# Imports after the bootstrap, so that the plugin package is importable.
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from nexusflow.engine import setup_distributed, teardown_distributed  # noqa: E402

if __name__ == '__main__':
    main()
