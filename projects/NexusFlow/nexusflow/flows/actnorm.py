"""Activation normalization (ActNorm) for vector flows."""
from typing import Tuple

import torch
from mmengine.dist import all_reduce
from mmengine.logging import print_log
from torch import Tensor, nn


class ActNorm(nn.Module):
    """Per-feature affine map ``z = (x + bias) * exp(log_scale)``.

    With ``data_init=True`` the first forward pass in training mode sets
    ``bias`` and ``log_scale`` so that this batch leaves the layer with zero
    mean and unit variance per feature. Under torch.distributed the batch
    statistics are averaged over all ranks, so every rank starts from the
    same parameters. A batch of one sample (over all ranks) has no variance,
    so it only sets the bias and initialization of the scale is skipped.

    Args:
        dim (int): Feature dimension D.
        data_init (bool): Whether to initialize from the first training
            batch. Defaults to True.
        eps (float): Lower bound on the standard deviation used by the
            data-dependent initialization. Defaults to 1e-6.
    """

    def __init__(self, dim: int, data_init: bool = True, eps: float = 1e-6):
        super().__init__()
        if dim <= 0:
            raise ValueError(f'ActNorm dim must be positive, got {dim}.')
        self.dim = dim
        self.data_init = data_init
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(dim))
        self.log_scale = nn.Parameter(torch.zeros(dim))
        # A buffer, not a Python flag, so that checkpoints and DDP buffer
        # broadcasts carry the initialization state.
        self.register_buffer('initialized', torch.tensor(not data_init))

    @torch.no_grad()
    def _initialize(self, x: Tensor) -> None:
        stats = torch.stack([
            x.sum(dim=0),
            (x * x).sum(dim=0),
            x.new_full((self.dim, ), float(x.shape[0])),
        ])
        all_reduce(stats, op='sum')
        count = stats[2, 0]
        mean = stats[0] / count
        self.bias.copy_(-mean)
        if count >= 2:
            var = (stats[1] / count - mean * mean).clamp(min=0.0)
            std = var.sqrt().clamp(min=self.eps)
            self.log_scale.copy_(-std.log())
        else:
            print_log(
                'ActNorm data-dependent init got a batch of one sample; '
                'only the bias was set and the scale stays 1.',
                logger='current')
        self.initialized.fill_(True)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Normalize features.

        Args:
            x (Tensor): Input of shape (B, D).

        Returns:
            tuple[Tensor, Tensor]: ``z`` of shape (B, D) and the per-sample
            log-determinant of the Jacobian, shape (B,).
        """
        if self.training and not bool(self.initialized):
            self._initialize(x)
        z = (x + self.bias) * self.log_scale.exp()
        logdet = self.log_scale.sum().expand(x.shape[0])
        return z, logdet

    def inverse(self, z: Tensor) -> Tensor:
        """Invert :meth:`forward`: (B, D) -> (B, D)."""
        return z * torch.exp(-self.log_scale) - self.bias
