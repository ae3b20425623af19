"""Test-time bookkeeping of track identities."""
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class TrackerStep:
    """Result of one :meth:`RuntimeTracker.step`.

    Attributes:
        output_ids (Tensor): (K + Q,) long, the track id to report for each
            query of this frame, -1 for queries not reported.
        keep_inds (Tensor): (K',) long, queries that stay tracks for the
            next frame, surviving tracks first and then new ones.
    """
    output_ids: Tensor
    keep_inds: Tensor


class RuntimeTracker:
    """Assign persistent ids to track queries across frames.

    A track query that scores at least ``score_thresh`` is reported and its
    miss count resets to 0. Otherwise its miss count grows by one, and the
    track is dropped once the count reaches ``miss_tolerance``. A detection
    query scoring at least ``new_track_thresh`` starts a track with a new
    id. Ids are never reused until :meth:`reset`.

    Args:
        score_thresh (float): Score to keep (and report) a track.
            Defaults to 0.4.
        new_track_thresh (float, optional): Score to start a track.
            Defaults to None (same as ``score_thresh``).
        miss_tolerance (int): Consecutive missed frames after which a track
            is dropped. Defaults to 5.
    """

    def __init__(self,
                 score_thresh: float = 0.4,
                 new_track_thresh: float = None,
                 miss_tolerance: int = 5) -> None:
        if miss_tolerance < 1:
            raise ValueError(f'miss_tolerance must be >= 1, got '
                             f'{miss_tolerance}')
        self.score_thresh = score_thresh
        self.new_track_thresh = (score_thresh if new_track_thresh is None else
                                 new_track_thresh)
        self.miss_tolerance = miss_tolerance
        self.reset()

    def reset(self) -> None:
        """Forget all tracks and restart ids at 0."""
        self.track_ids = torch.zeros(0, dtype=torch.long)
        self.miss_counts = torch.zeros(0, dtype=torch.long)
        self.next_id = 0

    @property
    def num_tracks(self) -> int:
        """Number of live tracks, whose queries lead the next frame."""
        return int(self.track_ids.numel())

    def step(self, scores: Tensor) -> TrackerStep:
        """Update tracks from one frame's query scores.

        Args:
            scores (Tensor): (K + Q,) scores in [0, 1]; the first K
                (= :attr:`num_tracks`) belong to the live tracks in order.

        Returns:
            TrackerStep: Ids to report and queries to keep.
        """
        num_tracks = self.num_tracks
        if scores.numel() < num_tracks:
            raise ValueError(f'expected at least {num_tracks} scores (one '
                             f'per live track), got {scores.numel()}')
        scores = scores.detach().float().cpu()
        output_ids = torch.full((scores.numel(), ), -1, dtype=torch.long)

        track_scores = scores[:num_tracks]
        hit = track_scores >= self.score_thresh
        miss_counts = torch.where(hit, torch.zeros_like(self.miss_counts),
                                  self.miss_counts + 1)
        alive = miss_counts < self.miss_tolerance
        output_ids[:num_tracks][hit] = self.track_ids[hit]

        new_inds = torch.nonzero(
            scores[num_tracks:] >= self.new_track_thresh).flatten() \
            + num_tracks
        new_ids = torch.arange(
            self.next_id, self.next_id + new_inds.numel(), dtype=torch.long)
        self.next_id += int(new_inds.numel())
        output_ids[new_inds] = new_ids

        kept_tracks = torch.nonzero(alive).flatten()
        self.track_ids = torch.cat([self.track_ids[kept_tracks], new_ids])
        self.miss_counts = torch.cat(
            [miss_counts[kept_tracks],
             torch.zeros_like(new_ids)])
        keep_inds = torch.cat([kept_tracks, new_inds])
        return TrackerStep(output_ids=output_ids, keep_inds=keep_inds)
