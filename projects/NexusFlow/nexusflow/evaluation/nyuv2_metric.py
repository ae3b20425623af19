"""NYUv2 segmentation, depth and surface normal metrics with Delta_MTL."""
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmdet3d.registry import METRICS

# Metric keys whose value improves upward; every other key improves downward.
HIGHER_IS_BETTER = {
    'seg_mIoU': True,
    'seg_pixel_acc': True,
    'depth_abs_err': False,
    'depth_rel_err': False,
    'normal_mean': False,
    'normal_median': False,
}


def _field(sample, key: str) -> Optional[torch.Tensor]:
    """Return ``sample.<key>.data`` for data elements or their dict form."""
    if isinstance(sample, Mapping):
        value = sample.get(key)
        if isinstance(value, Mapping):
            value = value.get('data')
        return value
    value = getattr(sample, key, None)
    return None if value is None else value.data


def delta_mtl(metrics: Mapping[str, float],
              baselines: Mapping[str, float],
              higher_is_better: Mapping[str, bool]) -> float:
    """Mean relative gain over single-task references, in percent.

    ``Delta = 100 / K * sum_k (-1)^{l_k} (M_k - B_k) / B_k`` with
    ``l_k = 1`` when a lower value of metric k is better, so a positive
    Delta means the multi-task model beats the single-task references on
    average (the convention of Maninis et al., CVPR 2019, and Vandenhende
    et al., TPAMI 2021).

    Args:
        metrics (dict[str, float]): Multi-task values M_k.
        baselines (dict[str, float]): Single-task references B_k; their
            keys select the K metrics.
        higher_is_better (dict[str, bool]): Direction of every key.

    Returns:
        float: Delta_MTL in percent.
    """
    if not baselines:
        raise ValueError('delta_mtl needs at least one baseline metric.')
    terms = []
    for key, base in baselines.items():
        if key not in metrics:
            raise KeyError(f'Baseline metric {key!r} was not computed; '
                           f'computed metrics: {sorted(metrics)}.')
        if base == 0:
            raise ValueError(f'Baseline metric {key!r} is 0, so the '
                             'relative difference is undefined.')
        sign = 1.0 if higher_is_better[key] else -1.0
        terms.append(sign * (metrics[key] - base) / base)
    return 100.0 * float(np.mean(terms))


