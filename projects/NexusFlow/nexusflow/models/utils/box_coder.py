"""Encoding of 9-dim LiDAR boxes into the track head's regression targets."""
from typing import Sequence

import torch
from torch import Tensor

#: Length of an encoded box: (cx, cy, cz, log dx, log dy, log dz, sin yaw,
#: cos yaw, vx, vy).
CODE_SIZE = 10


class BoxCoder:
    """Encode and decode LiDAR boxes relative to the BEV range.

    Centres are normalized to [0, 1] over ``point_cloud_range`` (x, y and the
    box's gravity-centre z), sizes are log metres, yaw is (sin, cos) and
    velocity stays in m/s.

    Args:
        point_cloud_range (Sequence[float]): [x_min, y_min, z_min, x_max,
            y_max, z_max] in metres.
    """

    def __init__(self, point_cloud_range: Sequence[float]) -> None:
        if len(point_cloud_range) != 6:
            raise ValueError('point_cloud_range must have 6 values '
                             f'[x_min, y_min, z_min, x_max, y_max, z_max], '
                             f'got {point_cloud_range}')
        self.pc_range = [float(v) for v in point_cloud_range]

    def _range(self, like: Tensor) -> tuple:
        lower = like.new_tensor(self.pc_range[:3])
        upper = like.new_tensor(self.pc_range[3:])
        return lower, upper - lower

    def encode(self, boxes: Tensor) -> Tensor:
        """Encode boxes.

        Args:
            boxes (Tensor): (K, 9) (x, y, z_bottom, dx, dy, dz, yaw, vx, vy)
                in the LiDAR frame, metres, radians and m/s.

        Returns:
            Tensor: (K, 10) encoded targets.
        """
        lower, extent = self._range(boxes)
        centre = boxes[:, :3].clone()
        centre[:, 2] = centre[:, 2] + boxes[:, 5] * 0.5
        centre = (centre - lower) / extent
        log_dims = boxes[:, 3:6].clamp(min=1e-3).log()
        yaw = boxes[:, 6:7]
        return torch.cat(
            [centre, log_dims,
             yaw.sin(), yaw.cos(), boxes[:, 7:9]], dim=-1)

    def to_loss_space(self, codes: Tensor) -> Tensor:
        """Scale the centre of encoded boxes from [0, 1] back to metres.

        The regression loss and the matching cost compare boxes in this space,
        so that a centre error of 1 m weighs as much as a log-size error of 1.
        Comparing the [0, 1] centres instead would
        make a 5 m miss on a 51.2 m grid cost 0.1 and leave localisation with
        almost no gradient.

        Args:
            codes (Tensor): (..., 10) encoded boxes.

        Returns:
            Tensor: (..., 10) with the centre offset from the range's lower
            corner in metres and the other dims unchanged.
        """
        _, extent = self._range(codes)
        return torch.cat([codes[..., :3] * extent, codes[..., 3:]], dim=-1)

    def decode(self, codes: Tensor) -> Tensor:
        """Decode encoded boxes.

        Args:
            codes (Tensor): (..., 10) encoded boxes.

        Returns:
            Tensor: (..., 9) boxes (x, y, z_bottom, dx, dy, dz, yaw, vx, vy).
        """
        lower, extent = self._range(codes)
        centre = codes[..., :3] * extent + lower
        dims = codes[..., 3:6].exp()
        yaw = torch.atan2(codes[..., 6], codes[..., 7])
        z_bottom = centre[..., 2] - dims[..., 2] * 0.5
        return torch.cat([
            centre[..., :2], z_bottom[..., None], dims, yaw[..., None],
            codes[..., 8:10]
        ], dim=-1)
