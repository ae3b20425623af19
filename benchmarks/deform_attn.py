"""Compare mmcv's deformable attention CUDA kernel with its PyTorch path.

Times forward + backward, and measures the peak memory, of multi-scale
deformable attention sampling on the two shapes of the BEV encoder:

- ``tsa`` (temporal self-attention): every BEV cell queries two value maps
  of the BEV size, the previous BEV and the current queries.
- ``sca`` (spatial cross-attention): in each of the six cameras, the BEV
  cells that camera sees query the image feature levels. The number of
  visible cells is counted with the model's own pillar projection on a ring
  of six synthetic pinhole cameras.

The sizes come from ``configs/_base_/models/bev-track-map_<config>.py``;
flags override them. ``mmcv.ops.MultiScaleDeformableAttnFunction`` is CUDA
only, so on a CPU only ``multi_scale_deformable_attn_pytorch`` runs, and its
peak memory is the rise of the process's peak RSS. On CUDA both run, the
memory is ``torch.cuda.max_memory_allocated`` above the inputs, and the
summary line also gives the largest difference between their outputs.

Examples:
    python benchmarks/deform_attn.py --config tiny
    python benchmarks/deform_attn.py --config full --device cuda
"""
import argparse
import logging
import os.path as osp
import time
from typing import Dict, List, Tuple

import torch
from mmcv.ops.multi_scale_deform_attn import (
    MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch)
from mmengine.config import Config
from mmengine.logging import MMLogger

from bench_common import PeakRSS, current_rss_mib, median
from synthetic_clips import (IMAGE_SHAPES, MODEL_CONFIGS, REPO_ROOT,
                             ring_cameras)
from nexusflow.models.bev_encoder.spatial_cross_attention import (
    pillar_points, project_to_cameras)

# BEVFormer-base sizes, used when bev-track-map_full.py is not in the
# repository: 200 x 200 BEV over +-51.2 m, 256 channels, 8 heads, four FPN
# levels (strides 8 to 64), 4 points per head in temporal self-attention and
# 4 pillar anchors x 2 points in spatial cross-attention.
FALLBACK_FULL = dict(bev_h=200, bev_w=200, embed_dims=256, num_heads=8,
                     strides=(8, 16, 32, 64), tsa_points=4, num_heights=4,
                     sca_points=2,
                     point_cloud_range=[-51.2, -51.2, -5.0, 51.2, 51.2, 3.0])
PAD_DIVISOR = 32


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', choices=sorted(MODEL_CONFIGS),
                        default='tiny', help='Model config giving the sizes.')
    parser.add_argument('--bev-size', type=int, default=None,
                        help='BEV side in cells (H = W). Default: config.')
    parser.add_argument('--heads', type=int, default=None,
                        help='Attention heads. Default: config.')
    parser.add_argument('--embed-dims', type=int, default=None,
                        help='Channels C. Default: config.')
    parser.add_argument('--batch', type=int, default=1,
                        help='Batch size B (the sca rows are B x 6 cameras).')
    parser.add_argument('--sites', nargs='+', choices=('tsa', 'sca'),
                        default=['tsa', 'sca'], help='Attention sites.')
    parser.add_argument('--repeats', type=int, default=5,
                        help='Timed forward + backward passes per path.')
    parser.add_argument('--warmup', type=int, default=1,
                        help='Untimed passes per path before timing.')
    parser.add_argument('--device', default='cpu', help='cpu or cuda.')
    return parser.parse_args()


def _level_strides(model_cfg: dict) -> List[int]:
    # ResNet stage i has stride 4 * 2**i; FPN's extra outputs halve the size.
    strides = [4 * 2**i for i in model_cfg['img_backbone']['out_indices']]
    while len(strides) < model_cfg['img_neck']['num_outs']:
        strides.append(strides[-1] * 2)
    return strides[:model_cfg['bev_encoder']['num_levels']]


def resolve_sizes(args) -> dict:
    """Return the attention sizes of the config, with flag overrides."""
    path = osp.join(REPO_ROOT, MODEL_CONFIGS[args.config])
    if osp.isfile(path):
        model = Config.fromfile(path).model
        enc = model['bev_encoder']
        sizes = dict(bev_h=model['bev_h'], bev_w=model['bev_w'],
                     embed_dims=enc['embed_dims'], num_heads=enc['num_heads'],
                     strides=tuple(_level_strides(model)),
                     tsa_points=enc['tsa_points'],
                     num_heights=enc['num_heights'],
                     sca_points=enc['sca_points'],
                     point_cloud_range=list(model['point_cloud_range']),
                     source=MODEL_CONFIGS[args.config])
    elif args.config == 'full':
        sizes = dict(FALLBACK_FULL, source='BEVFormer-base sizes')
    else:
        raise FileNotFoundError(f'model config {path} not found')
    if args.bev_size:
        sizes['bev_h'] = sizes['bev_w'] = args.bev_size
    if args.heads:
        sizes['num_heads'] = args.heads
    if args.embed_dims:
        sizes['embed_dims'] = args.embed_dims
    return sizes


def visible_cells_per_camera(sizes: dict, image_shape: Tuple[int, int]
                             ) -> int:
    """Return the largest number of BEV cells one ring camera sees."""
    points = pillar_points(sizes['bev_h'], sizes['bev_w'],
                           sizes['num_heights'], sizes['point_cloud_range'],
                           torch.device('cpu'))
    lidar2img = torch.from_numpy(ring_cameras(image_shape)['lidar2img'])
    _, valid = project_to_cameras(points, lidar2img[None], image_shape)
    return max(int(valid.any(-1).sum(-1).max()), 1)


