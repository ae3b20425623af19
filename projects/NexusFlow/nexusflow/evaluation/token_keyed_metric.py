"""A metric base class whose per-sample results are keyed by sample token.

mmengine's ``BaseMetric.evaluate`` gathers the ranks' results with
``collect_results``, which interleaves the ranks' lists with ``zip`` and so
drops results when ranks hold different counts. NexusFlow's scene sampler gives
each rank whole scenes, so the counts differ. This base class gathers every
rank's list in full, keeps each sample token once and computes on rank 0.
"""
import logging
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from mmengine.dist import (all_gather_object, broadcast_object_list,
                           get_world_size, is_main_process)
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement


def merge_results_by_token(rank_results: Sequence[Sequence[dict]]) -> List[dict]:
    """Merge the ranks' result lists, keeping each sample token once.

    Args:
        rank_results: One list of per-sample result dicts per rank, in rank
            order. Every dict has a ``'token'`` key.

    Returns:
        The results in rank order and, inside a rank, in processing order. A
        token seen again (a sampler that pads ranks repeats samples) keeps its
        first result.

    Raises:
        KeyError: If a result has no ``'token'`` key.
    """
    merged: 'OrderedDict[str, dict]' = OrderedDict()
    num_duplicates = 0
    for rank, results in enumerate(rank_results):
        for result in results:
            if 'token' not in result:
                raise KeyError(f'A result from rank {rank} has no "token" key; '
                               f'its keys are {sorted(result)}.')
            if result['token'] in merged:
                num_duplicates += 1
                continue
            merged[result['token']] = result
    if num_duplicates:
        print_log(f'Dropped {num_duplicates} repeated sample results while '
                  f'merging ranks; {len(merged)} samples remain.',
                  logger='current')
    return list(merged.values())


def sample_to_dict(data_sample: Any) -> dict:
    """Return a data sample as the flat dict that mmengine's Evaluator makes.

    Args:
        data_sample: A ``Det3DDataSample`` or the dict made from one by
            ``BaseDataElement.to_dict`` (metainfo and data fields at one level).
    """
    if isinstance(data_sample, BaseDataElement):
        return data_sample.to_dict()
    if isinstance(data_sample, Mapping):
        return dict(data_sample)
    raise TypeError('Expected a Det3DDataSample or a dict per sample, got '
                    f'{type(data_sample).__name__}.')


def field_as_dict(value: Any) -> dict:
    """Return a nested data field (an ``InstanceData`` or its dict) as a dict."""
    if isinstance(value, BaseDataElement):
        return value.to_dict()
    return dict(value)


class TokenKeyedMetric(BaseMetric):
    """Base metric that merges ranks by sample token before computing.

    Subclasses append one dict with a ``'token'`` key per sample to
    ``self.results`` in ``process`` and implement ``compute_metrics``.

    Args:
        gather_fn: Function that takes this rank's result list and returns
            every rank's list in rank order. Defaults to mmengine's
            ``all_gather_object`` (plain copy without a process group). Tests
            pass their own to simulate several ranks.
        collect_device: Kept for ``BaseMetric``; gathering always goes
            through ``gather_fn``.
        prefix: Prefix added to every metric key. Defaults to None because
            the metrics here already name their task (``track/AMOTA``).
    """

    def __init__(self,
                 gather_fn: Optional[Callable[[List[dict]], List[List[dict]]]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.gather_fn = gather_fn

    def _gather(self) -> List[List[dict]]:
        if self.gather_fn is not None:
            return self.gather_fn(self.results)
        if get_world_size() == 1:
            return [list(self.results)]
        return all_gather_object(list(self.results))

    def evaluate(self, size: Optional[int] = None) -> Dict[str, float]:
        """Gather every rank's results, compute on rank 0 and broadcast.

        Args:
            size: Length of the evaluated dataset. Only checked: the merge
                keeps every distinct token whatever the ranks hold.

        Returns:
            The metrics dict, the same on every rank.
        """
        if len(self.results) == 0:
            print_log(f'{type(self).__name__} holds no results on this rank.',
                      logger='current', level=logging.WARNING)
        rank_results = self._gather()

        if is_main_process():
            results = merge_results_by_token(rank_results)
            if size is not None and len(results) != size:
                print_log(f'{type(self).__name__} merged {len(results)} '
                          f'distinct samples but the dataset has {size}.',
                          logger='current', level=logging.WARNING)
            computed = self.compute_metrics(results)
            if self.prefix:
                computed = {f'{self.prefix}/{k}': v for k, v in computed.items()}
            metrics = [computed]
        else:
            metrics = [None]

        broadcast_object_list(metrics)
        self.results.clear()
        return metrics[0]
