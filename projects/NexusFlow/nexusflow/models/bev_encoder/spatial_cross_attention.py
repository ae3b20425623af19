"""Spatial cross-attention from BEV pillars into multi-camera features."""
from typing import Sequence, Tuple

import torch
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from ..utils.deform_attn import multi_scale_deformable_attn


def pillar_points(bev_h: int, bev_w: int, num_heights: int,
                  point_cloud_range: Sequence[float],
                  device: torch.device) -> Tensor:
    """Return the 3D anchor points of every BEV cell's pillar.

    Args:
        bev_h (int): BEV rows (along y).
        bev_w (int): BEV columns (along x).
        num_heights (int): Anchors per pillar, spread evenly over
            [z_min, z_max] at bin centres.
        point_cloud_range (Sequence[float]): BEV range in metres.
        device (torch.device): Output device.

    Returns:
        Tensor: (H*W, D, 3) (x, y, z) in metres in the LiDAR frame,
        row-major over the grid.
    """
    x_min, y_min, z_min, x_max, y_max, z_max = [
        float(v) for v in point_cloud_range
    ]
    xs = x_min + (torch.arange(bev_w, device=device) + 0.5) * \
        (x_max - x_min) / bev_w
    ys = y_min + (torch.arange(bev_h, device=device) + 0.5) * \
        (y_max - y_min) / bev_h
    zs = z_min + (torch.arange(num_heights, device=device) + 0.5) * \
        (z_max - z_min) / num_heights
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    grid = torch.stack([grid_x, grid_y], -1).view(-1, 1, 2)
    grid = grid.expand(-1, num_heights, 2)
    heights = zs.view(1, -1, 1).expand(grid.shape[0], -1, 1)
    return torch.cat([grid, heights], dim=-1)


def project_to_cameras(points: Tensor, lidar2img: Tensor,
                       pad_shape: Tuple[int, int],
                       min_depth: float = 0.1) -> Tuple[Tensor, Tensor]:
    """Project LiDAR-frame points into every camera.

    Args:
        points (Tensor): (Q, D, 3) points in metres.
        lidar2img (Tensor): (B, N, 4, 4) projection to pixels of the
            resized image.
        pad_shape (tuple[int, int]): (H_pad, W_pad) of the padded image in
            pixels; the feature maps cover this area.
        min_depth (float): Points closer than this (metres along the
            optical axis) count as behind the camera. Defaults to 0.1.

    Returns:
        tuple[Tensor, Tensor]: (B, N, Q, D, 2) pixel positions as (u, v)
        normalized to [0, 1] by ``pad_shape``, and the (B, N, Q, D) bool
        mask of points in front of the camera and inside the image.
    """
    homo = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
    cam = torch.einsum('bnij,qdj->bnqdi', lidar2img.float(), homo.float())
    depth = cam[..., 2:3]
    valid = depth[..., 0] > min_depth
    pixels = cam[..., :2] / depth.clamp(min=min_depth)
    pad_h, pad_w = pad_shape
    pixels = pixels / pixels.new_tensor([pad_w, pad_h])
    valid = valid & (pixels[..., 0] >= 0) & (pixels[..., 0] <= 1) & \
        (pixels[..., 1] >= 0) & (pixels[..., 1] <= 1)
    return pixels, valid


