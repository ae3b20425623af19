"""Track queries of one sample carried between frames."""
from dataclasses import dataclass, fields

import torch
from torch import Tensor


@dataclass
class TrackState:
    """The live track queries of one sample.

    Attributes:
        content (Tensor): (K, C) query content.
        pos (Tensor): (K, C) positional part.
        ref (Tensor): (K, 3) centres normalized to [0, 1] over the BEV
            range, in the LiDAR frame of the frame they were predicted in.
        velocity (Tensor): (K, 2) predicted (vx, vy) in m/s.
        ids (Tensor): (K,) long track ids (ground-truth ids while training,
            tracker ids at test time).
        bank (Tensor): (K, M, C) memory of past embeddings.
        bank_valid (Tensor): (K, M) bool filled memory slots.
    """
    content: Tensor
    pos: Tensor
    ref: Tensor
    velocity: Tensor
    ids: Tensor
    bank: Tensor
    bank_valid: Tensor

    @classmethod
    def empty(cls, embed_dims: int, memory_len: int,
              device: torch.device) -> 'TrackState':
        """Return a state without tracks."""
        zeros = torch.zeros(0, embed_dims, device=device)
        return cls(
            content=zeros,
            pos=zeros.clone(),
            ref=torch.zeros(0, 3, device=device),
            velocity=torch.zeros(0, 2, device=device),
            ids=torch.zeros(0, dtype=torch.long, device=device),
            bank=torch.zeros(0, memory_len, embed_dims, device=device),
            bank_valid=torch.zeros(
                0, memory_len, dtype=torch.bool, device=device))

    def __len__(self) -> int:
        return int(self.ids.numel())

    def detach(self) -> 'TrackState':
        """Return a copy cut from the autograd graph."""
        return TrackState(**{
            f.name: getattr(self, f.name).detach()
            for f in fields(self)
        })
