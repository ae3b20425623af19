"""Samplers for city-partitioned training and scene-ordered evaluation.

Both read ``dataset.sample_records`` (see ``NuScenesPartialDataset``): per
sample its scene token, frame index, city and task mask.
"""
from typing import Dict, Iterator, List, Mapping, Optional, Sequence

import torch
from mmdet3d.registry import DATA_SAMPLERS
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler


def _records_of(dataset) -> Sequence:
    records = getattr(dataset, 'sample_records', None)
    if records is None:
        raise TypeError(f'{type(dataset).__name__} has no sample_records; the '
                        'NexusFlow samplers need a NuScenesPartialDataset '
                        '(or a dataset with the same attribute).')
    return records


def assign_task_pools(task_masks: Sequence[Mapping[str, bool]],
                      task_ratio: Mapping[str, float]) -> Dict[str, List[int]]:
    """Route every sample to the pool of one task it is labelled for.

    A sample labelled for several tasks (e.g. under the oracle partition)
    goes to the pool that is smallest relative to its ratio at that moment,
    so pools grow in proportion to ``task_ratio``. Samples labelled for no
    task of ``task_ratio`` are left out.

    Args:
        task_masks (Sequence[Mapping]): Per-sample task masks.
        task_ratio (Mapping[str, float]): Task -> share of each batch.

    Returns:
        dict: Task -> dataset indices in dataset order.
    """
    pools: Dict[str, List[int]] = {task: [] for task in task_ratio}
    for index, mask in enumerate(task_masks):
        candidates = [t for t in task_ratio if mask.get(t, False) and task_ratio[t] > 0]
        if not candidates:
            continue
        task = min(candidates, key=lambda t: len(pools[t]) / task_ratio[t])
        pools[task].append(index)
    return pools


def batch_task_schedule(task_ratio: Mapping[str, float], batch_size: int,
                        num_batches: int) -> List[List[str]]:
    """Return the task of every slot of ``num_batches`` batches.

    Slots are given to the task whose count lags its ratio the most, so each
    batch deviates from ``batch_size * ratio`` by less than one sample per
    task and the running totals follow the ratio exactly.
    """
    total = sum(task_ratio.values())
    shares = {t: r / total for t, r in task_ratio.items() if r > 0}
    assigned = {t: 0 for t in shares}
    schedule = []
    slot = 0
    for _ in range(num_batches):
        batch = []
        for _ in range(batch_size):
            slot += 1
            task = max(shares, key=lambda t: slot * shares[t] - assigned[t])
            assigned[task] += 1
            batch.append(task)
        schedule.append(batch)
    return schedule


