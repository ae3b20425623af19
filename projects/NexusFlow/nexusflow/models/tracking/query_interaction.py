"""Carrying track queries from one frame to the next."""
from typing import Sequence

import torch
from mmdet3d.registry import MODELS
from torch import Tensor, nn


def inverse_sigmoid(x: Tensor, eps: float = 1e-5) -> Tensor:
    """Inverse of the sigmoid, clamped away from 0 and 1."""
    x = x.clamp(min=0, max=1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


def propagate_reference_points(ref: Tensor, velocity: Tensor, dt: float,
                               prev2curr: Tensor,
                               point_cloud_range: Sequence[float]) -> Tensor:
    """Move normalized track reference points into the next frame.

    Each centre moves by its velocity for ``dt`` seconds and is then mapped
    from the previous into the current LiDAR frame.

    Args:
        ref (Tensor): (K, 3) centres normalized to [0, 1] over the range.
        velocity (Tensor): (K, 2) (vx, vy) in m/s, previous LiDAR frame.
        dt (float): Seconds between the frames.
        prev2curr (Tensor): (4, 4) previous to current LiDAR frame.
        point_cloud_range (Sequence[float]): BEV range in metres.

    Returns:
        Tensor: (K, 3) normalized centres in the current frame, clamped to
        [0, 1].
    """
    lower = ref.new_tensor(point_cloud_range[:3])
    extent = ref.new_tensor(point_cloud_range[3:]) - lower
    centre = ref * extent + lower
    centre = torch.cat([centre[:, :2] + velocity * dt, centre[:, 2:]], -1)
    homo = torch.cat([centre, torch.ones_like(centre[:, :1])], dim=-1)
    moved = (prev2curr.to(homo) @ homo.T).T[:, :3]
    return ((moved - lower) / extent).clamp(0.0, 1.0)


@MODELS.register_module()
class QueryInteraction(nn.Module):
    """Turn decoder outputs of kept queries into next-frame track queries.

    The content is updated from the decoder embedding with a residual MLP
    and LayerNorm, and the positional part gets a learned residual, in the
    spirit of MOTR's query interaction module.

    Args:
        embed_dims (int): Channels C.
        ffn_dims (int): Hidden channels of the MLP. Defaults to 512.
        dropout (float): Dropout. Defaults to 0.1.
    """

    def __init__(self,
                 embed_dims: int,
                 ffn_dims: int = 512,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.content_mlp = nn.Sequential(
            nn.Linear(embed_dims, ffn_dims), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_dims, embed_dims))
        self.content_norm = nn.LayerNorm(embed_dims)
        self.pos_proj = nn.Linear(embed_dims, embed_dims)
        self.pos_norm = nn.LayerNorm(embed_dims)

    def forward(self, embedding: Tensor, query_pos: Tensor) -> tuple:
        """Update kept queries.

        Args:
            embedding (Tensor): (K, C) last decoder layer outputs.
            query_pos (Tensor): (K, C) positional part used this frame.

        Returns:
            tuple[Tensor, Tensor]: (K, C) content and positional parts for
            the next frame.
        """
        content = self.content_norm(embedding + self.content_mlp(embedding))
        pos = self.pos_norm(query_pos + self.pos_proj(embedding))
        return content, pos
