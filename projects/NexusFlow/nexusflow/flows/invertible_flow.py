"""Invertible flow: a stack of affine coupling layers."""
from typing import NamedTuple, Tuple

import torch
from torch import Tensor, nn

from .actnorm import ActNorm
from .coupling import AffineCoupling

PERMUTATIONS = ('alternate', 'random')


class FlowOutput(NamedTuple):
    """Result of :meth:`InvertibleFlow.encode`.

    Attributes:
        z (Tensor): Output codes, shape (B, D).
        logdet (Tensor): ``log|det J|`` per sample, shape (B,).
        mean_abs_scale (Tensor): Mean ``|s|`` over the samples, features and
            coupling layers, a scalar that keeps its graph.
    """
    z: Tensor
    logdet: Tensor
    mean_abs_scale: Tensor


class InvertibleFlow(nn.Module):
    """Stack of K affine coupling layers on vectors of even dimension D.

    Each of the K steps is ``[ActNorm] -> [permutation] -> AffineCoupling``.
    With ``permutation='alternate'`` no features are permuted and the
    couplings take turns over which half conditions. With
    ``permutation='random'`` a fixed random permutation, drawn from ``seed``
    and stored as a buffer, precedes every coupling.

    Args:
        dim (int): Feature dimension D. Must be even.
        num_couplings (int): Number K of coupling layers. Defaults to 2.
        hidden_dim (int): Hidden width of each coupling MLP.
            Defaults to 128.
        scale_bound (float): Bound on each coupling's log-scale.
            Defaults to 2.0.
        use_actnorm (bool): Whether each step starts with ActNorm (with
            data-dependent initialization). Defaults to True.
        permutation (str): ``'alternate'`` or ``'random'``.
            Defaults to ``'alternate'``.
        seed (int): Seed of the random permutations, so that every process
            builds the same ones. Defaults to 0.
    """

    def __init__(self,
                 dim: int,
                 num_couplings: int = 2,
                 hidden_dim: int = 128,
                 scale_bound: float = 2.0,
                 use_actnorm: bool = True,
                 permutation: str = 'alternate',
                 seed: int = 0):
        super().__init__()
        if dim <= 0 or dim % 2 != 0:
            raise ValueError(
                f'InvertibleFlow needs an even, positive feature dimension '
                f'for its coupling layers, got dim={dim}.')
        if num_couplings < 1:
            raise ValueError(
                f'InvertibleFlow num_couplings must be at least 1, got '
                f'{num_couplings}.')
        if permutation not in PERMUTATIONS:
            raise ValueError(
                f'InvertibleFlow permutation must be one of {PERMUTATIONS}, '
                f'got {permutation!r}.')
        self.dim = dim
        self.num_couplings = num_couplings
        self.permutation = permutation

        self.actnorms = nn.ModuleList(
            [ActNorm(dim) for _ in range(num_couplings)]
            if use_actnorm else [])
        self.couplings = nn.ModuleList([
            AffineCoupling(
                dim,
                hidden_dim,
                scale_bound=scale_bound,
                condition_on_second=(permutation == 'alternate'
                                     and k % 2 == 1))
            for k in range(num_couplings)
        ])
        if permutation == 'random':
            generator = torch.Generator().manual_seed(seed)
            for k in range(num_couplings):
                order = torch.randperm(dim, generator=generator)
                self.register_buffer(f'order_{k}', order)
                self.register_buffer(f'inverse_order_{k}',
                                     torch.argsort(order))

    def _order(self, k: int, inverse: bool = False) -> Tensor:
        prefix = 'inverse_order' if inverse else 'order'
        return getattr(self, f'{prefix}_{k}')

    def encode(self, x: Tensor) -> FlowOutput:
        """Map features to codes and also return the coupling statistics.

        Args:
            x (Tensor): Input of shape (B, D).

        Returns:
            FlowOutput: ``z`` (B, D), ``logdet`` (B,) and ``mean_abs_scale``.
        """
        if x.dim() != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f'InvertibleFlow expects input of shape (B, {self.dim}), '
                f'got {tuple(x.shape)}.')
        z = x
        logdet = x.new_zeros(x.shape[0])
        abs_scales = []
        for k, coupling in enumerate(self.couplings):
            if len(self.actnorms) > 0:
                z, step_logdet = self.actnorms[k](z)
                logdet = logdet + step_logdet
            if self.permutation == 'random':
                # A permutation has |det| = 1, so it adds nothing to logdet.
                z = z[:, self._order(k)]
            z, step_logdet, log_scale = coupling.encode(z)
            logdet = logdet + step_logdet
            abs_scales.append(log_scale.abs().mean())
        return FlowOutput(z, logdet, torch.stack(abs_scales).mean())

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Map features to codes.

        Args:
            x (Tensor): Input of shape (B, D).

        Returns:
            tuple[Tensor, Tensor]: ``z`` of shape (B, D) and
            ``log|det dz/dx|`` per sample, shape (B,).
        """
        out = self.encode(x)
        return out.z, out.logdet

    def inverse(self, z: Tensor) -> Tensor:
        """Map codes back to features: (B, D) -> (B, D)."""
        if z.dim() != 2 or z.shape[1] != self.dim:
            raise ValueError(
                f'InvertibleFlow expects input of shape (B, {self.dim}), '
                f'got {tuple(z.shape)}.')
        x = z
        for k in reversed(range(self.num_couplings)):
            x = self.couplings[k].inverse(x)
            if self.permutation == 'random':
                x = x[:, self._order(k, inverse=True)]
            if len(self.actnorms) > 0:
                x = self.actnorms[k].inverse(x)
        return x
