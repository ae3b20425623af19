"""Learned-query attention pooling of task latents into one vector."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class AttentionPoolReducer(nn.Module):
    """Reduce a feature map, a query set or a vector to a (B, out_dim) vector.

    The input positions (the H*W cells of a map, the Q queries of a query
    set, or a single position for a vector) are layer-normalized over
    channels. Each of ``num_queries`` learned queries attends over them with
    logits ``<query, token> / sqrt(C)`` and pools the tokens with the softmax
    weights. The pooled (num_queries, C) block is flattened and a Linear
    layer maps it to ``out_dim``.

    The keys are the normalized tokens themselves and the per-query value
    projection is folded into the output Linear. A key or value projection
    would only reparametrize these, while applying one to every position of
    a 200 x 200 x 256 map would cost a (C, C) matmul per cell. Here the cost
    per position is a (C, num_queries) matmul.

    Args:
        in_channels (int): Channel count C of the input.
        out_dim (int): Output dimension.
        num_queries (int): Number of learned pooling queries. Defaults to 4.
    """

    def __init__(self, in_channels: int, out_dim: int, num_queries: int = 4):
        super().__init__()
        if in_channels <= 0 or out_dim <= 0 or num_queries <= 0:
            raise ValueError(
                f'AttentionPoolReducer needs positive sizes, got '
                f'in_channels={in_channels}, out_dim={out_dim}, '
                f'num_queries={num_queries}.')
        self.in_channels = in_channels
        self.out_dim = out_dim
        self.num_queries = num_queries
        self.norm = nn.LayerNorm(in_channels)
        self.queries = nn.Parameter(torch.randn(num_queries, in_channels))
        self.proj = nn.Linear(num_queries * in_channels, out_dim)

    def _to_tokens(
            self, x: Tensor,
            mask: Optional[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """Flatten any accepted input to tokens (B, N, C) and mask (B, N)."""
        if x.dim() == 2:
            tokens = x[:, None, :]
        elif x.dim() == 3:
            tokens = x
        elif x.dim() == 4:
            tokens = x.flatten(2).transpose(1, 2)
        else:
            raise ValueError(
                f'AttentionPoolReducer expects a vector (B, C), a query set '
                f'(B, Q, C) or a feature map (B, C, H, W), got shape '
                f'{tuple(x.shape)}.')
        if tokens.shape[-1] != self.in_channels:
            raise ValueError(
                f'AttentionPoolReducer was built for {self.in_channels} '
                f'channels, got input of shape {tuple(x.shape)}.')
        if mask is None:
            return tokens, None
        mask = mask.reshape(mask.shape[0], -1)
        if mask.shape != tokens.shape[:2]:
            raise ValueError(
                f'Padding mask of shape {tuple(mask.shape)} does not match '
                f'the {tokens.shape[1]} positions of input '
                f'{tuple(x.shape)}; expected (B, Q) for a query set or '
                f'(B, H, W) for a map.')
        if mask.dtype != torch.bool:
            raise ValueError(
                f'Padding mask must be bool (True = padding), got '
                f'{mask.dtype}.')
        return tokens, mask

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """Pool the input to one vector per sample.

        Args:
            x (Tensor): (B, C), (B, Q, C) or (B, C, H, W).
            mask (Tensor, optional): Bool padding mask, True = padding, of
                shape (B, Q) for a query set or (B, H, W) for a map. A sample
                whose positions are all padding pools to zeros.

        Returns:
            Tensor: Shape (B, out_dim).
        """
        tokens, mask = self._to_tokens(x, mask)
        tokens = self.norm(tokens)
        scale = self.in_channels**-0.5
        logits = torch.einsum('bnc,qc->bqn', tokens, self.queries) * scale
        if mask is not None:
            # A finite fill keeps all-padding rows free of NaN; those rows
            # are zeroed below.
            fill = torch.finfo(logits.dtype).min
            logits = logits.masked_fill(mask[:, None, :], fill)
        weights = F.softmax(logits, dim=-1)
        pooled = torch.bmm(weights, tokens)
        if mask is not None:
            has_valid = (~mask).any(dim=1).to(pooled.dtype)
            pooled = pooled * has_valid[:, None, None]
        return self.proj(pooled.flatten(1))