@METRICS.register_module()
class NYUv2Metric(BaseMetric):
    """Accumulate NYUv2 task metrics over a whole split.

    Segmentation: mIoU from the confusion matrix of the whole split (mean
    over classes that occur in the ground truth or the prediction) and pixel
    accuracy, both in percent, ignoring ``ignore_index``. Depth: absolute
    error (metres) and relative error ``|d - d*| / d*``, averaged over all
    valid pixels (``d* > 0``) of the split. Normals: mean and median angle
    error in degrees and the percentage of pixels within each threshold,
    over pixels with a nonzero ground-truth normal. The median comes from a
    histogram with ``angle_bin_deg`` bins, so it is exact to that width.

    Predictions are read from ``pred_seg`` (1, H, W), ``pred_depth``
    (1, H, W) and ``pred_normal`` (3, H, W). A task whose prediction is
    missing is not scored.

    Args:
        num_classes (int): Segmentation classes. Defaults to 13.
        ignore_index (int): Unlabelled pixel value. Defaults to -1.
        angle_thresholds (Sequence[float]): Degrees for the "within"
            percentages. Defaults to (11.25, 22.5, 30.0).
        angle_bin_deg (float): Histogram bin width for the median angle, in
            degrees. Defaults to 0.01.
        single_task_baselines (dict[str, float], optional): Reference value
            per metric key (for example ``seg_mIoU``, ``depth_abs_err``,
            ``normal_11.25``); when given, ``delta_mtl`` (percent) is added.
            Defaults to None.
        collect_device (str): See :class:`BaseMetric`. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the logged keys, as in
            ``nyuv2/seg_mIoU``. Defaults to None, which means ``'nyuv2'``.
    """

    default_prefix = 'nyuv2'

    def __init__(self,
                 num_classes: int = 13,
                 ignore_index: int = -1,
                 angle_thresholds: Sequence[float] = (11.25, 22.5, 30.0),
                 angle_bin_deg: float = 0.01,
                 single_task_baselines: Optional[Mapping[str, float]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if angle_bin_deg <= 0:
            raise ValueError(
                f'angle_bin_deg must be positive, got {angle_bin_deg}.')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.angle_thresholds = tuple(float(t) for t in angle_thresholds)
        self.angle_bin_deg = angle_bin_deg
        self.num_angle_bins = int(np.ceil(180.0 / angle_bin_deg))
        self.higher_is_better = dict(HIGHER_IS_BETTER)
        for threshold in self.angle_thresholds:
            self.higher_is_better[self._within_key(threshold)] = True
        self.single_task_baselines = dict(single_task_baselines or {})
        unknown = [
            key for key in self.single_task_baselines
            if key not in self.higher_is_better
        ]
        if unknown:
            raise KeyError(
                f'single_task_baselines has unknown metric keys {unknown}; '
                f'expected keys among {sorted(self.higher_is_better)}.')

    @staticmethod
    def _within_key(threshold: float) -> str:
        return f'normal_{threshold:g}'

    def _seg_stats(self, pred: torch.Tensor, gt: torch.Tensor) -> np.ndarray:
        """Confusion matrix (K, K), rows ground truth, columns prediction."""
        pred = pred.reshape(-1).long().cpu()
        gt = gt.reshape(-1).long().cpu()
        keep = (gt != self.ignore_index) & (gt >= 0) & (gt < self.num_classes)
        index = gt[keep] * self.num_classes + pred[keep].clamp(
            0, self.num_classes - 1)
        counts = torch.bincount(index, minlength=self.num_classes**2)
        return counts.reshape(self.num_classes, self.num_classes).numpy()

    def _normal_angles(self, pred: torch.Tensor,
                       gt: torch.Tensor) -> torch.Tensor:
        """Angle errors in degrees at valid pixels, 1-D float64."""
        pred = pred.double().cpu().reshape(3, -1)
        gt = gt.double().cpu().reshape(3, -1)
        valid = gt.abs().sum(dim=0) > 0
        pred, gt = pred[:, valid], gt[:, valid]
        cos = (pred * gt).sum(dim=0) / (
            pred.norm(dim=0) * gt.norm(dim=0)).clamp(min=1e-12)
        return torch.rad2deg(torch.acos(cos.clamp(-1.0, 1.0)))

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Add one entry of summed statistics for this batch."""
        stats = dict(
            confusion=None,
            depth_abs=0.0,
            depth_rel=0.0,
            depth_count=0,
            angle_sum=0.0,
            angle_count=0,
            angle_hist=None,
            within=np.zeros(len(self.angle_thresholds), dtype=np.int64))
        for sample in data_samples:
            pred_seg = _field(sample, 'pred_seg')
            if pred_seg is not None:
                confusion = self._seg_stats(pred_seg, _field(sample, 'gt_seg'))
                stats['confusion'] = confusion if stats[
                    'confusion'] is None else stats['confusion'] + confusion

            pred_depth = _field(sample, 'pred_depth')
            if pred_depth is not None:
                gt = _field(sample, 'gt_depth').double().cpu().reshape(-1)
                pred = pred_depth.double().cpu().reshape(-1)
                valid = gt > 0
                error = (pred[valid] - gt[valid]).abs()
                stats['depth_abs'] += float(error.sum())
                stats['depth_rel'] += float((error / gt[valid]).sum())
                stats['depth_count'] += int(valid.sum())

            pred_normal = _field(sample, 'pred_normal')
            if pred_normal is not None:
                angles = self._normal_angles(pred_normal,
                                             _field(sample, 'gt_normal'))
                bins = (angles / self.angle_bin_deg).long().clamp(
                    max=self.num_angle_bins - 1)
                hist = torch.bincount(
                    bins, minlength=self.num_angle_bins).numpy()
                stats['angle_hist'] = hist if stats[
                    'angle_hist'] is None else stats['angle_hist'] + hist
                stats['angle_sum'] += float(angles.sum())
                stats['angle_count'] += int(angles.numel())
                stats['within'] += np.array([
                    int((angles < threshold).sum())
                    for threshold in self.angle_thresholds
                ])
        self.results.append(stats)

    def _median_from_histogram(self, hist: np.ndarray) -> float:
        """Median angle, linearly interpolated inside its bin."""
        cumulative = np.cumsum(hist)
        half = cumulative[-1] / 2.0
        idx = int(np.searchsorted(cumulative, half))
        before = cumulative[idx - 1] if idx > 0 else 0
        fraction = (half - before) / max(hist[idx], 1)
        return (idx + fraction) * self.angle_bin_deg

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Sum the batch statistics and turn them into metrics."""
        metrics = {}
        confusions = [r['confusion'] for r in results
                      if r['confusion'] is not None]
        if confusions:
            confusion = np.sum(confusions, axis=0).astype(np.float64)
            true_pos = np.diag(confusion)
            union = confusion.sum(0) + confusion.sum(1) - true_pos
            present = union > 0
            metrics['seg_mIoU'] = 100.0 * float(
                np.mean(true_pos[present] / union[present])) if present.any(
                ) else 0.0
            metrics['seg_pixel_acc'] = 100.0 * float(
                true_pos.sum() / max(confusion.sum(), 1.0))

        depth_count = sum(r['depth_count'] for r in results)
        if depth_count > 0:
            metrics['depth_abs_err'] = sum(
                r['depth_abs'] for r in results) / depth_count
            metrics['depth_rel_err'] = sum(
                r['depth_rel'] for r in results) / depth_count

        angle_count = sum(r['angle_count'] for r in results)
        if angle_count > 0:
            hist = np.sum([
                r['angle_hist'] for r in results
                if r['angle_hist'] is not None
            ],
                          axis=0)
            within = np.sum([r['within'] for r in results], axis=0)
            metrics['normal_mean'] = sum(
                r['angle_sum'] for r in results) / angle_count
            metrics['normal_median'] = self._median_from_histogram(hist)
            for threshold, count in zip(self.angle_thresholds, within):
                metrics[self._within_key(threshold)] = (
                    100.0 * float(count) / angle_count)

        if not metrics:
            print_log(
                'NYUv2Metric found no pred_seg, pred_depth or pred_normal '
                'with valid pixels; no metric was computed.',
                logger='current',
                level='WARNING')
        if self.single_task_baselines and metrics:
            metrics['delta_mtl'] = delta_mtl(metrics,
                                             self.single_task_baselines,
                                             self.higher_is_better)
        return metrics
