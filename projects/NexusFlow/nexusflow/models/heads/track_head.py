"""Tracking head: detection and track queries decoded on the BEV."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet3d.registry import MODELS, TASK_UTILS
from mmdet3d.structures import LiDARInstance3DBoxes
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..tracking.memory import TrackMemory
from ..tracking.query_interaction import (QueryInteraction,
                                          propagate_reference_points)
from ..tracking.runtime_tracker import RuntimeTracker
from ..tracking.track_state import TrackState
from ..utils.box_coder import CODE_SIZE, BoxCoder
from ..utils.task_mask import graph_zero, task_mask_of
from .track_decoder import TrackDecoder


@MODELS.register_module()
class TrackHead(BaseModule):
    """Query-based 3D detection and tracking on the BEV (MOTR style).

    Every frame decodes the live track queries followed by ``num_query``
    fresh detection queries. While training on a clip, a track query keeps
    the ground-truth track id it was bound to (no re-matching). Detection
    queries are matched by Hungarian assignment to the ground truth that no
    track query claims, and those matched become track queries of the next
    frame.

    Args:
        num_classes (int): Detection classes. Defaults to 10.
        embed_dims (int): Channels C. Defaults to 256.
        num_query (int): Detection queries per frame. Defaults to 900.
        num_layers (int): Decoder layers. Defaults to 6.
        num_heads (int): Attention heads. Defaults to 8.
        num_points (int): BEV sampling points per head. Defaults to 4.
        ffn_dims (int): FFN hidden channels. Defaults to 512.
        dropout (float): Dropout. Defaults to 0.1.
        bev_h (int): BEV rows. Defaults to 200.
        bev_w (int): BEV columns. Defaults to 200.
        point_cloud_range (Sequence[float]): BEV range in metres.
        with_box_refine (bool): Refine centres layer by layer.
            Defaults to True.
        query_init (str): Where detection queries start. ``'learned'``:
            reference centres are learned from the query embeddings (as in
            BEVFormer). ``'grid'``: the queries start on a fixed square grid
            over the BEV, which needs a square ``num_query``. Each query
            then owns a region of the BEV, so Hungarian matching is stable
            early in training. Defaults to ``'learned'``.
        memory_len (int): Past embeddings kept per track. Defaults to 4.
        code_weights (Sequence[float], optional): Weights of the 10 encoded
            box dims in the L1 loss. Defaults to 1 for all but velocity
            (0.2). The loss and the matching cost see centres in metres
            (:meth:`BoxCoder.to_loss_space`).
        assigner (dict): Hungarian assigner config for detection queries.
        loss_cls (dict): Classification loss config (sigmoid focal loss).
        loss_bbox (dict): Box regression loss config (L1).
        score_thresh (float): Test-time score to keep a track.
            Defaults to 0.4.
        new_track_thresh (float, optional): Test-time score to start a
            track. Defaults to None (``score_thresh``).
        miss_tolerance (int): Missed frames before a track is dropped at
            test time. Defaults to 5.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 num_classes: int = 10,
                 embed_dims: int = 256,
                 num_query: int = 900,
                 num_layers: int = 6,
                 num_heads: int = 8,
                 num_points: int = 4,
                 ffn_dims: int = 512,
                 dropout: float = 0.1,
                 bev_h: int = 200,
                 bev_w: int = 200,
                 point_cloud_range: Sequence[float] = (-51.2, -51.2, -5.0,
                                                       51.2, 51.2, 3.0),
                 with_box_refine: bool = True,
                 query_init: str = 'learned',
                 memory_len: int = 4,
                 code_weights: Optional[Sequence[float]] = None,
                 assigner: dict = dict(
                     type='mmdet.HungarianAssigner',
                     match_costs=[
                         dict(type='mmdet.FocalLossCost', weight=2.0),
                         dict(type='mmdet3d.EncodedBox3DL1Cost', weight=0.25)
                     ]),
                 loss_cls: dict = dict(
                     type='mmdet.FocalLoss',
                     use_sigmoid=True,
                     gamma=2.0,
                     alpha=0.25,
                     loss_weight=2.0),
                 loss_bbox: dict = dict(type='mmdet.L1Loss', loss_weight=0.25),
                 score_thresh: float = 0.4,
                 new_track_thresh: Optional[float] = None,
                 miss_tolerance: int = 5,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.num_query = num_query
        self.bev_h = bev_h
        self.bev_w = bev_w
        self.point_cloud_range = list(point_cloud_range)
        self.memory_len = memory_len
        if code_weights is None:
            code_weights = [1.0] * 8 + [0.2, 0.2]
        if len(code_weights) != CODE_SIZE:
            raise ValueError(f'code_weights needs {CODE_SIZE} values, got '
                             f'{len(code_weights)}')
        self.register_buffer('code_weights', torch.tensor(code_weights),
                             False)
        self.coder = BoxCoder(point_cloud_range)

        self.query_embedding = nn.Embedding(num_query, embed_dims * 2)
        if query_init == 'learned':
            self.ref_proj = nn.Linear(embed_dims, 3)
        elif query_init == 'grid':
            self.ref_proj = None
            self.register_buffer('grid_ref', self._grid_reference(num_query),
                                 False)
        else:
            raise ValueError("query_init must be 'learned' or 'grid', got "
                             f'{query_init!r}')
        self.query_init = query_init
        self.decoder = TrackDecoder(num_classes, embed_dims, num_layers,
                                    num_heads, num_points, ffn_dims, dropout,
                                    CODE_SIZE, with_box_refine)
        self.query_interaction = QueryInteraction(embed_dims, ffn_dims,
                                                  dropout)
        self.memory = TrackMemory(embed_dims, memory_len)

        self.assigner = TASK_UTILS.build(assigner)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.score_thresh = score_thresh
        self.new_track_thresh = new_track_thresh
        self.miss_tolerance = miss_tolerance

    @staticmethod
    def _grid_reference(num_query: int) -> Tensor:
        """Return (num_query, 3) cell centres of a square grid in [0, 1].

        The height is the middle of the z range.
        """
        side = int(round(num_query**0.5))
        if side * side != num_query:
            raise ValueError("query_init='grid' needs a square num_query "
                             f'(for example {side * side} or '
                             f'{(side + 1)**2}), got {num_query}')
        centres = (torch.arange(side, dtype=torch.float32) + 0.5) / side
        grid_y, grid_x = torch.meshgrid(centres, centres, indexing='ij')
        return torch.stack([
            grid_x.flatten(),
            grid_y.flatten(),
            torch.full((num_query, ), 0.5)
        ], dim=-1)

    def build_tracker(self) -> RuntimeTracker:
        """Return a test-time tracker with this head's thresholds."""
        return RuntimeTracker(self.score_thresh, self.new_track_thresh,
                              self.miss_tolerance)

    def empty_state(self, device: torch.device) -> TrackState:
        """Return a state without tracks."""
        return TrackState.empty(self.embed_dims, self.memory_len, device)

    # ------------------------------------------------------------------
    # Decoding
    # ------------------------------------------------------------------
    def forward(self, bev: Tensor, states: List[TrackState]) -> dict:
        """Decode the track queries of each sample and the detection queries.

        Args:
            bev (Tensor): (B, H*W, C) row-major BEV.
            states (list[TrackState]): One per sample, K_b track queries.

        Returns:
            dict: ``logits`` (L, B, K_max + Q, num_classes), ``codes``
            (L, B, K_max + Q, 10), ``embeddings`` (B, K_max + Q, C), ``pos``
            (B, K_max + Q, C), ``padding_mask`` (B, K_max + Q) bool (True for
            padding) and ``num_tracks`` (list of K_b). Track queries come
            first, padded to K_max.
        """
        batch = bev.shape[0]
        if len(states) != batch:
            raise ValueError(f'expected {batch} track states (one per '
                             f'sample), got {len(states)}')
        device = bev.device
        det_pos, det_content = self.query_embedding.weight.split(
            self.embed_dims, dim=-1)
        if self.ref_proj is None:
            det_ref = self.grid_ref
        else:
            det_ref = self.ref_proj(det_pos).float().sigmoid()
        num_tracks = [len(state) for state in states]
        k_max = max(num_tracks)
        total = k_max + self.num_query

        contents, poses, refs = [], [], []
        padding = torch.ones(batch, total, dtype=torch.bool, device=device)
        for b, state in enumerate(states):
            pad = k_max - num_tracks[b]
            contents.append(
                torch.cat([
                    state.content.to(det_content),
                    det_content.new_zeros(pad, self.embed_dims), det_content
                ]))
            poses.append(
                torch.cat([
                    state.pos.to(det_pos),
                    det_pos.new_zeros(pad, self.embed_dims), det_pos
                ]))
            refs.append(
                torch.cat([
                    state.ref.float(),
                    det_ref.new_full((pad, 3), 0.5), det_ref
                ]))
            padding[b, :num_tracks[b]] = False
            padding[b, k_max:] = False
        query = torch.stack(contents).to(bev.dtype)
        query_pos = torch.stack(poses).to(bev.dtype)
        ref = torch.stack(refs)
        logits, codes, embeddings, _ = self.decoder(query, query_pos, ref,
                                                    padding, bev, self.bev_h,
                                                    self.bev_w)
        return dict(
            logits=logits,
            codes=codes,
            embeddings=embeddings,
            pos=query_pos,
            padding_mask=padding,
            num_tracks=num_tracks)

    @staticmethod
    def sample_indices(outputs: dict, b: int) -> Tensor:
        """Return the (K_b + Q,) indices of sample ``b``'s real queries."""
        valid = ~outputs['padding_mask'][b]
        return torch.nonzero(valid).flatten()

    def carry(self, state: TrackState, outputs: dict, b: int,
              keep_inds: Tensor, ids: Tensor) -> TrackState:
        """Build the next frame's track queries of sample ``b``.

        Args:
            state (TrackState): This frame's state of the sample (its
                memory banks belong to the first K_b queries).
            outputs (dict): Output of :meth:`forward`.
            b (int): Sample index.
            keep_inds (Tensor): (K',) indices into the sample's K_b + Q real
                queries that become tracks.
            ids (Tensor): (K',) long track ids of the kept queries.

        Returns:
            TrackState: With centres still in this frame's LiDAR frame.
        """
        inds = self.sample_indices(outputs, b)
        keep_inds = keep_inds.to(inds.device)
        chosen = inds[keep_inds]
        embedding = outputs['embeddings'][b, chosen]
        pos = outputs['pos'][b, chosen]
        codes = outputs['codes'][-1, b, chosen]

        num_dets = self.num_query
        empty_bank, empty_valid = self.memory.empty(num_dets, embedding)
        bank = torch.cat([state.bank.to(embedding), empty_bank])[keep_inds]
        bank_valid = torch.cat([state.bank_valid.to(embedding.device),
                                empty_valid])[keep_inds]

        content, pos = self.query_interaction(embedding, pos)
        content = self.memory(content, bank, bank_valid)
        bank, bank_valid = self.memory.push(bank, bank_valid, embedding)
        return TrackState(
            content=content,
            pos=pos,
            ref=codes[:, :3].detach().float(),
            velocity=codes[:, 8:10].detach().float(),
            ids=ids.to(embedding.device),
            bank=bank,
            bank_valid=bank_valid)

    def propagate(self, state: TrackState, prev2curr: Tensor,
                  dt: float) -> TrackState:
        """Move a state's centres from the previous into the current frame.

        Args:
            state (TrackState): State built in the previous frame.
            prev2curr (Tensor): (4, 4) previous to current LiDAR frame.
            dt (float): Seconds between the frames.
        """
        if len(state) == 0:
            return state
        ref = propagate_reference_points(state.ref, state.velocity, dt,
                                         prev2curr, self.point_cloud_range)
        return TrackState(state.content, state.pos, ref, state.velocity,
                          state.ids, state.bank, state.bank_valid)

    # ------------------------------------------------------------------
    # Training
    # ------------------------------------------------------------------
    def _gt_of(self, sample, device: torch.device) -> Tuple[Tensor, ...]:
        gt = sample.gt_instances_3d
        boxes = gt.bboxes_3d
        boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
        boxes = boxes.to(device).float()
        if boxes.shape[-1] == 7:
            boxes = torch.cat([boxes, boxes.new_zeros(len(boxes), 2)], -1)
        labels = gt.labels_3d.to(device).long()
        if 'track_ids' not in gt:
            raise KeyError('gt_instances_3d of sample '
                           f"{sample.metainfo.get('token')} has no "
                           "'track_ids', which the track loss needs")
        ids = gt.track_ids.to(device).long()
        keep = (labels >= 0) & (labels < self.num_classes)
        boxes = torch.nan_to_num(boxes[keep])
        return self.coder.encode(boxes), labels[keep], ids[keep]

    def _frame_targets(self, outputs: dict, b: int, state: TrackState,
                       sample) -> dict:
        """Assign ground truth to sample ``b``'s queries in one frame."""
        inds = self.sample_indices(outputs, b)
        device = inds.device
        gt_codes, gt_labels, gt_ids = self._gt_of(sample, device)
        num_tracks = len(state)
        num_queries = inds.numel()
        labels = torch.full((num_queries, ), self.num_classes,
                            dtype=torch.long, device=device)
        targets = torch.zeros(num_queries, CODE_SIZE, device=device)
        query_gt = torch.full((num_queries, ), -1, dtype=torch.long,
                              device=device)

        # Track queries keep the identity they were bound to.
        same = state.ids.to(device)[:, None] == gt_ids[None, :]
        has_gt = same.any(1)
        query_gt[:num_tracks][has_gt] = same.float().argmax(1)[has_gt]
        claimed = torch.zeros(len(gt_ids), dtype=torch.bool, device=device)
        claimed[query_gt[:num_tracks][has_gt]] = True

        free = torch.nonzero(~claimed).flatten()
        det_inds = inds[num_tracks:]
        if free.numel() > 0:
            pred_codes = outputs['codes'][-1, b, det_inds].detach().float()
            pred = InstanceData(
                scores=outputs['logits'][-1, b, det_inds].detach().float(),
                bboxes=self.coder.to_loss_space(pred_codes))
            gt = InstanceData(
                labels=gt_labels[free],
                bboxes=self.coder.to_loss_space(gt_codes[free]))
            assign = self.assigner.assign(pred, gt)
            matched = assign.gt_inds > 0
            det_gt = free[(assign.gt_inds[matched] - 1).long()]
            query_gt[num_tracks:][matched] = det_gt

        positive = query_gt >= 0
        labels[positive] = gt_labels[query_gt[positive]]
        targets[positive] = gt_codes[query_gt[positive]]
        keep = torch.nonzero(positive).flatten()
        return dict(
            labels=labels,
            targets=targets,
            positive=positive,
            num_gt=len(gt_ids),
            keep_inds=keep,
            keep_ids=gt_ids[query_gt[keep]])

    def _frame_loss(self, outputs: dict, b: int, targets: dict) -> dict:
        """Return one sample-frame's losses for every decoder layer."""
        inds = self.sample_indices(outputs, b)
        positive = targets['positive']
        avg_cls = max(float(targets['num_gt']), 1.0)
        num_layers = outputs['logits'].shape[0]
        losses = {}
        for layer in range(num_layers):
            logits = outputs['logits'][layer, b, inds].float()
            codes = outputs['codes'][layer, b, inds].float()
            loss_cls = self.loss_cls(
                logits, targets['labels'], avg_factor=avg_cls)
            if positive.any():
                weight = self.code_weights[None].expand(
                    int(positive.sum()), -1)
                loss_bbox = self.loss_bbox(
                    self.coder.to_loss_space(codes[positive]),
                    self.coder.to_loss_space(targets['targets'][positive]),
                    weight=weight,
                    avg_factor=float(positive.sum()))
            else:
                loss_bbox = graph_zero(codes)
            prefix = '' if layer == num_layers - 1 else f'd{layer}.'
            losses[f'{prefix}loss_track_cls'] = loss_cls
            losses[f'{prefix}loss_track_bbox'] = loss_bbox
        return losses

    def loss(self, bevs: List[Tensor], data_samples: List[list],
             lidar2global: Tensor, timestamps: Tensor) -> Tuple[dict, dict]:
        """Compute the tracking losses over a clip.

        Each loss is the mean over the (sample, frame) pairs labelled for
        ``'track'`` of that pair's loss. With no labelled pair every loss is
        an exact zero that stays in the graph.

        Args:
            bevs (list[Tensor]): T maps (B, H*W, C), oldest first.
            data_samples (list[list[Det3DDataSample]]): B clips of T frames.
            lidar2global (Tensor): (B, T, 4, 4) frame poses.
            timestamps (Tensor): (B, T) seconds.

        Returns:
            tuple[dict, dict]: Losses, and the last frame's queries as
            ``dict(embeddings=(B, K_max + Q, C), padding_mask=(B, K_max + Q))``
            with True marking padding.
        """
        batch = len(data_samples)
        num_frames = len(bevs)
        device = bevs[0].device
        states = [self.empty_state(device) for _ in range(batch)]
        totals: Dict[str, Tensor] = {}
        num_terms = 0
        all_outputs = []
        for t in range(num_frames):
            if t > 0:
                for b in range(batch):
                    prev2curr = torch.linalg.solve(
                        lidar2global[b, t].double(),
                        lidar2global[b, t - 1].double()).float()
                    dt = float(timestamps[b, t] - timestamps[b, t - 1])
                    states[b] = self.propagate(states[b], prev2curr, dt)
            outputs = self(bevs[t], states)
            all_outputs.append(outputs)
            frames = [clip[t] for clip in data_samples]
            labelled = task_mask_of(frames, 'track')
            next_states = []
            for b in range(batch):
                if not labelled[b]:
                    next_states.append(self.empty_state(device))
                    continue
                targets = self._frame_targets(outputs, b, states[b],
                                              frames[b])
                for key, value in self._frame_loss(outputs, b,
                                                   targets).items():
                    totals[key] = totals.get(key, 0.0) + value
                num_terms += 1
                next_states.append(
                    self.carry(states[b], outputs, b, targets['keep_inds'],
                               targets['keep_ids']))
            states = next_states

        if num_terms == 0:
            zero = graph_zero(*[o['logits'] for o in all_outputs],
                              *[o['codes'] for o in all_outputs])
            num_layers = all_outputs[0]['logits'].shape[0]
            for layer in range(num_layers):
                prefix = '' if layer == num_layers - 1 else f'd{layer}.'
                totals[f'{prefix}loss_track_cls'] = zero
                totals[f'{prefix}loss_track_bbox'] = zero
            num_terms = 1
        losses = {key: value / num_terms for key, value in totals.items()}
        last = all_outputs[-1]
        latent = dict(
            embeddings=last['embeddings'], padding_mask=last['padding_mask'])
        return losses, latent

    # ------------------------------------------------------------------
    # Inference
    # ------------------------------------------------------------------
    def predict(self, bev: Tensor, state: TrackState,
                tracker: RuntimeTracker) -> Tuple[InstanceData, TrackState]:
        """Track one frame of one sample.

        Args:
            bev (Tensor): (1, H*W, C) BEV of the frame.
            state (TrackState): Live tracks, already moved into this frame.
            tracker (RuntimeTracker): Holds the ids of ``state``'s tracks.

        Returns:
            tuple[InstanceData, TrackState]: Reported boxes (``bboxes_3d``
            9-dim LiDARInstance3DBoxes, ``scores_3d``, ``labels_3d``,
            ``track_ids``) and the state for the next frame.
        """
        if len(state) != tracker.num_tracks:
            raise ValueError(f'track state has {len(state)} tracks but the '
                             f'tracker has {tracker.num_tracks}')
        outputs = self(bev, [state])
        inds = self.sample_indices(outputs, 0)
        logits = outputs['logits'][-1, 0, inds].float()
        codes = outputs['codes'][-1, 0, inds].float()
        scores, labels = logits.sigmoid().max(-1)
        step = tracker.step(scores)
        next_state = self.carry(state, outputs, 0, step.keep_inds,
                                tracker.track_ids)

        reported = torch.nonzero(step.output_ids >= 0).flatten().to(
            codes.device)
        boxes = self.coder.decode(codes[reported])
        result = InstanceData()
        result.bboxes_3d = LiDARInstance3DBoxes(
            boxes, box_dim=9, origin=(0.5, 0.5, 0))
        result.scores_3d = scores[reported]
        result.labels_3d = labels[reported]
        result.track_ids = step.output_ids.to(codes.device)[reported]
        return result, next_state
