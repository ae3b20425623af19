"""Multi-scale deformable attention sampling with a CUDA and a CPU path."""
import torch
from mmcv.ops.multi_scale_deform_attn import (
    MultiScaleDeformableAttnFunction, multi_scale_deformable_attn_pytorch)
from torch import Tensor


def multi_scale_deformable_attn(value: Tensor,
                                spatial_shapes: Tensor,
                                level_start_index: Tensor,
                                sampling_locations: Tensor,
                                attention_weights: Tensor,
                                im2col_step: int = 64) -> Tensor:
    """Sample ``value`` at deformable locations and mix them by weights.

    mmcv's CUDA kernel is used for CUDA tensors and mmcv's PyTorch
    implementation otherwise, because the kernel has no CPU version. Both
    paths run in float32 so that autocast (bf16 or fp16) does not reach the
    sampling, and the result is cast back to the dtype of ``value``.

    Args:
        value (Tensor): Flattened features of all levels, shape
            (B, S, num_heads, head_dims) with S = sum of H_l * W_l.
        spatial_shapes (Tensor): (L, 2) long, (H_l, W_l) of each level.
        level_start_index (Tensor): (L,) long, start of each level in S.
        sampling_locations (Tensor): (B, Q, num_heads, L, P, 2), (x, y)
            normalized to [0, 1] over each level's width and height.
        attention_weights (Tensor): (B, Q, num_heads, L, P), summing to one
            over (L, P).
        im2col_step (int): Batch chunk of the CUDA kernel. Defaults to 64.

    Returns:
        Tensor: (B, Q, num_heads * head_dims).
    """
    out_dtype = value.dtype
    value = value.float()
    sampling_locations = sampling_locations.float()
    attention_weights = attention_weights.float()
    with torch.autocast(device_type=value.device.type, enabled=False):
        if value.is_cuda:
            # The CUDA kernel reads raw memory and expects contiguous inputs.
            output = MultiScaleDeformableAttnFunction.apply(
                value.contiguous(), spatial_shapes.contiguous(),
                level_start_index.contiguous(),
                sampling_locations.contiguous(),
                attention_weights.contiguous(), im2col_step)
        else:
            output = multi_scale_deformable_attn_pytorch(
                value, spatial_shapes, sampling_locations, attention_weights)
    return output.to(out_dtype)
