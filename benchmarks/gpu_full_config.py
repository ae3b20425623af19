"""Measure training step time and peak GPU memory of the full BEV model.

Runs every combination of NexusFlow (off, on), precision (fp32, AMP) and
activation checkpointing of the BEV encoder (off, on) in one process, one
variant after the other, on synthetic clips of the full config's size. Each
variant builds a fresh model and optimizer, takes ``--warmup`` untimed
steps, then ``--steps`` timed ``train_step`` calls. It prints one line per
variant (median step time, ``torch.cuda.max_memory_allocated`` and
``max_memory_reserved`` over the timed steps) and writes a markdown table.

``benchmarks/gpu_full_config.sh`` is the entry point on a GPU machine.
``--dry-run`` lists the variants without building anything, and
``--device cpu --precisions fp32 --config tiny`` runs the same code on a
CPU (AMP uses mmengine's ``AmpOptimWrapper``, which needs a GPU).

Example:
    python benchmarks/gpu_full_config.py --out work_dirs/gpu_full_config.md
"""
import argparse
import copy
import gc
import itertools
import logging
import os
import os.path as osp
import sys
import time

import torch
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper

from bench_common import PeakRSS, median
from synthetic_clips import (CLIP_FRAMES, IMAGE_SHAPES, REPO_ROOT,
                             build_model, build_optim_wrapper,
                             default_nexusflow_config, load_model_config,
                             make_clip_batch, nexusflow_config)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', choices=('tiny', 'full'), default='full',
                        help='Model config size.')
    parser.add_argument('--nexusflow-config', default=None,
                        help='Runnable config whose NexusFlowHook gives the '
                        'flow. Defaults to the matching config in '
                        'configs/nexusflow/, else NexusFlow defaults.')
    parser.add_argument('--precisions', nargs='+', choices=('fp32', 'amp'),
                        default=['fp32', 'amp'], help='Precisions to run.')
    parser.add_argument('--amp-dtype', choices=('bfloat16', 'float16'),
                        default='bfloat16', help='Autocast dtype of AMP.')
    parser.add_argument('--checkpointing', nargs='+', choices=('off', 'on'),
                        default=['off', 'on'],
                        help='Activation checkpointing of the BEV encoder '
                        '(bev_encoder.with_cp).')
    parser.add_argument('--nexusflow', nargs='+', choices=('off', 'on'),
                        default=['off', 'on'], help='Without / with NexusFlow.')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='Clips per step (per GPU).')
    parser.add_argument('--frames', type=int, default=CLIP_FRAMES,
                        help='Frames per clip.')
    parser.add_argument('--warmup', type=int, default=2,
                        help='Untimed steps per variant.')
    parser.add_argument('--steps', type=int, default=5,
                        help='Timed steps per variant.')
    parser.add_argument('--device', default='cuda', help='cuda or cpu.')
    parser.add_argument('--out', default='work_dirs/benchmarks/'
                        'gpu_full_config.md',
                        help='Markdown table to write, relative to the '
                        'repository root unless absolute.')
    parser.add_argument('--dry-run', action='store_true',
                        help='Print the variants and exit.')
    return parser.parse_args()


def variants(args):
    """Yield dicts with keys nexusflow, precision and checkpointing."""
    for flow, precision, cp in itertools.product(
            args.nexusflow, args.precisions, args.checkpointing):
        yield dict(nexusflow=flow, precision=precision, checkpointing=cp)


def run_variant(variant: dict, model_cfg: dict, flow_cfg: dict, data: dict,
                args) -> dict:
    """Return the median step time (ms) and peak memory (MiB) of a variant."""
    device = torch.device(args.device)
    cfg = copy.deepcopy(dict(model_cfg))
    cfg['bev_encoder'] = dict(cfg['bev_encoder'],
                              with_cp=variant['checkpointing'] == 'on')
    model = build_model(cfg, flow_cfg if variant['nexusflow'] == 'on' else
                        None, device=args.device)
    if variant['precision'] == 'amp':
        optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4,
                                      weight_decay=0.01)
        wrapper = AmpOptimWrapper(
            optimizer=optimizer, dtype=args.amp_dtype,
            clip_grad=dict(max_norm=35, norm_type=2))
    else:
        wrapper = build_optim_wrapper(model)

    for _ in range(args.warmup):
        model.train_step(copy.deepcopy(data), wrapper)
    peak = PeakRSS()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        peak.reset()
    times = []
    for _ in range(args.steps):
        batch = copy.deepcopy(data)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        model.train_step(batch, wrapper)
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    if device.type == 'cuda':
        allocated = torch.cuda.max_memory_allocated(device) / 2**20
        reserved = torch.cuda.max_memory_reserved(device) / 2**20
    else:
        # On a CPU both columns are the peak RSS of the process.
        allocated = reserved = peak.read_mib()

    del model, wrapper
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return dict(step_ms=median(times) * 1e3, allocated_mib=allocated,
                reserved_mib=reserved)


