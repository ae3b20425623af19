"""BEVFormer-style encoder: BEV queries fed by past BEV and camera views."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.utils.checkpoint as cp
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from .spatial_cross_attention import (SpatialCrossAttention, pillar_points,
                                      project_to_cameras)
from .temporal_self_attention import TemporalSelfAttention


class BEVEncoderLayer(nn.Module):
    """Temporal self-attention, spatial cross-attention and an FFN.

    Each block is followed by a residual connection and LayerNorm.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_levels: int,
                 num_heights: int, tsa_points: int, sca_points: int,
                 ffn_dims: int, dropout: float) -> None:
        super().__init__()
        self.temporal_attn = TemporalSelfAttention(embed_dims, num_heads,
                                                   tsa_points, dropout)
        self.spatial_attn = SpatialCrossAttention(embed_dims, num_heads,
                                                  num_levels, num_heights,
                                                  sca_points, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, ffn_dims), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_dims, embed_dims),
            nn.Dropout(dropout))
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))

    def forward(self, query: Tensor, query_pos: Tensor,
                prev_bev: Optional[Tensor], bev_ref_2d: Tensor,
                img_value: Tensor, spatial_shapes: Tensor,
                level_start_index: Tensor, ref_cam: Tensor, bev_mask: Tensor,
                bev_h: int, bev_w: int) -> Tensor:
        query = self.norms[0](query + self.temporal_attn(
            query, query_pos, prev_bev, bev_ref_2d, bev_h, bev_w))
        query = self.norms[1](query + self.spatial_attn(
            query + query_pos, img_value, spatial_shapes, level_start_index,
            ref_cam, bev_mask))
        return self.norms[2](query + self.ffn(query))


