"""Multi-scale deformable attention: CUDA op against the PyTorch path."""
import pytest
import torch
from mmcv.ops.multi_scale_deform_attn import (
    MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch)

from nexusflow.models.utils.deform_attn import multi_scale_deformable_attn


def _inputs(device, batch=2, heads=4, head_dims=8, queries=30, points=3):
    gen = torch.Generator().manual_seed(0)
    shapes = torch.tensor([[12, 20], [6, 10]], dtype=torch.long)
    sizes = shapes.prod(1)
    start = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
    value = torch.randn(batch, int(sizes.sum()), heads, head_dims,
                        generator=gen)
    locations = torch.rand(batch, queries, heads, 2, points, 2, generator=gen)
    weights = torch.rand(batch, queries, heads, 2, points, generator=gen)
    weights = weights / weights.sum((-1, -2), keepdim=True)
    return [t.to(device) for t in (value, shapes, start, locations, weights)]


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='mmcv op has only a CUDA kernel')
def test_cuda_op_matches_pytorch_path():
    value, shapes, start, locations, weights = _inputs('cuda')
    op = MultiScaleDeformableAttnFunction.apply(value, shapes, start,
                                                locations, weights, 64)
    reference = multi_scale_deformable_attn_pytorch(value, shapes, locations,
                                                    weights)
    assert torch.allclose(op, reference, atol=1e-4)
    wrapped = multi_scale_deformable_attn(value, shapes, start, locations,
                                          weights)
    assert torch.allclose(wrapped, reference, atol=1e-4)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='mmcv op has only a CUDA kernel')
def test_cuda_op_gradients_match_pytorch_path():
    value, shapes, start, locations, weights = _inputs('cuda')
    grads = []
    for use_op in (True, False):
        leaves = [t.clone().requires_grad_() for t in
                  (value, locations, weights)]
        if use_op:
            out = MultiScaleDeformableAttnFunction.apply(
                leaves[0], shapes, start, leaves[1], leaves[2], 64)
        else:
            out = multi_scale_deformable_attn_pytorch(leaves[0], shapes,
                                                      leaves[1], leaves[2])
        out.square().sum().backward()
        grads.append([leaf.grad for leaf in leaves])
    for op_grad, ref_grad in zip(*grads):
        assert torch.allclose(op_grad, ref_grad, atol=1e-3, rtol=1e-3)


def test_cpu_path_equals_mmcv_pytorch():
    value, shapes, start, locations, weights = _inputs('cpu')
    wrapped = multi_scale_deformable_attn(value, shapes, start, locations,
                                          weights)
    reference = multi_scale_deformable_attn_pytorch(value, shapes, locations,
                                                    weights)
    assert torch.equal(wrapped, reference)
    assert wrapped.shape == (2, 30, 32)


def test_bf16_input_runs_in_float32():
    value, shapes, start, locations, weights = _inputs('cpu')
    reference = multi_scale_deformable_attn(value, shapes, start, locations,
                                            weights)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = multi_scale_deformable_attn(value.bfloat16(), shapes, start,
                                          locations.bfloat16(),
                                          weights.bfloat16())
    assert out.dtype == torch.bfloat16
    # Only the bf16 rounding of the inputs separates the two.
    assert torch.allclose(out.float(), reference, atol=0.05)


@pytest.mark.skipif(
    not torch.cuda.is_available(), reason='mmcv op has only a CUDA kernel')
def test_model_bev_on_cuda_matches_cpu():
    from mmdet3d.registry import MODELS

    from model_helpers import make_batch, small_model_cfg

    torch.manual_seed(0)
    model = MODELS.build(small_model_cfg()).eval()
    batch = make_batch(1, 1)
    with torch.no_grad():
        cpu_bev = model(**model.data_preprocessor(batch, False),
                        mode='tensor')['bev']
        model = model.cuda()
        cuda_bev = model(**model.data_preprocessor(batch, False),
                         mode='tensor')['bev']
    assert cuda_bev.is_cuda
    assert torch.allclose(cuda_bev.cpu(), cpu_bev, atol=1e-3)