@MODELS.register_module()
class SpatialCrossAttention(nn.Module):
    """Deformable attention from BEV pillars into the cameras that see them.

    Each BEV query samples, in every camera, around the projections of its
    D pillar anchors (``num_points`` per anchor and feature level). The
    outputs of the cameras that see at least one anchor are averaged.

    Each camera only evaluates the queries whose anchors project into it,
    gathered and padded to the largest count in the batch.

    Args:
        embed_dims (int): Channels C. Defaults to 256.
        num_heads (int): Attention heads. Defaults to 8.
        num_levels (int): Image feature levels. Defaults to 4.
        num_heights (int): Pillar anchors D. Defaults to 4.
        num_points (int): Sampling points per anchor, head and level.
            Defaults to 2.
        dropout (float): Dropout on the output. Defaults to 0.1.
    """

    def __init__(self,
                 embed_dims: int = 256,
                 num_heads: int = 8,
                 num_levels: int = 4,
                 num_heights: int = 4,
                 num_points: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} must be divisible by '
                             f'num_heads {num_heads}')
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.num_levels = num_levels
        self.num_heights = num_heights
        self.num_points = num_points
        num_samples = num_heads * num_levels * num_heights * num_points
        self.sampling_offsets = nn.Linear(embed_dims, num_samples * 2)
        self.attention_weights = nn.Linear(embed_dims, num_samples)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.init_weights()

    def init_weights(self) -> None:
        """Start with small offsets and uniform attention weights."""
        nn.init.normal_(self.sampling_offsets.weight, std=1e-3)
        nn.init.uniform_(self.sampling_offsets.bias, -1.0, 1.0)
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.zeros_(self.value_proj.bias)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    def forward(self, query: Tensor, img_value: Tensor, spatial_shapes: Tensor,
                level_start_index: Tensor, reference_points_cam: Tensor,
                bev_mask: Tensor) -> Tensor:
        """Attend from BEV queries into the camera features.

        Args:
            query (Tensor): (B, Q, C) BEV queries with positional embedding.
            img_value (Tensor): (B, N, S, C) flattened image features of all
                levels.
            spatial_shapes (Tensor): (L, 2) long, (H_l, W_l) per level.
            level_start_index (Tensor): (L,) long.
            reference_points_cam (Tensor): (B, N, Q, D, 2) anchor
                projections in [0, 1].
            bev_mask (Tensor): (B, N, Q, D) bool visibility of each anchor.

        Returns:
            Tensor: (B, Q, C) output, without the residual.
        """
        batch, num_cams, num_value, channels = img_value.shape
        num_query = query.shape[1]
        heads, levels = self.num_heads, self.num_levels
        heights, points = self.num_heights, self.num_points

        # Gather, per camera, only the queries that project into it (padded
        # to the largest count), so the sampling cost follows visibility.
        hit = bev_mask.any(-1)
        counts = hit.sum(-1)
        max_len = max(int(counts.max()), 1)
        order = torch.argsort((~hit).to(torch.uint8), dim=-1, stable=True)
        index = order[..., :max_len]
        slot_valid = torch.arange(max_len, device=query.device) < \
            counts[..., None]
        gathered = torch.gather(
            query[:, None].expand(-1, num_cams, -1, -1), 2,
            index[..., None].expand(-1, -1, -1, channels))
        ref = torch.gather(
            reference_points_cam, 2,
            index[..., None, None].expand(-1, -1, -1, heights, 2))

        rows = batch * num_cams
        value = self.value_proj(img_value).view(rows, num_value, heads, -1)
        offsets = self.sampling_offsets(gathered).view(
            rows, max_len, heads, levels, heights, points, 2)
        weights = self.attention_weights(gathered).view(
            rows, max_len, heads, levels * heights * points).softmax(-1)
        weights = weights.view(rows, max_len, heads, levels,
                               heights * points)

        # Locations stay float32 under autocast: bf16 would round them to
        # about a quarter of a feature cell.
        offsets = offsets.float()
        normalizer = torch.stack(
            [spatial_shapes[:, 1], spatial_shapes[:, 0]], -1).to(offsets)
        ref = ref.reshape(rows, max_len, 1, 1, heights, 1, 2).to(offsets)
        locations = ref + offsets / normalizer[:, None, None, :]
        locations = locations.reshape(rows, max_len, heads, levels,
                                      heights * points, 2)
        sampled = multi_scale_deformable_attn(value, spatial_shapes,
                                              level_start_index, locations,
                                              weights)
        sampled = sampled.view(batch, num_cams, max_len, channels)
        sampled = sampled * slot_valid[..., None].to(sampled.dtype)

        summed = sampled.new_zeros(batch, num_query, channels)
        flat_index = index.reshape(batch, num_cams * max_len)
        summed = summed.scatter_add(
            1, flat_index[..., None].expand(-1, -1, channels),
            sampled.reshape(batch, num_cams * max_len, channels))
        count = counts.new_zeros(batch, num_query).to(sampled.dtype)
        count = count.scatter_add(1, flat_index,
                                  slot_valid.reshape(batch, -1).to(count))
        output = (summed / count.clamp(min=1.0)[..., None]).to(query.dtype)
        return self.dropout(self.output_proj(output))