def write_table(path: str, rows: list, args, device_name: str) -> None:
    """Write the variants and their figures as a markdown table."""
    lines = [
        f'Full-config training step on {device_name}: B={args.batch_size}, '
        f'T={args.frames}, median of {args.steps} steps after '
        f'{args.warmup} warm-up steps, AMP dtype {args.amp_dtype}.',
        f'Command: python benchmarks/gpu_full_config.py '
        + ' '.join(sys.argv[1:]),
        '',
        '| NexusFlow | precision | checkpointing | step ms | '
        'max allocated MiB | max reserved MiB |',
        '|---|---|---|---|---|---|',
    ]
    for variant, fig in rows:
        lines.append(
            f'| {variant["nexusflow"]} | {variant["precision"]} | '
            f'{variant["checkpointing"]} | {fig["step_ms"]:.0f} | '
            f'{fig["allocated_mib"]:.0f} | {fig["reserved_mib"]:.0f} |')
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w') as file:
        file.write('\n'.join(lines) + '\n')


def main():
    args = parse_args()
    if args.dry_run:
        for variant in variants(args):
            print('variant nexusflow={nexusflow} precision={precision} '
                  'checkpointing={checkpointing}'.format(**variant))
        print(f'gpu_full_config dry_run=1 config={args.config} '
              f'variants={len(list(variants(args)))}')
        return
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        sys.exit('gpu_full_config: no CUDA device is available to torch '
                 f'{torch.__version__}; run it on a GPU machine, or pass '
                 '--device cpu --precisions fp32 to run it on a CPU.')
    if device.type != 'cuda' and 'amp' in args.precisions:
        sys.exit('gpu_full_config: --precisions amp needs a CUDA device; '
                 'pass --precisions fp32 with --device cpu.')
    MMLogger.get_current_instance().setLevel(logging.WARNING)

    model_cfg = load_model_config(args.config).model
    flow_path = (args.nexusflow_config or
                 default_nexusflow_config(args.config))
    flow_cfg = nexusflow_config(model_cfg, flow_path)
    data = make_clip_batch(model_cfg, IMAGE_SHAPES[args.config],
                           batch_size=args.batch_size,
                           num_frames=args.frames)
    device_name = (torch.cuda.get_device_name(device)
                   if device.type == 'cuda' else 'CPU')
    print('detail nexusflow config: ' +
          (osp.relpath(flow_path, REPO_ROOT) if flow_path else
           'NexusFlow defaults'))

    out = args.out if osp.isabs(args.out) else osp.join(REPO_ROOT, args.out)
    rows = []
    for variant in variants(args):
        fig = run_variant(variant, model_cfg, flow_cfg, data, args)
        rows.append((variant, fig))
        if device.type == 'cuda':
            memory = (f'max_allocated_MiB={fig["allocated_mib"]:.0f} '
                      f'max_reserved_MiB={fig["reserved_mib"]:.0f}')
        else:
            memory = f'peak_rss_MiB={fig["allocated_mib"]:.0f}'
        print('variant nexusflow={nexusflow} precision={precision} '
              'checkpointing={checkpointing} '.format(**variant) +
              f'step_ms={fig["step_ms"]:.1f} {memory}', flush=True)
        # Rewritten after every variant, so a run cut short by a time
        # limit keeps the variants it finished.
        write_table(out, rows, args, device_name)
    print(f'gpu_full_config device={device_name} config={args.config} '
          f'variants={len(rows)} table={out}')


if __name__ == '__main__':
    main()
