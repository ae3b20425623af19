"""City partitions: which tasks carry labels in which cities.

A partition is a config dict ``task -> list of cities | 'all' | 'none'``, e.g.
``dict(map=['singapore-onenorth'], track=['boston-seaport'])``; the fully
supervised oracle is ``dict(map='all', track='all')``.
"""
from typing import Dict, Iterable, List, Mapping, Sequence, Set, Union

from mmengine.logging import print_log

CitySpec = Union[str, Sequence[str]]
# The log locations of nuScenes. A partition may name one of them even when a
# split lacks it (e.g. a small validation set); any other name is a typo.
NUSCENES_CITIES = ('boston-seaport', 'singapore-onenorth',
                   'singapore-hollandvillage', 'singapore-queenstown')


def resolve_partition(partition: Mapping[str, CitySpec],
                      cities_present: Iterable[str]) -> Dict[str, Set[str]]:
    """Expand the shorthands of a partition into city sets.

    Args:
        partition (Mapping): Task -> list of cities, ``'all'`` or ``'none'``.
        cities_present (Iterable[str]): Cities of the dataset.

    Returns:
        dict: Task -> set of supervised cities.

    Raises:
        ValueError: If a spec is not a list, 'all' or 'none', or names a city
            that is neither in ``cities_present`` nor a nuScenes city. A
            nuScenes city that the data lacks is only logged.
    """
    present = sorted(set(cities_present))
    resolved = {}
    for task, spec in partition.items():
        if isinstance(spec, str):
            if spec == 'all':
                resolved[task] = set(present)
                continue
            if spec == 'none':
                resolved[task] = set()
                continue
            raise ValueError(f"partition['{task}'] is '{spec}'; expected a "
                             "list of cities, 'all' or 'none'.")
        cities = set(spec)
        absent = sorted(cities - set(present))
        unknown = [c for c in absent if c not in NUSCENES_CITIES]
        if unknown:
            raise ValueError(f"partition['{task}'] names unknown cities "
                             f'{unknown}; the cities present are {present}.')
        if absent:
            print_log(f"partition['{task}'] names cities {absent} that this "
                      f'data lacks; the cities present are {present}.',
                      logger='current', level=30)
        resolved[task] = cities
    return resolved


def task_mask_for_city(city: str, resolved: Mapping[str, Set[str]]) -> Dict[str, bool]:
    """Return ``dict(task -> bool)``: whether a sample of ``city`` has labels for each task."""
    return {task: city in cities for task, cities in resolved.items()}


def check_tasks_supervised(task_masks: Sequence[Mapping[str, bool]],
                           tasks: Iterable[str], source: str) -> None:
    """Raise if a task has no supervised sample.

    Args:
        task_masks (Sequence[Mapping]): Per-sample task masks.
        tasks (Iterable[str]): Tasks of the partition.
        source (str): Name of the data (file) for the message.

    Raises:
        ValueError: Naming the tasks without labelled samples.
    """
    empty: List[str] = [t for t in tasks if not any(m[t] for m in task_masks)]
    if empty:
        raise ValueError(f'The partition leaves task(s) {empty} without any '
                         f'labelled training sample in {source}; assign them '
                         "cities present in this split or use 'all'.")
