"""Warping of a previous frame's BEV into the current LiDAR frame."""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def lidar2global(lidar2ego: Tensor, ego2global: Tensor) -> Tensor:
    """Compose (B, 4, 4) lidar2ego and ego2global into lidar2global."""
    return ego2global @ lidar2ego


def align_prev_bev(prev_bev: Tensor, prev_lidar2global: Tensor,
                   curr_lidar2global: Tensor,
                   point_cloud_range: Sequence[float]) -> Tensor:
    """Resample the previous BEV onto the current BEV grid.

    Every current cell centre is mapped into the previous LiDAR frame
    (``inv(prev_lidar2global) @ curr_lidar2global``, ground plane only) and
    the previous BEV is sampled there bilinearly. Cells that fall outside
    the previous grid get zeros. Rows are y and columns are x, as in the
    BEV grid convention (cell [i, j] centred at x_min + (j + 0.5) * dx,
    y_min + (i + 0.5) * dy).

    Args:
        prev_bev (Tensor): (B, C, H, W) previous BEV features.
        prev_lidar2global (Tensor): (B, 4, 4) pose of the previous frame.
        curr_lidar2global (Tensor): (B, 4, 4) pose of the current frame.
        point_cloud_range (Sequence[float]): [x_min, y_min, z_min, x_max,
            y_max, z_max] in metres.

    Returns:
        Tensor: (B, C, H, W) previous BEV in the current frame.
    """
    batch, _, height, width = prev_bev.shape
    x_min, y_min, _, x_max, y_max, _ = [float(v) for v in point_cloud_range]
    device = prev_bev.device
    curr2prev = torch.linalg.solve(prev_lidar2global.double(),
                                   curr_lidar2global.double()).float()

    xs = x_min + (torch.arange(width, device=device) + 0.5) * \
        (x_max - x_min) / width
    ys = y_min + (torch.arange(height, device=device) + 0.5) * \
        (y_max - y_min) / height
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing='ij')
    points = torch.stack([
        grid_x, grid_y,
        torch.zeros_like(grid_x),
        torch.ones_like(grid_x)
    ], dim=-1).view(1, -1, 4, 1)
    prev_points = (curr2prev[:, None] @ points)[..., 0]

    norm_x = (prev_points[..., 0] - x_min) / (x_max - x_min) * 2 - 1
    norm_y = (prev_points[..., 1] - y_min) / (y_max - y_min) * 2 - 1
    grid = torch.stack([norm_x, norm_y], dim=-1).view(batch, height, width, 2)
    return F.grid_sample(
        prev_bev.float(), grid, mode='bilinear', padding_mode='zeros',
        align_corners=False).to(prev_bev.dtype)
