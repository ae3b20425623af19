"""Evaluation subsets: the whole set, each city and each partition role.

Every metric is reported for the whole evaluated set (no key suffix), for each
city (``@boston-seaport``) and, when a partition is given, for the cities where
the task was supervised (``@supervised``) and the others (``@unsupervised``).
"""
from collections import OrderedDict
from typing import Dict, Iterable, Mapping, Optional, Sequence, Set, Tuple, Union

PartitionValue = Union[str, Sequence[str]]


def supervised_cities(partition: Mapping[str, PartitionValue], task: str,
                      cities: Iterable[str]) -> Set[str]:
    """Return the cities where ``task`` carries labels.

    Args:
        partition: ``task -> list of cities | 'all' | 'none'``, the format of
            the dataset's ``partition`` argument.
        task: The task to look up, e.g. ``'track'`` or ``'map'``.
        cities: Every city of the evaluated set, used to expand ``'all'``.

    Raises:
        KeyError: If ``task`` is not in ``partition``.
        ValueError: If the entry is neither ``'all'``, ``'none'`` nor a list
            of city names.
    """
    if task not in partition:
        raise KeyError(f'partition has no entry for task "{task}"; it has '
                       f'{sorted(partition)}.')
    value = partition[task]
    if value == 'all':
        return set(cities)
    if value == 'none':
        return set()
    if isinstance(value, str) or not isinstance(value, (list, tuple, set)) \
            or not all(isinstance(city, str) for city in value):
        raise ValueError(f'partition["{task}"] must be "all", "none" or a list '
                         f'of city names, got {value!r}.')
    return set(value)


def build_subsets(city_by_token: Mapping[str, str],
                  partition: Optional[Mapping[str, PartitionValue]] = None,
                  task: Optional[str] = None) -> 'OrderedDict[str, Tuple[str, ...]]':
    """Split the evaluated samples into the reported subsets.

    Args:
        city_by_token: Sample token -> city, one entry per evaluated sample.
        partition: The config's partition; None reports no role subsets.
        task: The partition entry that decides the roles.

    Returns:
        Key suffix -> sample tokens, in the order of ``city_by_token``:
        ``''`` (all samples), ``'@<city>'`` for each city (sorted), then
        ``'@supervised'`` and ``'@unsupervised'``. A role subset without
        samples is left out.
    """
    tokens = tuple(city_by_token)
    subsets: 'OrderedDict[str, Tuple[str, ...]]' = OrderedDict([('', tokens)])
    cities = sorted(set(city_by_token.values()))
    for city in cities:
        subsets[f'@{city}'] = tuple(t for t in tokens if city_by_token[t] == city)

    if partition is not None:
        if task is None:
            raise ValueError('build_subsets needs the task whose partition '
                             'entry decides the roles.')
        supervised = supervised_cities(partition, task, cities)
        roles: Dict[str, Tuple[str, ...]] = {
            '@supervised': tuple(t for t in tokens if city_by_token[t] in supervised),
            '@unsupervised': tuple(t for t in tokens if city_by_token[t] not in supervised),
        }
        for suffix, members in roles.items():
            if members:
                subsets[suffix] = members
    return subsets
