"""GridMask image augmentation for training."""
import math

import torch
from torch import Tensor, nn


class GridMask(nn.Module):
    """Zero a rotated grid of square patches in each image while training.

    Each image gets its own grid period ``d`` drawn from
    ``[min_period, max_period]`` pixels, a random offset and a random
    rotation. Inside every period a square of side ``ratio * d`` is zeroed.
    In eval mode the module returns its input unchanged.

    Args:
        prob (float): Probability of masking a given image. Defaults to 0.7.
        ratio (float): Masked side as a fraction of the period.
            Defaults to 0.5.
        min_period (int): Smallest grid period in pixels. Defaults to 16.
        max_period (int): Largest grid period in pixels. Defaults to 64.
        max_rotation (float): Largest rotation of the grid in radians.
            Defaults to pi / 4.
    """

    def __init__(self,
                 prob: float = 0.7,
                 ratio: float = 0.5,
                 min_period: int = 16,
                 max_period: int = 64,
                 max_rotation: float = math.pi / 4) -> None:
        super().__init__()
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'GridMask prob must be in [0, 1], got {prob}')
        if not 0.0 < ratio < 1.0:
            raise ValueError(f'GridMask ratio must be in (0, 1), got {ratio}')
        if not 1 <= min_period <= max_period:
            raise ValueError('GridMask expects 1 <= min_period <= '
                             f'max_period, got {min_period}, {max_period}')
        self.prob = prob
        self.ratio = ratio
        self.min_period = min_period
        self.max_period = max_period
        self.max_rotation = max_rotation

    def forward(self, imgs: Tensor) -> Tensor:
        """Mask a batch of images.

        Args:
            imgs (Tensor): (M, 3, H, W).

        Returns:
            Tensor: (M, 3, H, W), masked in training mode.
        """
        if not self.training or self.prob == 0.0:
            return imgs
        num_imgs, _, height, width = imgs.shape
        device = imgs.device
        period = torch.randint(
            self.min_period, self.max_period + 1, (num_imgs, 1, 1),
            device=device).float()
        offset_x = torch.rand(num_imgs, 1, 1, device=device) * period
        offset_y = torch.rand(num_imgs, 1, 1, device=device) * period
        angle = (torch.rand(num_imgs, 1, 1, device=device) * 2 - 1) \
            * self.max_rotation
        ys, xs = torch.meshgrid(
            torch.arange(height, device=device, dtype=torch.float32),
            torch.arange(width, device=device, dtype=torch.float32),
            indexing='ij')
        rot_x = xs * torch.cos(angle) - ys * torch.sin(angle) + offset_x
        rot_y = xs * torch.sin(angle) + ys * torch.cos(angle) + offset_y
        side = self.ratio * period
        inside = (torch.remainder(rot_x, period) < side) & \
            (torch.remainder(rot_y, period) < side)
        apply = torch.rand(num_imgs, 1, 1, device=device) < self.prob
        keep = (~(inside & apply)).to(imgs.dtype)
        return imgs * keep[:, None]
