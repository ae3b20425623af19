"""Per-track memory of past query embeddings."""
from typing import Tuple

import torch
from mmdet3d.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class TrackMemory(nn.Module):
    """Attention over each track's last ``memory_len`` embeddings.

    The current embedding attends over its memory bank plus itself (so a
    fresh track with an empty bank attends only to itself), and the result
    is added through a learned projection with LayerNorm. ``push`` shifts
    the new embedding into the bank.

    Args:
        embed_dims (int): Channels C.
        memory_len (int): Past embeddings M kept per track. Defaults to 4.
    """

    def __init__(self, embed_dims: int, memory_len: int = 4) -> None:
        super().__init__()
        if memory_len < 1:
            raise ValueError(f'memory_len must be >= 1, got {memory_len}')
        self.embed_dims = embed_dims
        self.memory_len = memory_len
        self.query_proj = nn.Linear(embed_dims, embed_dims)
        self.key_proj = nn.Linear(embed_dims, embed_dims)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        self.norm = nn.LayerNorm(embed_dims)
        nn.init.zeros_(self.out_proj.weight)
        nn.init.zeros_(self.out_proj.bias)

    def empty(self, num_tracks: int, like: Tensor) -> Tuple[Tensor, Tensor]:
        """Return an empty bank (K, M, C) and its (K, M) valid mask."""
        bank = like.new_zeros(num_tracks, self.memory_len, self.embed_dims)
        valid = torch.zeros(
            num_tracks, self.memory_len, dtype=torch.bool, device=like.device)
        return bank, valid

    def forward(self, embedding: Tensor, bank: Tensor,
                valid: Tensor) -> Tensor:
        """Blend each embedding with its memory.

        Args:
            embedding (Tensor): (K, C) current track embeddings.
            bank (Tensor): (K, M, C) past embeddings, oldest first.
            valid (Tensor): (K, M) bool, which bank slots are filled.

        Returns:
            Tensor: (K, C) updated embeddings.
        """
        if embedding.shape[0] == 0:
            return embedding
        keys = torch.cat([bank, embedding[:, None]], dim=1)
        key_valid = torch.cat([valid, valid.new_ones(valid.shape[0], 1)], 1)
        query = self.query_proj(embedding)[:, None]
        logits = (query * self.key_proj(keys)).sum(-1) / \
            self.embed_dims**0.5
        logits = logits.masked_fill(~key_valid, float('-inf'))
        attn = logits.softmax(-1)
        mixed = (attn[..., None] * self.value_proj(keys)).sum(1)
        return self.norm(embedding + self.out_proj(mixed))

    def push(self, bank: Tensor, valid: Tensor,
             embedding: Tensor) -> Tuple[Tensor, Tensor]:
        """Append ``embedding`` (K, C) to the banks, dropping the oldest."""
        bank = torch.cat([bank[:, 1:], embedding[:, None]], dim=1)
        valid = torch.cat([valid[:, 1:], valid.new_ones(valid.shape[0], 1)],
                          dim=1)
        return bank, valid
