"""Measure NexusFlow's share of the model's parameters and training step.

Default mode: for each model config (``--configs tiny`` or ``tiny full``)
the script builds the BEV track+map model with NexusFlow and runs one loss
pass to capture the latents and masks that the model passes to
``NexusFlow.loss``. It then alternates between (a) a whole ``train_step`` of
the model (forward, losses, backward, AdamW update) and (b) forward +
backward of ``NexusFlow.loss`` alone on the captured latents. It prints the
parameter ratio and two time ratios (b) / (a): the median of the ratios of
back-to-back pairs, and the ratio of the fastest runs. The goal is under 1%
of the parameters and under 2% of the step.

``--standalone`` times ``NexusFlow.loss`` alone on random latents of the
given sizes (map latent (B, C, H, W), track queries (B, Q, C)) and, on CUDA,
the peak memory that it adds.

Examples:
    python benchmarks/nexusflow_overhead.py --configs tiny
    python benchmarks/nexusflow_overhead.py --configs tiny full --repeats 3
    python benchmarks/nexusflow_overhead.py --standalone --bev-size 200
"""
import argparse
import logging
import os.path as osp
import time

import torch
from mmengine.logging import MMLogger

from bench_common import median, paired_ratio, time_alternating
from synthetic_clips import (CLIP_FRAMES, IMAGE_SHAPES, build_model,
                             REPO_ROOT, build_optim_wrapper,
                             default_nexusflow_config,
                             capture_nexusflow_inputs, count_parameters,
                             load_model_config, make_clip_batch,
                             nexusflow_config)
from nexusflow.flows import NexusFlow

PARAM_GOAL = 0.01
STEP_GOAL = 0.02


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', choices=('tiny', 'full'),
                        default=['tiny'],
                        help='Model configs to measure. On a CPU the full '
                        'one reached about 9 GiB RSS at --frames 1 and takes '
                        'minutes per step.')
    parser.add_argument('--nexusflow-config', default=None,
                        help='Runnable config whose NexusFlowHook gives the '
                        'flow. Defaults to the tiny or full config in '
                        'configs/nexusflow/, or where none exists, to '
                        'NexusFlow with its default sizes aligning the map '
                        'head latent and the track queries.')
    parser.add_argument('--batch', type=int, default=1, help='Batch size B.')
    parser.add_argument('--frames', type=int, default=CLIP_FRAMES,
                        help='Frames per training clip.')
    parser.add_argument('--warmup', type=int, default=1,
                        help='Untimed steps before timing.')
    parser.add_argument('--repeats', type=int, default=5,
                        help='Timed steps.')
    parser.add_argument('--device', default='cpu', help='cpu or cuda.')
    parser.add_argument('--params-only', action='store_true',
                        help='Count the parameters and skip the timing.')
    standalone = parser.add_argument_group(
        'standalone', 'NexusFlow.loss alone on random latents')
    standalone.add_argument('--standalone', action='store_true',
                            help='Time only NexusFlow.loss on random '
                            'latents of the sizes below.')
    standalone.add_argument(
        '--bev-size', type=int, default=200,
        help='Side of the square map latent in cells (H = W).')
    standalone.add_argument(
        '--channels', type=int, default=256, help='Latent channels C.')
    standalone.add_argument(
        '--queries', type=int, default=900, help='Track queries Q.')
    standalone.add_argument(
        '--surrogate-type', choices=('flow', 'mlp'), default='flow')
    return parser.parse_args()


