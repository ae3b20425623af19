"""Measure the cost of the NexusFlow alignment loss on head-sized latents.

Times forward + backward of ``NexusFlow.loss`` on a map-head latent
(B, C, H, W) and track queries (B, Q, C), and prints one summary line with
the parameter count, the mean time per step and, on CUDA, the peak memory
that the step adds.

Example:
    python benchmarks/nexusflow_overhead.py --bev-size 200 --device cpu
"""
import argparse
import time

import torch

import nexusflow  # noqa: F401
from nexusflow.flows import NexusFlow
from nexusflow.flows.surrogate import count_parameters


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=1, help='Batch size B.')
    parser.add_argument(
        '--bev-size', type=int, default=200,
        help='Side of the square map latent in cells (H = W).')
    parser.add_argument(
        '--channels', type=int, default=256, help='Latent channels C.')
    parser.add_argument(
        '--queries', type=int, default=900, help='Track queries Q.')
    parser.add_argument(
        '--surrogate-type', choices=('flow', 'mlp'), default='flow')
    parser.add_argument('--warmup', type=int, default=2,
                        help='Untimed steps before timing.')
    parser.add_argument('--repeats', type=int, default=5,
                        help='Timed steps.')
    parser.add_argument('--device', default='cpu', help='cpu or cuda.')
    return parser.parse_args()


def main():
    args = parse_args()
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

    print(f'nexusflow_overhead device={args.device} '
          f'surrogate={args.surrogate_type} B={args.batch} '
          f'map={args.channels}x{args.bev_size}x{args.bev_size} '
          f'queries={args.queries} params={count_parameters(module)} '
          f'fwd+bwd_ms={per_step_ms:.1f} extra_peak_MiB={peak_mib:.1f}')


if __name__ == '__main__':
    main()
