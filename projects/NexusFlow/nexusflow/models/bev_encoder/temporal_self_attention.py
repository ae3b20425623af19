"""Temporal self-attention between the BEV queries and the previous BEV."""
import math
from typing import Optional

import torch
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ..utils.deform_attn import multi_scale_deformable_attn


@MODELS.register_module()
class TemporalSelfAttention(nn.Module):
    """Deformable attention of each BEV query into two BEV maps.

    The two value maps are the previous BEV (already warped to the current
    frame) and the current BEV queries. They enter the deformable sampling
    as two levels of the same (bev_h, bev_w) size. Offsets and weights come
    from the query concatenated with the previous BEV at that cell. Without
    a previous BEV the queries stand in for it.

    Args:
        embed_dims (int): Channels C. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 8.
        num_points (int): Sampling points per head and map. Defaults to 4.
        dropout (float): Dropout on the output. Defaults to 0.1.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_points: int = 4,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} must be divisible by '
                             f'num_heads {num_heads}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_points = num_points
        self.num_maps = 2
        self.sampling_offsets = nn.Linear(
            embed_dims * 2, num_heads * self.num_maps * num_points * 2)
        self.attention_weights = nn.Linear(
            embed_dims * 2, num_heads * self.num_maps * num_points)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.init_weights()

    def init_weights(self) -> None:
        """Start offsets on a ring of directions, one per head."""
        nn.init.zeros_(self.sampling_offsets.weight)
        thetas = torch.arange(self.num_heads).float() * \
            (2.0 * math.pi / self.num_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid.view(self.num_heads, 1, 1, 2).repeat(
            1, self.num_maps, self.num_points, 1)
        for i in range(self.num_points):
            grid[:, :, i, :] *= i + 1
        self.sampling_offsets.bias.data = grid.flatten()
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.zeros_(self.value_proj.bias)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    def forward(self, query: Tensor, query_pos: Tensor,
                prev_bev: Optional[Tensor], reference_points: Tensor,
                bev_h: int, bev_w: int) -> Tensor:
        """Attend from the BEV queries to the previous and current BEV.

        Args:
            query (Tensor): (B, H*W, C) BEV queries, row-major over the grid.
            query_pos (Tensor): (B, H*W, C) positional embedding.
            prev_bev (Tensor, optional): (B, H*W, C) previous BEV warped to
                the current frame, or None for the first frame.
            reference_points (Tensor): (B, H*W, 2) cell centres as (x, y)
                in [0, 1].
            bev_h (int): BEV rows H.
            bev_w (int): BEV columns W.

        Returns:
            Tensor: (B, H*W, C) output, without the residual.
        """
        batch, num_query, _ = query.shape
        if prev_bev is None:
            prev_bev = query
        query_with_pos = query + query_pos
        value = torch.cat([prev_bev, query], dim=1)
        value = self.value_proj(value).view(
            batch, self.num_maps * num_query, self.num_heads, -1)

        mixed = torch.cat([prev_bev, query_with_pos], dim=-1)
        offsets = self.sampling_offsets(mixed).view(
            batch, num_query, self.num_heads, self.num_maps, self.num_points,
            2)
        weights = self.attention_weights(mixed).view(
            batch, num_query, self.num_heads,
            self.num_maps * self.num_points).softmax(-1).view(
                batch, num_query, self.num_heads, self.num_maps,
                self.num_points)

        shapes = torch.tensor([[bev_h, bev_w]] * self.num_maps,
                              device=query.device, dtype=torch.long)
        level_start = torch.tensor([0, bev_h * bev_w], device=query.device,
                                   dtype=torch.long)
        # Locations stay float32 under autocast (bf16 rounds them).
        normalizer = offsets.new_tensor([bev_w, bev_h]).float()
        locations = reference_points[:, :, None, None, None, :].float() + \
            offsets.float() / normalizer
        output = multi_scale_deformable_attn(value, shapes, level_start,
                                             locations, weights)
        return self.dropout(self.output_proj(output.to(query.dtype)))