@MODELS.register_module()
class BEVEncoder(nn.Module):
    """Lift multi-camera features to a BEV grid.

    Learned BEV queries (bev_h * bev_w, C) with a learned row/column
    positional embedding run through ``num_layers`` encoder layers. The
    output is row-major over the grid (rows along y, columns along x).

    NOTE: ego motion enters only through the warp of the previous BEV. The
    CAN bus signals that BEVFormer adds to the queries are not used.

    Args:
        bev_h (int): BEV rows (along y).
        bev_w (int): BEV columns (along x).
        point_cloud_range (Sequence[float]): BEV range in metres.
        embed_dims (int): Channels C. Defaults to 256.
        num_layers (int): Encoder layers. Defaults to 6.
        num_heads (int): Attention heads. Defaults to 8.
        num_levels (int): Image feature levels. Defaults to 4.
        num_cams (int): Cameras, for the learned camera embedding.
            Defaults to 6.
        num_heights (int): Pillar anchors per cell. Defaults to 4.
        tsa_points (int): Temporal sampling points. Defaults to 4.
        sca_points (int): Spatial sampling points per anchor. Defaults to 2.
        ffn_dims (int): FFN hidden channels. Defaults to 512.
        dropout (float): Dropout. Defaults to 0.1.
        with_cp (bool): Recompute each layer in backward (activation
            checkpointing) to save memory. Defaults to False.
    """

    def __init__(self,
                 bev_h: int,
                 bev_w: int,
                 point_cloud_range: Sequence[float],
                 embed_dims: int = 256,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 num_levels: int = 4,
                 num_cams: int = 6,
                 num_heights: int = 4,
                 tsa_points: int = 4,
                 sca_points: int = 2,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 with_cp: bool = False) -> None:
        super().__init__()
        if embed_dims % 2:
            raise ValueError(f'embed_dims must be even, got {embed_dims}')
        self.bev_h = bev_h
        self.bev_w = bev_w
        self.point_cloud_range = list(point_cloud_range)
        self.embed_dims = embed_dims
        self.num_levels = num_levels
        self.num_cams = num_cams
        self.num_heights = num_heights
        self.with_cp = with_cp

        self.bev_embedding = nn.Embedding(bev_h * bev_w, embed_dims)
        self.row_embed = nn.Embedding(bev_h, embed_dims // 2)
        self.col_embed = nn.Embedding(bev_w, embed_dims // 2)
        self.level_embeds = nn.Parameter(torch.zeros(num_levels, embed_dims))
        self.cams_embeds = nn.Parameter(torch.zeros(num_cams, embed_dims))
        nn.init.normal_(self.level_embeds, std=0.02)
        nn.init.normal_(self.cams_embeds, std=0.02)
        self.layers = nn.ModuleList(
            BEVEncoderLayer(embed_dims, num_heads, num_levels, num_heights,
                            tsa_points, sca_points, ffn_dims, dropout)
            for _ in range(num_layers))

    def positional_embedding(self, batch: int) -> Tensor:
        """Return the (B, H*W, C) learned positional embedding."""
        rows = self.row_embed.weight[:, None, :].expand(-1, self.bev_w, -1)
        cols = self.col_embed.weight[None, :, :].expand(self.bev_h, -1, -1)
        pos = torch.cat([cols, rows], dim=-1).reshape(-1, self.embed_dims)
        return pos[None].expand(batch, -1, -1)

    def _flatten_feats(
            self, mlvl_feats: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        values, shapes = [], []
        for level, feat in enumerate(mlvl_feats):
            batch, num_cams, channels, height, width = feat.shape
            if num_cams > self.num_cams:
                raise ValueError(f'BEVEncoder was built for {self.num_cams} '
                                 f'cameras, got features of {num_cams}')
            flat = feat.flatten(3).permute(0, 1, 3, 2)
            flat = flat + self.cams_embeds[:num_cams, None, :].to(flat)
            flat = flat + self.level_embeds[level].to(flat)
            values.append(flat)
            shapes.append((height, width))
        value = torch.cat(values, dim=2)
        device = value.device
        spatial_shapes = torch.tensor(shapes, dtype=torch.long, device=device)
        sizes = spatial_shapes.prod(1)
        level_start = torch.cat([sizes.new_zeros(1), sizes.cumsum(0)[:-1]])
        return value, spatial_shapes, level_start

    def forward(self, mlvl_feats: List[Tensor], lidar2img: Tensor,
                pad_shape: Tuple[int, int],
                prev_bev: Optional[Tensor] = None) -> Tensor:
        """Build the BEV of one frame.

        Args:
            mlvl_feats (list[Tensor]): ``num_levels`` maps
                (B, N_cam, C, H_l, W_l).
            lidar2img (Tensor): (B, N_cam, 4, 4) LiDAR to resized-image
                pixels.
            pad_shape (tuple[int, int]): (H_pad, W_pad) of the input images.
            prev_bev (Tensor, optional): (B, H*W, C) previous BEV already
                warped to this frame, or None.

        Returns:
            Tensor: (B, H*W, C) BEV features.
        """
        if len(mlvl_feats) != self.num_levels:
            raise ValueError(f'BEVEncoder expects {self.num_levels} feature '
                             f'levels, got {len(mlvl_feats)}')
        batch = mlvl_feats[0].shape[0]
        device = mlvl_feats[0].device
        img_value, spatial_shapes, level_start = self._flatten_feats(
            mlvl_feats)

        query = self.bev_embedding.weight[None].expand(batch, -1, -1)
        query = query.to(img_value.dtype)
        query_pos = self.positional_embedding(batch).to(img_value.dtype)

        points = pillar_points(self.bev_h, self.bev_w, self.num_heights,
                               self.point_cloud_range, device)
        ref_cam, bev_mask = project_to_cameras(points, lidar2img, pad_shape)
        ref_2d = points[None, :, 0, :2].expand(batch, -1, -1).clone()
        x_min, y_min, _, x_max, y_max, _ = self.point_cloud_range
        ref_2d[..., 0] = (ref_2d[..., 0] - x_min) / (x_max - x_min)
        ref_2d[..., 1] = (ref_2d[..., 1] - y_min) / (y_max - y_min)

        for layer in self.layers:
            args = (query, query_pos, prev_bev, ref_2d, img_value,
                    spatial_shapes, level_start, ref_cam, bev_mask,
                    self.bev_h, self.bev_w)
            if self.with_cp and self.training and query.requires_grad:
                query = cp.checkpoint(layer, *args, use_reentrant=False)
            else:
                query = layer(*args)
        return query