@DATA_SAMPLERS.register_module()
class DomainPartitionedSampler(Sampler):
    """Training sampler that balances supervised tasks in every batch.

    Each sample is routed to the pool of a task it has labels for (its
    city's task mask, see :func:`assign_task_pools`); every batch draws its
    slots from the pools by ``task_ratio`` (see :func:`batch_task_schedule`).
    Each item is a whole clip, whose frames the dataset returns in scene
    order. An epoch ends when the first pool runs out, so no sample appears
    twice in an epoch; the unused rest of larger pools differs from epoch to
    epoch because the pools are reshuffled.

    Ranks split every global batch (``batch_size * world_size`` slots), so
    all ranks run the same number of iterations on disjoint samples.

    The order is a pure function of ``(seed, epoch)``: mmengine calls
    :meth:`set_epoch` at each epoch, and on a mid-epoch resume its
    ``IterBasedTrainLoop`` skips the already trained iterations of the same
    order. A resume reproduces the order only with a fixed seed (the
    sampler's ``seed`` or the config's ``randomness.seed``).

    Args:
        dataset: Dataset with ``sample_records``.
        batch_size (int): Samples per batch on each rank; must equal the
            dataloader's ``batch_size``.
        task_ratio (Mapping[str, float], optional): Task -> share of each
            batch. Defaults to equal shares over the dataset's tasks.
        seed (int, optional): Shuffle seed; the same on all ranks. Defaults
            to a seed shared by rank 0.
        shuffle (bool): Shuffle the pools each epoch. Defaults to True.
    """

    def __init__(self,
                 dataset,
                 batch_size: int,
                 task_ratio: Optional[Mapping[str, float]] = None,
                 seed: Optional[int] = None,
                 shuffle: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1; got {batch_size}.')
        records = _records_of(dataset)
        tasks_present = list(records[0].task_mask) if records else []
        if task_ratio is None:
            task_ratio = {t: 1.0 for t in tasks_present}
        unknown = [t for t in task_ratio if t not in tasks_present]
        if unknown:
            raise ValueError(f'task_ratio names tasks {unknown} that the '
                             f'dataset partition lacks; it has {tasks_present}.')
        if any(r < 0 for r in task_ratio.values()) or sum(task_ratio.values()) <= 0:
            raise ValueError(f'task_ratio must be non-negative with a positive '
                             f'sum; got {dict(task_ratio)}.')

        self.dataset = dataset
        self.batch_size = batch_size
        self.task_ratio = {t: float(r) for t, r in task_ratio.items()}
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0

        self.pools = assign_task_pools([r.task_mask for r in records], self.task_ratio)
        empty = [t for t, r in self.task_ratio.items() if r > 0 and not self.pools[t]]
        if empty:
            raise ValueError(f'No sample is labelled for task(s) {empty}, but '
                             f'task_ratio gives them a share: {self.task_ratio}.')
        self.schedule = self._build_schedule()
        unused = len(records) - sum(len(p) for p in self.pools.values())
        print_log(
            f'DomainPartitionedSampler: pools {{{", ".join(f"{t}: {len(p)}" for t, p in self.pools.items())}}}, '
            f'{len(self.schedule)} iterations per epoch of {batch_size} '
            f'samples on each of {self.world_size} rank(s); {unused} samples '
            'have no labelled task and are not sampled.', logger='current')

    def _build_schedule(self) -> List[List[str]]:
        """Cut the batch schedule where the first pool runs out on all ranks."""
        upper = len(self.dataset) // self.batch_size + 1
        candidate = batch_task_schedule(self.task_ratio, self.batch_size, upper)
        used = {t: 0 for t in self.pools}
        schedule = []
        for batch in candidate:
            for task in set(batch):
                used[task] += batch.count(task) * self.world_size
            if any(used[t] > len(self.pools[t]) for t in used):
                break
            schedule.append(batch)
        return schedule

    def _shuffled_pools(self) -> Dict[str, List[int]]:
        if not self.shuffle:
            return {t: list(p) for t, p in self.pools.items()}
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        shuffled = {}
        for task in sorted(self.pools):
            pool = self.pools[task]
            order = torch.randperm(len(pool), generator=generator).tolist()
            shuffled[task] = [pool[i] for i in order]
        return shuffled

    def __iter__(self) -> Iterator[int]:
        pools = self._shuffled_pools()
        cursor = {t: 0 for t in pools}
        indices = []
        for batch in self.schedule:
            counts = {t: batch.count(t) for t in set(batch)}
            taken = {t: 0 for t in counts}
            for task in batch:
                # Rank r takes the r-th block of this batch's slots of each task.
                start = cursor[task] + self.rank * counts[task]
                indices.append(pools[task][start + taken[task]])
                taken[task] += 1
            for task, count in counts.items():
                cursor[task] += count * self.world_size
        return iter(indices)

    def __len__(self) -> int:
        return len(self.schedule) * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the next shuffle."""
        self.epoch = epoch


@DATA_SAMPLERS.register_module()
class SceneSequentialSampler(Sampler):
    """Evaluation sampler: whole scenes per rank, frames in time order.

    Scenes go to ranks largest first, each to the rank with the fewest
    frames so far; on each rank scenes keep dataset order. Every sample is
    visited exactly once over all ranks; ranks may get different counts, so
    metrics merge results by sample token.

    Args:
        dataset: Dataset with ``sample_records``.
        seed (int, optional): Unused; accepted because mmengine passes it.
    """

    def __init__(self, dataset, seed: Optional[int] = None) -> None:
        records = _records_of(dataset)
        self.rank, self.world_size = get_dist_info()
        scenes: Dict[str, List[int]] = {}
        for index, record in enumerate(records):
            scenes.setdefault(record.scene_token, []).append(index)
        for token, indices in scenes.items():
            indices.sort(key=lambda i: records[i].frame_idx)

        order = list(scenes)
        by_size = sorted(order, key=lambda s: -len(scenes[s]))
        load = [0] * self.world_size
        owner = {}
        for token in by_size:
            rank = min(range(self.world_size), key=lambda r: (load[r], r))
            owner[token] = rank
            load[rank] += len(scenes[token])
        self.indices = [i for token in order if owner[token] == self.rank
                        for i in scenes[token]]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """Accept mmengine's epoch call; the order does not depend on it."""
