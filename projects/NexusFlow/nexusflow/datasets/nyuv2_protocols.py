"""Partial-label protocols for NYUv2: which training image carries which task.

A protocol yields a boolean task mask of shape (N, T): row i marks which of the
T tasks (in the order of ``NYUV2_TASKS``) are labelled for training image i.
"""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.logging import print_log

NYUV2_TASKS = ('seg', 'depth', 'normal')
PROTOCOLS = ('full', 'onelabel', 'randomlabels')


def make_onelabel_masks(num_samples: int, num_tasks: int,
                        seed: int) -> np.ndarray:
    """Label every image for exactly one task, spread evenly over the tasks.

    A seeded permutation of the images is cut into ``num_tasks`` contiguous
    parts, so each task gets ``num_samples // num_tasks`` images and the first
    ``num_samples % num_tasks`` tasks get one more (795 images, 3 tasks: 265
    each).

    Args:
        num_samples (int): Number of training images N.
        num_tasks (int): Number of tasks T.
        seed (int): Seed of the permutation.

    Returns:
        np.ndarray: Bool mask of shape (N, T) with one True per row.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(num_samples)
    masks = np.zeros((num_samples, num_tasks), dtype=bool)
    for task_idx, part in enumerate(np.array_split(order, num_tasks)):
        masks[part, task_idx] = True
    return masks


def make_randomlabels_masks(num_samples: int, num_tasks: int,
                            seed: int) -> np.ndarray:
    """Label every image for a random, non-empty, incomplete subset of tasks.

    Each image draws how many tasks it keeps uniformly from 1 to T - 1, then
    which ones uniformly, so no image is unlabelled and none is fully
    labelled (with T = 3: one or two tasks per image).

    Args:
        num_samples (int): Number of training images N.
        num_tasks (int): Number of tasks T, at least 2.
        seed (int): Seed of the draw.

    Returns:
        np.ndarray: Bool mask of shape (N, T).
    """
    if num_tasks < 2:
        raise ValueError('randomlabels needs at least 2 tasks so that an '
                         f'image can be partially labelled, got {num_tasks}.')
    rng = np.random.default_rng(seed)
    masks = np.zeros((num_samples, num_tasks), dtype=bool)
    counts = rng.integers(1, num_tasks, size=num_samples)
    for i, count in enumerate(counts):
        masks[i, rng.choice(num_tasks, size=count, replace=False)] = True
    return masks


def load_task_masks(mask_file: str, num_samples: int,
                    num_tasks: int) -> np.ndarray:
    """Load a task mask of shape (N, T) from a .npy or whitespace .txt file.

    Nonzero entries mean labelled.

    Raises:
        FileNotFoundError: If ``mask_file`` does not exist.
        ValueError: If the suffix is not .npy/.txt or the shape is not (N, T).
    """
    if not osp.isfile(mask_file):
        raise FileNotFoundError(f'Task mask file not found: {mask_file}')
    if mask_file.endswith('.npy'):
        masks = np.load(mask_file)
    elif mask_file.endswith('.txt'):
        masks = np.loadtxt(mask_file, ndmin=2)
    else:
        raise ValueError(f'Task mask file {mask_file} must end with .npy or '
                         '.txt.')
    if masks.shape != (num_samples, num_tasks):
        raise ValueError(
            f'Task mask file {mask_file} has shape {masks.shape}, expected '
            f'({num_samples}, {num_tasks}): one row per training image and '
            'one column per task.')
    return masks.astype(bool)


def build_task_masks(protocol: str,
                     num_samples: int,
                     tasks: Sequence[str] = NYUV2_TASKS,
                     seed: int = 0,
                     mask_file: Optional[str] = None) -> np.ndarray:
    """Build the task mask of a partial-label protocol.

    Args:
        protocol (str): ``'full'`` (every task labelled), ``'onelabel'`` or
            ``'randomlabels'``. Ignored when ``mask_file`` is given.
        num_samples (int): Number of images N.
        tasks (Sequence[str]): Task names, the columns of the mask.
            Defaults to ``('seg', 'depth', 'normal')``.
        seed (int): Seed of the random protocols. Defaults to 0.
        mask_file (str, optional): A saved (N, T) mask to use instead of
            drawing one. Defaults to None.

    Returns:
        np.ndarray: Bool mask of shape (N, T).
    """
    num_tasks = len(tasks)
    if mask_file is not None:
        masks = load_task_masks(mask_file, num_samples, num_tasks)
    elif protocol == 'full':
        masks = np.ones((num_samples, num_tasks), dtype=bool)
    elif protocol == 'onelabel':
        masks = make_onelabel_masks(num_samples, num_tasks, seed)
    elif protocol == 'randomlabels':
        masks = make_randomlabels_masks(num_samples, num_tasks, seed)
    else:
        raise ValueError(f'Unknown partial-label protocol {protocol!r}, '
                         f'expected one of {PROTOCOLS}.')
    counts = ', '.join(f'{task}: {int(n)}'
                       for task, n in zip(tasks, masks.sum(axis=0)))
    source = mask_file if mask_file is not None else f'seed {seed}'
    print_log(
        f'NYUv2 task mask ({protocol}, {source}) labels {counts} of '
        f'{num_samples} images.',
        logger='current')
    return masks
