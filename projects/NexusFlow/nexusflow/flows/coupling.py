"""Affine coupling layer with a bounded log-scale."""
from typing import Tuple

import torch
from torch import Tensor, nn


class AffineCoupling(nn.Module):
    """Affine coupling layer on vectors of even dimension D.

    The input is split into halves ``x_a`` (conditioning) and ``x_b``
    (transformed). An MLP on ``x_a`` predicts a raw log-scale and a shift,
    the log-scale is bounded as ``s = scale_bound * tanh(raw / scale_bound)``
    (slope 1 at zero, ``|s| < scale_bound``), and
    ``z_b = x_b * exp(s) + t`` while ``z_a = x_a``. The Jacobian is
    triangular, so ``log|det J| = sum(s)``.

    Args:
        dim (int): Feature dimension D. Must be even.
        hidden_dim (int): Width of the two hidden layers of the MLP.
        scale_bound (float): Bound on ``|s|``, so one layer scales a feature
            by at most ``exp(scale_bound)``. Defaults to 2.0.
        condition_on_second (bool): If True, the second half conditions and
            the first half is transformed. Defaults to False.
        out_init_std (float): Standard deviation of the initial weights of
            the last MLP layer. A small value starts the layer near the
            identity while every weight still receives a gradient.
            Defaults to 0.01.
    """

    def __init__(self,
                 dim: int,
                 hidden_dim: int,
                 scale_bound: float = 2.0,
                 condition_on_second: bool = False,
                 out_init_std: float = 0.01):
        super().__init__()
        if dim <= 0 or dim % 2 != 0:
            raise ValueError(
                f'AffineCoupling needs an even, positive feature dimension '
                f'to split into halves, got dim={dim}.')
        if hidden_dim <= 0:
            raise ValueError(
                f'AffineCoupling hidden_dim must be positive, got '
                f'{hidden_dim}.')
        if scale_bound <= 0:
            raise ValueError(
                f'AffineCoupling scale_bound must be positive, got '
                f'{scale_bound}.')
        self.dim = dim
        self.half = dim // 2
        self.scale_bound = float(scale_bound)
        self.condition_on_second = condition_on_second
        self.net = nn.Sequential(
            nn.Linear(self.half, hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, hidden_dim),
            nn.ReLU(inplace=True),
            nn.Linear(hidden_dim, 2 * self.half),
        )
        nn.init.normal_(self.net[-1].weight, std=out_init_std)
        nn.init.zeros_(self.net[-1].bias)

    def _split(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        first, second = x[:, :self.half], x[:, self.half:]
        if self.condition_on_second:
            return second, first
        return first, second

    def _merge(self, cond: Tensor, moved: Tensor) -> Tensor:
        if self.condition_on_second:
            return torch.cat([moved, cond], dim=1)
        return torch.cat([cond, moved], dim=1)

    def _scale_shift(self, cond: Tensor) -> Tuple[Tensor, Tensor]:
        raw, shift = self.net(cond).chunk(2, dim=1)
        log_scale = self.scale_bound * torch.tanh(raw / self.scale_bound)
        return log_scale, shift

    def encode(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Apply the layer and also return its log-scales.

        Args:
            x (Tensor): Input of shape (B, D).

        Returns:
            tuple[Tensor, Tensor, Tensor]: ``z`` (B, D), ``logdet`` (B,) and
            the log-scales ``s`` (B, D / 2).
        """
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f'AffineCoupling expects input of shape (B, {self.dim}), '
                f'got {tuple(x.shape)}.')
        cond, moved = self._split(x)
        log_scale, shift = self._scale_shift(cond)
        moved = moved * log_scale.exp() + shift
        return self._merge(cond, moved), log_scale.sum(dim=1), log_scale

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Apply the layer.

        Args:
            x (Tensor): Input of shape (B, D).

        Returns:
            tuple[Tensor, Tensor]: ``z`` of shape (B, D) and
            ``log|det J|`` per sample, shape (B,).
        """
        z, logdet, _ = self.encode(x)
        return z, logdet

    def inverse(self, z: Tensor) -> Tensor:
        """Invert :meth:`forward`: (B, D) -> (B, D)."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(
                f'AffineCoupling expects input of shape (B, {self.dim}), '
                f'got {tuple(z.shape)}.')
        cond, moved = self._split(z)
        log_scale, shift = self._scale_shift(cond)
        moved = (moved - shift) * torch.exp(-log_scale)
        return self._merge(cond, moved)
