"""Measure training throughput and peak RSS with and without NexusFlow.

The script builds the BEV track+map model twice from the same model config
and seed, once without and once with the NexusFlow module. It times
``model.train_step`` (data preprocessing, forward, losses, backward, AdamW
update with gradient clipping) on the same synthetic clips, alternating
between the two models step by step.

The summary gives samples per second from the median and from the fastest
step, and the median of the per-repeat ratios of the two step times. That
ratio is steadier than the ratio of medians when other jobs load the
machine. Per model it also gives the largest peak RSS of the process during
a step and how far that rose above the RSS before the step. Both models
stay in memory, so the absolute peak RSS includes both, and the rise is the
part that belongs to the step.

Example:
    python benchmarks/train_step.py --config tiny --batch-size 1 --frames 3
"""
import argparse
import logging
import os.path as osp

import torch
from mmengine.logging import MMLogger

from bench_common import (PeakRSS, current_rss_mib, median, paired_ratio,
                          time_alternating)
from synthetic_clips import (CLIP_FRAMES, IMAGE_SHAPES, build_model,
                             REPO_ROOT, build_optim_wrapper,
                             default_nexusflow_config,
                             count_parameters, load_model_config,
                             make_clip_batch, nexusflow_config)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', choices=('tiny', 'full'), default='tiny',
                        help='Model config, configs/_base_/models/'
                        'bev-track-map_<config>.py.')
    parser.add_argument('--nexusflow-config', default=None,
                        help='Runnable config whose NexusFlowHook gives the '
                        'flow. Defaults to the tiny or full config in '
                        'configs/nexusflow/, or where none exists, to '
                        'NexusFlow with its default sizes aligning the map '
                        'head latent and the track queries.')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='Clips per step.')
    parser.add_argument('--frames', type=int, default=CLIP_FRAMES,
                        help='Frames per clip (the queue plus the current '
                        'frame).')
    parser.add_argument('--repeats', type=int, default=5,
                        help='Timed steps of each model.')
    parser.add_argument('--warmup', type=int, default=1,
                        help='Untimed steps of each model before timing.')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads. Defaults to torch\'s '
                        'choice.')
    parser.add_argument('--device', default='cpu', help='cpu or cuda.')
    return parser.parse_args()


def main():
    args = parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model_cfg = load_model_config(args.config).model
    flow_path = (args.nexusflow_config or
                 default_nexusflow_config(args.config))
    flow_cfg = nexusflow_config(model_cfg, flow_path)
    print('detail nexusflow config: ' +
          (osp.relpath(flow_path, REPO_ROOT) if flow_path else
           'NexusFlow defaults'))
    data = make_clip_batch(model_cfg, IMAGE_SHAPES[args.config],
                           batch_size=args.batch_size,
                           num_frames=args.frames)

    models = dict(
        baseline=build_model(model_cfg, None, device=args.device),
        nexusflow=build_model(model_cfg, flow_cfg, device=args.device))
    wrappers = {name: build_optim_wrapper(m) for name, m in models.items()}
    peak = PeakRSS()
    peaks = {name: [] for name in models}
    rises = {name: [] for name in models}

    def make_step(name):
        def step():
            before = current_rss_mib()
            peak.reset()
            models[name].train_step(data, wrappers[name])
            peaks[name].append(peak.read_mib())
            rises[name].append(peaks[name][-1] - before)
        return step

    sync = (lambda: torch.cuda.synchronize(device)) \
        if device.type == 'cuda' else (lambda: None)
    times, cpu_times = time_alternating(
        {name: make_step(name) for name in models}, repeats=args.repeats,
        warmup=args.warmup, sync=sync)

    figures = {}
    for name in models:
        figures[name] = dict(
            samples_per_s=args.batch_size / median(times[name]),
            best_samples_per_s=args.batch_size / min(times[name]),
            peak_rss=max(peaks[name][args.warmup:]),
            rise=max(rises[name][args.warmup:]))
        print(f'detail {name}: params={count_parameters(models[name])} '
              'step_ms=' + ','.join(f'{t * 1e3:.0f}' for t in times[name]) +
              ' cpu_ms=' +
              ','.join(f'{t * 1e3:.0f}' for t in cpu_times[name]))
    base, flow = figures['baseline'], figures['nexusflow']
    ratio_paired = paired_ratio(times['nexusflow'], times['baseline'])
    ratio_best = min(times['nexusflow']) / min(times['baseline'])
    rss_note = '' if peak.resettable else ' (peak since process start)'
    print(f'train_step config={args.config} device={args.device} '
          f'threads={torch.get_num_threads()} B={args.batch_size} '
          f'T={args.frames} repeats={args.repeats} '
          f'baseline_samples_per_s={base["samples_per_s"]:.3f} '
          f'nexusflow_samples_per_s={flow["samples_per_s"]:.3f} '
          f'baseline_best_samples_per_s={base["best_samples_per_s"]:.3f} '
          f'nexusflow_best_samples_per_s={flow["best_samples_per_s"]:.3f} '
          f'step_time_ratio_paired={ratio_paired:.3f} '
          f'step_time_ratio_best={ratio_best:.3f} '
          f'baseline_peak_rss_MiB={base["peak_rss"]:.0f} '
          f'nexusflow_peak_rss_MiB={flow["peak_rss"]:.0f} '
          f'baseline_step_rss_rise_MiB={base["rise"]:.0f} '
          f'nexusflow_step_rss_rise_MiB={flow["rise"]:.0f}{rss_note}')

if __name__ == '__main__':
    main()
