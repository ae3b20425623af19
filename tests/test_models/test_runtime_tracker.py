"""Track-id bookkeeping at test time."""
import pytest
import torch

from nexusflow.models.tracking.runtime_tracker import RuntimeTracker


def test_ids_persist_and_new_objects_get_new_ids():
    tracker = RuntimeTracker(score_thresh=0.5, miss_tolerance=2)
    # Frame 0: no tracks, detection queries 1 and 3 fire.
    step = tracker.step(torch.tensor([0.1, 0.9, 0.2, 0.8]))
    assert step.output_ids.tolist() == [-1, 0, -1, 1]
    assert step.keep_inds.tolist() == [1, 3]
    assert tracker.track_ids.tolist() == [0, 1]
    # Frame 1: both tracks still score, detection query 0 fires.
    step = tracker.step(torch.tensor([0.7, 0.6, 0.9, 0.1, 0.2, 0.3]))
    assert step.output_ids.tolist() == [0, 1, 2, -1, -1, -1]
    assert tracker.track_ids.tolist() == [0, 1, 2]


def test_track_dropped_after_miss_tolerance():
    tracker = RuntimeTracker(score_thresh=0.5, miss_tolerance=2)
    tracker.step(torch.tensor([0.9, 0.9]))
    assert tracker.track_ids.tolist() == [0, 1]
    # Track 1 misses once: kept, not reported.
    step = tracker.step(torch.tensor([0.9, 0.1, 0.0, 0.0]))
    assert step.output_ids.tolist() == [0, -1, -1, -1]
    assert tracker.track_ids.tolist() == [0, 1]
    # Track 1 misses a second time: dropped.
    step = tracker.step(torch.tensor([0.9, 0.1, 0.0, 0.0]))
    assert step.keep_inds.tolist() == [0]
    assert tracker.track_ids.tolist() == [0]


def test_miss_count_resets_on_hit():
    tracker = RuntimeTracker(score_thresh=0.5, miss_tolerance=2)
    tracker.step(torch.tensor([0.9]))
    tracker.step(torch.tensor([0.1, 0.0]))
    tracker.step(torch.tensor([0.8, 0.0]))
    tracker.step(torch.tensor([0.1, 0.0]))
    assert tracker.track_ids.tolist() == [0]
    assert tracker.miss_counts.tolist() == [1]


def test_dropped_ids_are_not_reused():
    tracker = RuntimeTracker(score_thresh=0.5, miss_tolerance=1)
    tracker.step(torch.tensor([0.9]))
    tracker.step(torch.tensor([0.1, 0.0]))
    assert tracker.num_tracks == 0
    step = tracker.step(torch.tensor([0.9]))
    assert step.output_ids.tolist() == [1]
    tracker.reset()
    assert tracker.step(torch.tensor([0.9])).output_ids.tolist() == [0]


def test_too_few_scores_raise():
    tracker = RuntimeTracker(score_thresh=0.5)
    tracker.step(torch.tensor([0.9, 0.9]))
    with pytest.raises(ValueError, match='at least 2 scores'):
        tracker.step(torch.tensor([0.9]))
