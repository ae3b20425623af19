"""Helpers for losses that only count the samples labelled for a task."""
from typing import List, Sequence

import torch
from torch import Tensor


def task_mask_of(data_samples: Sequence, task: str) -> List[bool]:
    """Read ``task_mask[task]`` of each data sample.

    Args:
        data_samples (Sequence[Det3DDataSample]): One sample per batch entry.
        task (str): Task name, e.g. ``'map'`` or ``'track'``.

    Returns:
        list[bool]: Whether each sample carries labels for ``task``. A sample
        without a ``task_mask`` counts as labelled for every task.
    """
    labelled = []
    for sample in data_samples:
        task_mask = sample.metainfo.get('task_mask')
        if task_mask is None:
            labelled.append(True)
            continue
        if task not in task_mask:
            raise KeyError(f'task_mask {task_mask} of sample '
                           f"{sample.metainfo.get('token')} has no entry for "
                           f"task '{task}'")
        labelled.append(bool(task_mask[task]))
    return labelled


def graph_zero(*tensors: Tensor) -> Tensor:
    """Return an exact zero that stays connected to the graph of ``tensors``.

    Used as the loss of a task that has no labelled sample in the batch, so
    that every parameter still receives a (zero) gradient and distributed
    training does not see unused parameters.
    """
    total = None
    for tensor in tensors:
        term = tensor.float().sum() * 0.0
        total = term if total is None else total + term
    if total is None:
        raise ValueError('graph_zero needs at least one tensor')
    return total


def weighted_sample_mean(losses: Tensor, weights: Tensor) -> Tensor:
    """Average per-sample losses over the samples with non-zero weight.

    Args:
        losses (Tensor): (B,) per-sample losses.
        weights (Tensor): (B,) sample weights, 0 for unlabelled samples.

    Returns:
        Tensor: scalar. An exact zero (still in the graph) if all weights
        are zero.
    """
    weights = weights.to(losses)
    total = weights.sum()
    if total <= 0:
        return graph_zero(losses)
    # where() instead of a product so a NaN in an unlabelled sample's loss
    # cannot leak into the sum.
    safe = torch.where(weights > 0, losses, torch.zeros_like(losses))
    return (safe * weights).sum() / total
