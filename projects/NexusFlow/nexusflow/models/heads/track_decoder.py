"""Query decoder of the track head: self-attention, BEV cross-attention."""
from typing import Tuple

import torch
from torch import Tensor, nn

from ..tracking.query_interaction import inverse_sigmoid
from ..utils.deform_attn import multi_scale_deformable_attn


class BEVDeformableCrossAttention(nn.Module):
    """Deformable attention from queries into the BEV around their centres.

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Attention heads.
        num_points (int): Sampling points per head.
        dropout (float): Dropout on the output.
    """

    def __init__(self, embed_dims: int, num_heads: int, num_points: int,
                 dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.num_points = num_points
        self.sampling_offsets = nn.Linear(embed_dims,
                                          num_heads * num_points * 2)
        self.attention_weights = nn.Linear(embed_dims, num_heads * num_points)
        self.value_proj = nn.Linear(embed_dims, embed_dims)
        self.output_proj = nn.Linear(embed_dims, embed_dims)
        self.dropout = nn.Dropout(dropout)
        nn.init.normal_(self.sampling_offsets.weight, std=1e-3)
        nn.init.uniform_(self.sampling_offsets.bias, -2.0, 2.0)
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)

    def forward(self, query: Tensor, ref_xy: Tensor, bev: Tensor, bev_h: int,
                bev_w: int) -> Tensor:
        """Return (B, K, C) from queries (B, K, C), centres (B, K, 2) in
        [0, 1] as (x, y) and the row-major BEV (B, H*W, C)."""
        batch, num_query, _ = query.shape
        value = self.value_proj(bev).view(batch, bev_h * bev_w,
                                          self.num_heads, -1)
        offsets = self.sampling_offsets(query).view(batch, num_query,
                                                    self.num_heads, 1,
                                                    self.num_points, 2)
        weights = self.attention_weights(query).view(
            batch, num_query, self.num_heads, self.num_points).softmax(-1)
        weights = weights[:, :, :, None, :]
        # Locations stay float32 under autocast (bf16 rounds them).
        offsets = offsets.float()
        locations = ref_xy[:, :, None, None, None, :].float() + \
            offsets / offsets.new_tensor([bev_w, bev_h])
        shapes = torch.tensor([[bev_h, bev_w]], device=bev.device)
        start = torch.zeros(1, dtype=torch.long, device=bev.device)
        output = multi_scale_deformable_attn(value, shapes, start, locations,
                                             weights)
        return self.dropout(self.output_proj(output.to(query.dtype)))


class TrackDecoderLayer(nn.Module):
    """Self-attention among queries, BEV cross-attention and an FFN."""

    def __init__(self, embed_dims: int, num_heads: int, num_points: int,
                 ffn_dims: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.cross_attn = BEVDeformableCrossAttention(embed_dims, num_heads,
                                                      num_points, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(embed_dims, ffn_dims), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(ffn_dims, embed_dims),
            nn.Dropout(dropout))
        self.norms = nn.ModuleList(nn.LayerNorm(embed_dims) for _ in range(3))

    def forward(self, query: Tensor, query_pos: Tensor, ref: Tensor,
                padding_mask: Tensor, bev: Tensor, bev_h: int,
                bev_w: int) -> Tensor:
        with_pos = query + query_pos
        attended, _ = self.self_attn(
            with_pos, with_pos, query, key_padding_mask=padding_mask,
            need_weights=False)
        query = self.norms[0](query + attended)
        query = self.norms[1](query + self.cross_attn(
            query + query_pos, ref[..., :2], bev, bev_h, bev_w))
        return self.norms[2](query + self.ffn(query))


class TrackDecoder(nn.Module):
    """Stack of decoder layers with per-layer class and box branches.

    With ``with_box_refine`` each layer moves the reference centres by its
    predicted offsets (in inverse-sigmoid space), and the next layer samples
    the BEV at the refined centres.

    Args:
        num_classes (int): Detection classes.
        embed_dims (int): Channels C.
        num_layers (int): Decoder layers.
        num_heads (int): Attention heads.
        num_points (int): BEV sampling points per head.
        ffn_dims (int): FFN hidden channels.
        dropout (float): Dropout.
        code_size (int): Length of the encoded box.
        with_box_refine (bool): Refine centres layer by layer.
    """

    def __init__(self, num_classes: int, embed_dims: int, num_layers: int,
                 num_heads: int, num_points: int, ffn_dims: int,
                 dropout: float, code_size: int,
                 with_box_refine: bool) -> None:
        super().__init__()
        self.with_box_refine = with_box_refine
        self.layers = nn.ModuleList(
            TrackDecoderLayer(embed_dims, num_heads, num_points, ffn_dims,
                              dropout) for _ in range(num_layers))
        self.cls_branches = nn.ModuleList(
            nn.Sequential(
                nn.Linear(embed_dims, embed_dims), nn.LayerNorm(embed_dims),
                nn.ReLU(inplace=True), nn.Linear(embed_dims, num_classes))
            for _ in range(num_layers))
        self.reg_branches = nn.ModuleList(
            nn.Sequential(
                nn.Linear(embed_dims, embed_dims), nn.ReLU(inplace=True),
                nn.Linear(embed_dims, code_size)) for _ in range(num_layers))
        prior_prob = 0.01
        bias = -torch.log(torch.tensor((1 - prior_prob) / prior_prob))
        for branch in self.cls_branches:
            nn.init.constant_(branch[-1].bias, float(bias))

    def forward(self, query: Tensor, query_pos: Tensor, ref: Tensor,
                padding_mask: Tensor, bev: Tensor, bev_h: int,
                bev_w: int) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Decode queries on the BEV.

        Args:
            query (Tensor): (B, K, C) content.
            query_pos (Tensor): (B, K, C) positional part.
            ref (Tensor): (B, K, 3) centres in [0, 1].
            padding_mask (Tensor): (B, K) bool, True for padding queries.
            bev (Tensor): (B, H*W, C) row-major BEV.
            bev_h (int): BEV rows.
            bev_w (int): BEV columns.

        Returns:
            tuple: class logits (L, B, K, num_classes), encoded boxes
            (L, B, K, code_size) with centres in [0, 1], last-layer
            embeddings (B, K, C) and last centres (B, K, 3).
        """
        all_logits, all_codes = [], []
        for index, layer in enumerate(self.layers):
            query = layer(query, query_pos, ref, padding_mask, bev, bev_h,
                          bev_w)
            logits = self.cls_branches[index](query)
            delta = self.reg_branches[index](query)
            centre = (inverse_sigmoid(ref.float()) +
                      delta[..., :3].float()).sigmoid()
            codes = torch.cat([centre.to(delta), delta[..., 3:]], dim=-1)
            all_logits.append(logits)
            all_codes.append(codes)
            if self.with_box_refine:
                ref = centre.detach().to(ref)
        last_ref = all_codes[-1][..., :3].detach()
        return (torch.stack(all_logits), torch.stack(all_codes), query,
                last_ref)