def make_inputs(site: str, sizes: dict, batch: int,
                image_shape: Tuple[int, int], device: torch.device
                ) -> Dict[str, torch.Tensor]:
    """Return random value, shapes, locations and weights for one site."""
    heads = sizes['num_heads']
    head_dims = sizes['embed_dims'] // heads
    bev_cells = sizes['bev_h'] * sizes['bev_w']
    if site == 'tsa':
        shapes = [(sizes['bev_h'], sizes['bev_w'])] * 2
        rows, queries, points = batch, bev_cells, sizes['tsa_points']
    else:
        pad_h = -(-image_shape[0] // PAD_DIVISOR) * PAD_DIVISOR
        pad_w = -(-image_shape[1] // PAD_DIVISOR) * PAD_DIVISOR
        shapes = [(-(-pad_h // s), -(-pad_w // s)) for s in sizes['strides']]
        rows = batch * 6
        queries = visible_cells_per_camera(sizes, image_shape)
        points = sizes['num_heights'] * sizes['sca_points']
    spatial_shapes = torch.tensor(shapes, dtype=torch.long, device=device)
    level_sizes = spatial_shapes.prod(1)
    level_start = torch.cat([level_sizes.new_zeros(1),
                             level_sizes.cumsum(0)[:-1]])
    levels = len(shapes)
    num_value = int(level_sizes.sum())
    weights = torch.rand(rows, queries, heads, levels, points, device=device)
    weights = weights / weights.sum((-1, -2), keepdim=True)
    return dict(
        value=torch.randn(rows, num_value, heads, head_dims, device=device,
                          requires_grad=True),
        spatial_shapes=spatial_shapes,
        level_start_index=level_start,
        sampling_locations=torch.rand(rows, queries, heads, levels, points, 2,
                                      device=device, requires_grad=True),
        attention_weights=weights.requires_grad_(True))


def run_path(path: str, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
    if path == 'mmcv_cuda':
        return MultiScaleDeformableAttnFunction.apply(
            inputs['value'], inputs['spatial_shapes'],
            inputs['level_start_index'], inputs['sampling_locations'],
            inputs['attention_weights'], 64)
    return multi_scale_deformable_attn_pytorch(
        inputs['value'], inputs['spatial_shapes'],
        inputs['sampling_locations'], inputs['attention_weights'])


def measure(path: str, inputs: Dict[str, torch.Tensor], device: torch.device,
            peak: PeakRSS) -> Tuple[float, float]:
    """Return the time in ms and the peak memory in MiB of one forward +
    backward pass."""
    for tensor in inputs.values():
        tensor.grad = None
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        before = current_rss_mib()
        peak.reset()
    start = time.perf_counter()
    run_path(path, inputs).sum().backward()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        elapsed = time.perf_counter() - start
        memory = (torch.cuda.max_memory_allocated(device) - base) / 2**20
    else:
        elapsed = time.perf_counter() - start
        memory = peak.read_mib() - before
    return elapsed * 1e3, memory


def main():
    args = parse_args()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    device = torch.device(args.device)
    sizes = resolve_sizes(args)
    image_shape = IMAGE_SHAPES[args.config]
    paths = ['pytorch']
    if device.type == 'cuda':
        paths.append('mmcv_cuda')
    peak = PeakRSS()

    parts = []
    for site in args.sites:
        torch.manual_seed(0)
        inputs = make_inputs(site, sizes, args.batch, image_shape, device)
        results = {path: ([], []) for path in paths}
        for step in range(args.warmup + args.repeats):
            for path in paths:
                ms, mib = measure(path, inputs, device, peak)
                # Memory counts from the first pass on: later CPU passes can
                # reuse pages that the allocator kept, which hides their rise.
                results[path][1].append(mib)
                if step >= args.warmup:
                    results[path][0].append(ms)
        value = inputs['value']
        loc = inputs['sampling_locations']
        print(f'detail {site}: value={tuple(value.shape)} '
              f'levels={inputs["spatial_shapes"].tolist()} '
              f'locations={tuple(loc.shape)}')
        figures = [f'{site}: queries={loc.shape[1]} rows={loc.shape[0]}']
        for path in paths:
            figures.append(
                f'{path}_fwd+bwd_ms={median(results[path][0]):.1f} '
                f'{path}_peak_MiB={max(results[path][1]):.1f}')
        if 'mmcv_cuda' in paths:
            with torch.no_grad():
                diff = (run_path('pytorch', inputs) -
                        run_path('mmcv_cuda', inputs)).abs().max()
            figures.append(
                'speedup={:.2f} max_abs_diff={:.2e}'.format(
                    median(results['pytorch'][0]) /
                    median(results['mmcv_cuda'][0]), float(diff)))
        else:
            figures.append('mmcv_cuda=not run (the kernel is CUDA only)')
        parts.append(' '.join(figures))

    memory_kind = ('cuda_max_allocated' if device.type == 'cuda' else
                   'rss_rise' if peak.resettable else 'rss_since_start')
    print(f'deform_attn device={args.device} sizes={sizes["source"]} '
          f'bev={sizes["bev_h"]}x{sizes["bev_w"]} '
          f'heads={sizes["num_heads"]} C={sizes["embed_dims"]} '
          f'B={args.batch} repeats={args.repeats} memory={memory_kind} | ' +
          ' | '.join(parts))


if __name__ == '__main__':
    main()
