"""Per-task surrogate network: a reducer followed by a flow or an MLP."""
import math
from typing import NamedTuple, Optional

import torch
from torch import Tensor, nn

from .attention_pool import AttentionPoolReducer
from .invertible_flow import InvertibleFlow

SURROGATE_TYPES = ('flow', 'mlp')


class SurrogateOutput(NamedTuple):
    """Result of :meth:`SurrogateNetwork.forward`.

    Attributes:
        z (Tensor): Codes in the shared space, shape (B, reduced_dim).
        logdet (Tensor | None): ``log|det J|`` of the flow per sample,
            shape (B,). None for the MLP control.
        mean_abs_scale (Tensor | None): Mean ``|s|`` of the coupling layers,
            a scalar. None for the MLP control.
    """
    z: Tensor
    logdet: Optional[Tensor]
    mean_abs_scale: Optional[Tensor]


def count_parameters(module: nn.Module) -> int:
    """Return the number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def mlp_width_for_params(dim: int, num_params: int) -> int:
    """Return the hidden width w of the control MLP closest to a budget.

    The control MLP is ``Linear(D, w) -> ReLU -> Linear(w, w) -> ReLU ->
    Linear(w, D)``, which has ``w**2 + (2 * D + 2) * w + D`` parameters.

    Args:
        dim (int): Input and output dimension D.
        num_params (int): Target parameter count.

    Returns:
        int: The positive width whose count is nearest to ``num_params``.
    """
    b = 2 * dim + 2
    c = dim - num_params
    root = (-b + math.sqrt(max(b * b - 4 * c, 0.0))) / 2
    return max(1, int(round(root)))


class ControlMLP(nn.Sequential):
    """Non-invertible control: a plain two-hidden-layer MLP from D to D.

    Args:
        dim (int): Input and output dimension D.
        width (int): Hidden width.
    """

    def __init__(self, dim: int, width: int):
        super().__init__(
            nn.Linear(dim, width),
            nn.ReLU(inplace=True),
            nn.Linear(width, width),
            nn.ReLU(inplace=True),
            nn.Linear(width, dim),
        )


class SurrogateNetwork(nn.Module):
    """Map one task's latent features to a code in the shared space.

    An :class:`AttentionPoolReducer` turns the features into a
    ``reduced_dim`` vector, then an :class:`InvertibleFlow` maps it to the
    code. With ``surrogate_type='mlp'`` a :class:`ControlMLP` whose parameter
    count matches the flow's (to within the rounding of its width) replaces
    the flow. That MLP can map every input to the same code, which is the
    collapse that the invertible flow rules out, so it serves as the control.

    The surrogate runs in float32 with autocast disabled, because ``exp`` of
    the coupling log-scales and the alignment distances lose too much
    precision in float16.

    Args:
        in_channels (int): Channel count C of the task's latent features.
        reduced_dim (int): Dimension D of the code. Must be even.
            Defaults to 64.
        num_pool_queries (int): Learned queries of the reducer.
            Defaults to 4.
        surrogate_type (str): ``'flow'`` or ``'mlp'``. Defaults to
            ``'flow'``.
        num_couplings (int): Coupling layers of the flow. Defaults to 2.
        hidden_dim (int): Hidden width of each coupling MLP.
            Defaults to 128.
        scale_bound (float): Bound on the coupling log-scales.
            Defaults to 2.0.
        use_actnorm (bool): Whether the flow uses ActNorm. Defaults to True.
        permutation (str): ``'alternate'`` or ``'random'``.
            Defaults to ``'alternate'``.
        seed (int): Seed of the flow's random permutations. Defaults to 0.
    """

    def __init__(self,
                 in_channels: int,
                 reduced_dim: int = 64,
                 num_pool_queries: int = 4,
                 surrogate_type: str = 'flow',
                 num_couplings: int = 2,
                 hidden_dim: int = 128,
                 scale_bound: float = 2.0,
                 use_actnorm: bool = True,
                 permutation: str = 'alternate',
                 seed: int = 0):
        super().__init__()
        if surrogate_type not in SURROGATE_TYPES:
            raise ValueError(
                f'surrogate_type must be one of {SURROGATE_TYPES}, got '
                f'{surrogate_type!r}.')
        if reduced_dim <= 0 or reduced_dim % 2 != 0:
            raise ValueError(
                f'reduced_dim must be even and positive because the coupling '
                f'layers split the code into halves, got {reduced_dim}.')
        self.surrogate_type = surrogate_type
        self.reducer = AttentionPoolReducer(in_channels, reduced_dim,
                                            num_pool_queries)
        flow = InvertibleFlow(
            reduced_dim,
            num_couplings=num_couplings,
            hidden_dim=hidden_dim,
            scale_bound=scale_bound,
            use_actnorm=use_actnorm,
            permutation=permutation,
            seed=seed)
        if surrogate_type == 'flow':
            self.transform = flow
        else:
            width = mlp_width_for_params(reduced_dim, count_parameters(flow))
            self.transform = ControlMLP(reduced_dim, width)

    @property
    def is_invertible(self) -> bool:
        """Whether the transform after the reducer is the invertible flow."""
        return self.surrogate_type == 'flow'

    def forward(self,
                x: Tensor,
                mask: Optional[Tensor] = None) -> SurrogateOutput:
        """Compute the task's code.

        Args:
            x (Tensor): Latent features, (B, C, H, W), (B, Q, C) or (B, C).
            mask (Tensor, optional): Bool padding mask, True = padding,
                (B, Q) for a query set or (B, H, W) for a map.

        Returns:
            SurrogateOutput: ``z`` (B, reduced_dim) and, for the flow,
            ``logdet`` (B,) and ``mean_abs_scale``.
        """
        with torch.autocast(device_type=x.device.type, enabled=False):
            reduced = self.reducer(x.float(), mask)
            if not self.is_invertible:
                return SurrogateOutput(self.transform(reduced), None, None)
            out = self.transform.encode(reduced)
        return SurrogateOutput(out.z, out.logdet, out.mean_abs_scale)

    def inverse(self, z: Tensor) -> Tensor:
        """Map codes (B, reduced_dim) back to reduced vectors (B, reduced_dim).

        Raises:
            TypeError: If the surrogate is the non-invertible MLP control.
        """
        if not self.is_invertible:
            raise TypeError(
                "SurrogateNetwork with surrogate_type='mlp' has no inverse; "
                "use surrogate_type='flow'.")
        return self.transform.inverse(z)