def _sync_for(device: torch.device):
    if device.type == 'cuda':
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def measure_config(size: str, args) -> dict:
    """Return the parameter counts and median times of one model config."""
    device = torch.device(args.device)
    model_cfg = load_model_config(size).model
    flow_path = args.nexusflow_config or default_nexusflow_config(size)
    flow_cfg = nexusflow_config(model_cfg, flow_path)
    print('detail nexusflow config: ' +
          (osp.relpath(flow_path, REPO_ROOT) if flow_path else
           'NexusFlow defaults'))
    model = build_model(model_cfg, flow_cfg, device=args.device)
    params = dict(
        params=count_parameters(model.nexusflow),
        model_params=count_parameters(model),
        model_params_all=sum(p.numel() for p in model.parameters()))
    if args.params_only:
        return params
    wrapper = build_optim_wrapper(model)
    data = make_clip_batch(model_cfg, IMAGE_SHAPES[size],
                           batch_size=args.batch, num_frames=args.frames)
    latents, masks = capture_nexusflow_inputs(model, data)

    def train_step():
        model.train_step(data, wrapper)

    def nexusflow_step():
        model.nexusflow.zero_grad(set_to_none=True)
        for latent in latents.values():
            latent.grad = None
        model.nexusflow.loss(latents, masks)['loss_align'].backward()

    times, cpu_times = time_alternating(
        dict(step=train_step, nexusflow=nexusflow_step),
        repeats=args.repeats, warmup=args.warmup, sync=_sync_for(device))
    shapes = ' '.join(f'{task}={tuple(latent.shape)}'
                      for task, latent in latents.items())
    print(f'detail {size}: latents {shapes}; step_ms=' +
          ','.join(f'{t * 1e3:.0f}' for t in times['step']) +
          ' nexusflow_ms=' +
          ','.join(f'{t * 1e3:.1f}' for t in times['nexusflow']) +
          ' step_cpu_ms=' +
          ','.join(f'{t * 1e3:.0f}' for t in cpu_times['step']) +
          ' nexusflow_cpu_ms=' +
          ','.join(f'{t * 1e3:.1f}' for t in cpu_times['nexusflow']))
    return dict(
        params,
        step_ms=median(times['step']) * 1e3,
        nexusflow_ms=median(times['nexusflow']) * 1e3,
        ratio_paired=paired_ratio(times['nexusflow'], times['step']),
        ratio_best=min(times['nexusflow']) / min(times['step']))


def run_configs(args) -> None:
    parts = []
    for size in args.configs:
        fig = measure_config(size, args)
        # Frozen parameters (the full config's backbone) count only in the
        # second ratio.
        param_ratio = fig['params'] / fig['model_params']
        param_ratio_all = fig['params'] / fig['model_params_all']
        part = (f'{size}: nexusflow_params={fig["params"]} '
                f'model_trainable_params={fig["model_params"]} '
                f'param_ratio={param_ratio:.4f} '
                f'param_ratio_incl_frozen={param_ratio_all:.4f} '
                f'(goal<{PARAM_GOAL})')
        if not args.params_only:
            part += (f' nexusflow_fwd+bwd_ms={fig["nexusflow_ms"]:.1f} '
                     f'train_step_ms={fig["step_ms"]:.1f} '
                     f'time_ratio_paired={fig["ratio_paired"]:.4f} '
                     f'time_ratio_best={fig["ratio_best"]:.4f} '
                     f'(goal<{STEP_GOAL})')
        parts.append(part)
    print(f'nexusflow_overhead device={args.device} '
          f'threads={torch.get_num_threads()} B={args.batch} '
          f'T={args.frames} repeats={args.repeats} ' + ' | '.join(parts))


def run_standalone(args) -> None:
    device = torch.device(args.device)
    module = NexusFlow(
        in_channels=args.channels,
        surrogate_type=args.surrogate_type).to(device)
    module.align_weight = 1.0
    latents = dict(
        map=torch.randn(
            args.batch, args.channels, args.bev_size, args.bev_size,
            device=device, requires_grad=True),
        track=torch.randn(
            args.batch, args.queries, args.channels, device=device,
            requires_grad=True))
    masks = dict(
        track=torch.zeros(
            args.batch, args.queries, dtype=torch.bool, device=device))

    def step():
        module.zero_grad(set_to_none=True)
        module.loss(latents, masks)['loss_align'].backward()

    for _ in range(args.warmup):
        step()
    peak_mib = float('nan')
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    start = time.perf_counter()
    for _ in range(args.repeats):
        step()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        peak_mib = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    per_step_ms = (time.perf_counter() - start) / args.repeats * 1e3

    print(f'nexusflow_overhead standalone device={args.device} '
          f'surrogate={args.surrogate_type} B={args.batch} '
          f'map={args.channels}x{args.bev_size}x{args.bev_size} '
          f'queries={args.queries} params={count_parameters(module)} '
          f'fwd+bwd_ms={per_step_ms:.1f} extra_peak_MiB={peak_mib:.1f}')


def main():
    args = parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    if args.standalone:
        run_standalone(args)
    else:
        run_configs(args)


if __name__ == '__main__':
    main()
