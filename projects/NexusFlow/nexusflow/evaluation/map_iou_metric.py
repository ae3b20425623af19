"""BEV map IoU per map class, per city and per partition role."""
import logging
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmdet3d.registry import METRICS
from mmengine.logging import print_log

from .subsets import build_subsets
from .summary import log_and_save_summary
from .token_keyed_metric import TokenKeyedMetric, sample_to_dict

DEFAULT_MAP_CLASSES = ('divider', 'ped_crossing', 'contour', 'drivable')
DEFAULT_LANE_CLASSES = ('divider', 'ped_crossing', 'contour')


def mask_counts(pred: np.ndarray, gt: np.ndarray,
                lane_indices: Sequence[int]) -> Dict[str, np.ndarray]:
    """Count the intersection and union cells of one sample's masks.

    Args:
        pred: Predicted masks, bool ``(C, H, W)``.
        gt: Ground-truth masks, bool ``(C, H, W)``.
        lane_indices: Channels whose union forms the ``lanes`` class.

    Returns:
        ``intersection`` and ``union``, int64 ``(C + 1,)``: the C classes
        followed by ``lanes``.
    """
    intersection = np.logical_and(pred, gt).reshape(pred.shape[0], -1).sum(1)
    union = np.logical_or(pred, gt).reshape(pred.shape[0], -1).sum(1)
    lane_pred = pred[list(lane_indices)].any(0)
    lane_gt = gt[list(lane_indices)].any(0)
    lane_intersection = np.logical_and(lane_pred, lane_gt).sum()
    lane_union = np.logical_or(lane_pred, lane_gt).sum()
    return dict(
        intersection=np.append(intersection, lane_intersection).astype(np.int64),
        union=np.append(union, lane_union).astype(np.int64))


def _to_bool_array(value, key: str, token: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.ndim != 3:
        raise ValueError(f'{key} of sample {token} must be (C, H, W), got '
                         f'shape {array.shape}.')
    return array.astype(bool)


@METRICS.register_module()
class MapIoUMetric(TokenKeyedMetric):
    """IoU of BEV map masks, summed over the evaluated set before dividing.

    For each class the metric sums the intersection and the union cells over
    all samples of a subset and divides once, so large and small scenes weigh
    by their cell counts. ``lanes`` is the union of ``lane_classes``. A class
    whose summed union is zero (absent from both prediction and ground truth)
    reports NaN.

    Keys: ``map/IoU_<class>`` and ``map/IoU_lanes``, each also with
    ``@<city>``, ``@supervised`` and ``@unsupervised``.

    Args:
        map_classes: Channel names of ``pred_map_masks`` and ``gt_map_masks``,
            in order.
        lane_classes: Classes united into ``lanes``.
        partition: ``task -> list of cities | 'all' | 'none'`` as given to the
            dataset; None reports no role subsets.
        task: The partition entry that decides the roles. Defaults to 'map'.
        outfile_prefix: Folder where the summary JSON
            (``map_iou_summary.json``) is saved; None saves nothing.
        gather_fn: See ``TokenKeyedMetric``.
        collect_device: See ``BaseMetric``.
        prefix: See ``TokenKeyedMetric``.
    """

    # An empty prefix keeps the keys as they are and silences BaseMetric's warning.
    default_prefix = ''

    def __init__(self,
                 map_classes: Sequence[str] = DEFAULT_MAP_CLASSES,
                 lane_classes: Sequence[str] = DEFAULT_LANE_CLASSES,
                 partition: Optional[Mapping[str, Union[str, List[str]]]] = None,
                 task: str = 'map',
                 outfile_prefix: Optional[str] = None,
                 gather_fn=None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(gather_fn=gather_fn, collect_device=collect_device,
                         prefix=prefix)
        self.map_classes = tuple(map_classes)
        unknown = [name for name in lane_classes if name not in self.map_classes]
        if unknown:
            raise ValueError(f'lane_classes {unknown} are not in map_classes '
                             f'{self.map_classes}.')
        self.lane_indices = [self.map_classes.index(name) for name in lane_classes]
        self.partition = partition
        self.task = task
        self.outfile_prefix = outfile_prefix
        self._num_missing_gt = 0

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Count intersection and union cells for each predicted sample.

        Args:
            data_batch: Unused.
            data_samples: Per sample a ``Det3DDataSample`` or its dict with
                ``token``, ``city``, ``pred_map_masks`` (bool ``(C, H, W)``)
                and ``gt_map_masks`` (uint8 ``(C, H, W)``).
        """
        for data_sample in data_samples:
            sample = sample_to_dict(data_sample)
            for key in ('token', 'city', 'pred_map_masks'):
                if key not in sample:
                    raise KeyError(f'MapIoUMetric needs "{key}" in every data '
                                   f'sample; got keys {sorted(sample)}.')
            token = sample['token']
            if sample.get('gt_map_masks') is None:
                self._num_missing_gt += 1
                continue
            pred = _to_bool_array(sample['pred_map_masks'], 'pred_map_masks', token)
            gt = _to_bool_array(sample['gt_map_masks'], 'gt_map_masks', token)
            if pred.shape != gt.shape or pred.shape[0] != len(self.map_classes):
                raise ValueError(
                    f'Sample {token}: pred_map_masks {pred.shape} and '
                    f'gt_map_masks {gt.shape} must both be '
                    f'({len(self.map_classes)}, H, W) for {self.map_classes}.')
            counts = mask_counts(pred, gt, self.lane_indices)
            self.results.append(dict(token=token, city=sample['city'], **counts))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Return the IoU of every class for every subset."""
        if self._num_missing_gt:
            print_log(f'MapIoUMetric skipped {self._num_missing_gt} samples '
                      'without gt_map_masks on this rank.', logger='current',
                      level=logging.WARNING)
            self._num_missing_gt = 0
        names = self.map_classes + ('lanes',)
        by_token = {result['token']: result for result in results}
        subsets = build_subsets({t: r['city'] for t, r in by_token.items()},
                                self.partition, self.task)

        metrics: Dict[str, float] = {}
        for suffix, tokens in subsets.items():
            if not tokens:
                continue
            intersection = np.sum([by_token[t]['intersection'] for t in tokens], 0)
            union = np.sum([by_token[t]['union'] for t in tokens], 0)
            for index, name in enumerate(names):
                iou = intersection[index] / union[index] if union[index] else float('nan')
                metrics[f'map/IoU_{name}{suffix}'] = float(iou)
            metrics[f'map/num_samples{suffix}'] = len(tokens)
        if not results:
            print_log('MapIoUMetric received no samples with map masks; it '
                      'reports no IoU.', logger='current', level=logging.WARNING)

        outfile = None
        if self.outfile_prefix is not None:
            outfile = osp.join(self.outfile_prefix, 'map_iou_summary.json')
        log_and_save_summary(metrics, 'Map IoU (cells summed over each subset)',
                             outfile)
        return metrics
