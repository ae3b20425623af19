"""nuScenes detection (mAP, NDS) and tracking (AMOTA, ...) with the devkit.

Each reported subset (everything, each city, supervised and unsupervised
cities) is scored by its own devkit evaluator. The subsets become custom splits
(scene names) in a temporary dataroot (see ``CustomSplitRoot``), so the
devkit's own loaders pick each subset's ground truth and predictions.
"""
import json
import logging
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from mmdet3d.registry import METRICS
from mmengine.logging import print_log

from .custom_split_root import CustomSplitRoot
from .devkit_configs import build_devkit_config
from .nuscenes_boxes import (DETECTION_CLASSES, format_sample_boxes,
                             lidar_boxes_to_global)
from .subsets import build_subsets
from .summary import log_and_save_summary
from .token_keyed_metric import (TokenKeyedMetric, field_as_dict,
                                 sample_to_dict)

DETECTION_KEYS = OrderedDict([('mATE', 'trans_err'), ('mASE', 'scale_err'),
                              ('mAOE', 'orient_err'), ('mAVE', 'vel_err'),
                              ('mAAE', 'attr_err')])
TRACKING_KEYS = OrderedDict([
    ('AMOTA', 'amota'), ('AMOTP', 'amotp'), ('MOTA', 'mota'), ('MOTAR', 'motar'),
    ('MOTP', 'motp'), ('recall', 'recall'), ('IDS', 'ids'), ('FRAG', 'frag'),
    ('TP', 'tp'), ('FP', 'fp'), ('FN', 'fn'), ('MT', 'mt'), ('ML', 'ml'),
    ('FAF', 'faf'), ('TID', 'tid'), ('LGD', 'lgd')])
SUBMISSION_META = dict(use_camera=True, use_lidar=False, use_radar=False,
                       use_map=False, use_external=False)


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, 'tensor'):
        value = value.tensor
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@METRICS.register_module()
class NuScenesTrackMetric(TokenKeyedMetric):
    """nuScenes detection and tracking scores of the track head's boxes.

    ``process`` moves each sample's predicted boxes into the global frame.
    ``compute_metrics`` writes the devkit submission files
    (``results_nusc_det.json``, ``results_nusc_track.json``) to
    ``outfile_prefix`` before scoring, then scores each subset with
    ``DetectionEval`` and ``TrackingEval`` and saves ``metric_summary.json``.

    Subsets are whole scenes: the devkit scores every keyframe of a scene that
    has at least one processed sample. Keyframes of those scenes that were not
    processed are scored as frames without predictions, with a warning.

    Keys: ``det/mAP``, ``det/NDS``, ``det/mATE`` ... ``det/mAAE``,
    ``det/AP_<class>`` (whole set only), ``track/AMOTA``, ``track/AMOTP``,
    ``track/MOTA``, ``track/IDS`` ... and ``<task>/num_samples``; each also
    with ``@<city>``, ``@supervised`` and ``@unsupervised``. A subset without
    predicted boxes gets the devkit's worst values (``metric_worst`` for
    tracking, mAP = NDS = 0 and TP errors 1 for detection); a subset without
    ground-truth boxes gets NaN.

    Args:
        data_root: nuScenes dataroot holding ``<version>/`` tables.
        version: nuScenes version folder, e.g. ``'v1.0-trainval'``.
        metrics: Which scores to compute: ``'det'``, ``'track'`` or both.
        class_names: Detection class of each predicted label index.
        eval_classes: Classes that the scores average over. None keeps the
            devkit's (10 detection, 7 tracking classes); a list restricts to
            those classes; ``'gt_present'`` restricts each subset to the
            classes with at least one ground-truth box in that subset. The
            devkit's mAP counts a class without ground truth as AP 0, so a
            toy world with few classes needs a restriction.
        det_config: Devkit detection config name.
        track_config: Devkit tracking config name.
        class_range: Scored distance from the ego vehicle (metres): one value
            or class -> metres; replaces the devkit configs' class ranges.
        det_config_overrides: Other ``DetectionConfig`` fields to replace.
        track_config_overrides: Other ``TrackingConfig`` fields to replace.
        partition: ``task -> list of cities | 'all' | 'none'`` as given to
            the dataset; None reports no role subsets.
        task: The partition entry that decides the roles. Defaults to
            'track'.
        moving_speed: Speed in m/s above which a box gets the moving
            attribute (the model predicts no attributes).
        outfile_prefix: Folder for the submission files, the devkit's outputs
            and the summary. None uses a temporary folder, deleted after
            scoring.
        verbose: Whether the devkit prints its progress.
        gather_fn: See ``TokenKeyedMetric``.
        collect_device: See ``BaseMetric``.
        prefix: See ``TokenKeyedMetric``.
    """

    # An empty prefix keeps the keys as they are and silences BaseMetric's warning.
    default_prefix = ''

    def __init__(self,
                 data_root: str,
                 version: str = 'v1.0-trainval',
                 metrics: Sequence[str] = ('det', 'track'),
                 class_names: Sequence[str] = DETECTION_CLASSES,
                 eval_classes: Optional[Union[str, Sequence[str]]] = None,
                 det_config: str = 'detection_cvpr_2019',
                 track_config: str = 'tracking_nips_2019',
                 class_range: Optional[Union[float, Mapping[str, float]]] = None,
                 det_config_overrides: Optional[dict] = None,
                 track_config_overrides: Optional[dict] = None,
                 partition: Optional[Mapping[str, Union[str, List[str]]]] = None,
                 task: str = 'track',
                 moving_speed: float = 0.2,
                 outfile_prefix: Optional[str] = None,
                 verbose: bool = False,
                 gather_fn=None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(gather_fn=gather_fn, collect_device=collect_device,
                         prefix=prefix)
        metrics = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in metrics if m not in ('det', 'track')]
        if unknown or not metrics:
            raise ValueError(f'metrics must name "det" and/or "track", got {metrics}.')
        if isinstance(eval_classes, str) and eval_classes != 'gt_present':
            raise ValueError('eval_classes must be None, a list of classes or '
                             f'"gt_present", got "{eval_classes}".')
        self.data_root = data_root
        self.version = version
        self.metrics = metrics
        self.class_names = tuple(class_names)
        self.eval_classes = eval_classes
        # Built now so that a bad override fails at start-up, not after inference.
        self.det_cfg = build_devkit_config(det_config, class_range, det_config_overrides)
        self.track_cfg = build_devkit_config(track_config, class_range,
                                             track_config_overrides)
        self.partition = partition
        self.task = task
        self.moving_speed = moving_speed
        self.outfile_prefix = outfile_prefix
        self.verbose = verbose
        self._split_root: Optional[CustomSplitRoot] = None
        self._nusc = None

    # ------------------------------------------------------------------ input
    def process(self, data_batch, data_samples: Sequence) -> None:
        """Store each sample's predicted boxes in the global frame.

        Args:
            data_batch: Unused.
            data_samples: Per sample a ``Det3DDataSample`` or its dict with
                ``token``, ``scene_token``, ``city``, ``lidar2ego``,
                ``ego2global`` (4x4) and ``pred_instances_3d`` holding
                ``bboxes_3d`` (9-dim LiDAR boxes), ``scores_3d``,
                ``labels_3d`` and ``track_ids`` (needed for tracking).
        """
        for data_sample in data_samples:
            sample = sample_to_dict(data_sample)
            for key in ('token', 'city', 'lidar2ego', 'ego2global', 'pred_instances_3d'):
                if key not in sample:
                    raise KeyError(f'NuScenesTrackMetric needs "{key}" in every '
                                   f'data sample; got keys {sorted(sample)}.')
            token = sample['token']
            instances = field_as_dict(sample['pred_instances_3d'])
            for key in ('bboxes_3d', 'scores_3d', 'labels_3d'):
                if key not in instances:
                    raise KeyError(f'pred_instances_3d of sample {token} has no '
                                   f'"{key}"; got {sorted(instances)}.')
            boxes = _to_numpy(instances['bboxes_3d'])
            if boxes.ndim != 2 or boxes.shape[1] != 9:
                raise ValueError(f'bboxes_3d of sample {token} must be (N, 9) '
                                 f'(x, y, z, dx, dy, dz, yaw, vx, vy), got {boxes.shape}.')
            track_ids = instances.get('track_ids')
            if track_ids is None and 'track' in self.metrics:
                raise KeyError(f'pred_instances_3d of sample {token} has no '
                               '"track_ids", which tracking needs.')
            result = dict(token=token, city=sample['city'],
                          scores=_to_numpy(instances['scores_3d']).astype(np.float64),
                          labels=_to_numpy(instances['labels_3d']).astype(np.int64),
                          track_ids=None if track_ids is None else
                          _to_numpy(track_ids).astype(np.int64))
            result.update(lidar_boxes_to_global(boxes, _to_numpy(sample['lidar2ego']),
                                                _to_numpy(sample['ego2global'])))
            self.results.append(result)

    # ---------------------------------------------------------------- scoring
    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the submission files, score every subset and save a summary."""
        if not results:
            print_log('NuScenesTrackMetric received no samples; it reports no '
                      'scores.', logger='current', level=logging.WARNING)
            return {}
        tmp_dir = None
        out_dir = self.outfile_prefix
        if out_dir is None:
            tmp_dir = tempfile.TemporaryDirectory(prefix='nexusflow_track_eval_')
            out_dir = tmp_dir.name
        os.makedirs(out_dir, exist_ok=True)
        try:
            return self._score(results, out_dir)
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()

    def _score(self, results: List[dict], out_dir: str) -> Dict[str, float]:
        by_token = OrderedDict((r['token'], r) for r in results)
        submissions = {'det': OrderedDict(), 'track': OrderedDict()}
        max_boxes = min(self.det_cfg.max_boxes_per_sample,
                        self.track_cfg.max_boxes_per_sample)
        num_cut = 0
        for token, result in by_token.items():
            entries = format_sample_boxes(result, self.class_names,
                                          self.moving_speed, max_boxes)
            num_cut += len(result['scores']) - len(entries['detection'])
            submissions['det'][token] = entries['detection']
            submissions['track'][token] = entries['tracking']
        if num_cut:
            print_log(f'Dropped {num_cut} lowest-scoring boxes beyond the devkit '
                      f'limit of {max_boxes} per sample.', logger='current',
                      level=logging.WARNING)
        paths = {kind: osp.join(out_dir, f'results_nusc_{kind}.json') for kind in self.metrics}
        for kind, path in paths.items():
            self._write_submission(path, submissions[kind])
            print_log(f'Wrote {len(submissions[kind])} samples of {kind} '
                      f'predictions to {path}.', logger='current')

        nusc = self._load_nuscenes()
        scene_by_token = self._scene_names(nusc, by_token)
        self._pad_unprocessed_frames(nusc, scene_by_token, submissions, paths)

        subsets = build_subsets(OrderedDict((t, r['city']) for t, r in by_token.items()),
                                self.partition, self.task)
        split_names = OrderedDict((suffix, f'nexusflow{suffix or "@all"}')
                                  for suffix in subsets)
        self._split_root.write_splits({
            split_names[suffix]: sorted({scene_by_token[t] for t in tokens})
            for suffix, tokens in subsets.items()})

        metrics: Dict[str, float] = OrderedDict()
        for suffix, tokens in subsets.items():
            for kind in self.metrics:
                num_pred = sum(len(submissions[kind][t]) for t in tokens)
                scorer = self._score_detection if kind == 'det' else self._score_tracking
                metrics.update(scorer(nusc, paths[kind], split_names[suffix],
                                      suffix, num_pred, out_dir))

        log_and_save_summary(metrics, 'nuScenes detection and tracking',
                             osp.join(out_dir, 'metric_summary.json'))
        return dict(metrics)

    @staticmethod
    def _write_submission(path: str, results: Mapping[str, list]) -> None:
        with open(path, 'w') as f:
            json.dump(dict(meta=SUBMISSION_META, results=results), f)

    def _load_nuscenes(self):
        if self._nusc is None:
            from nuscenes import NuScenes
            self._split_root = CustomSplitRoot(self.data_root, self.version)
            self._nusc = NuScenes(version=self.version,
                                  dataroot=self._split_root.data_root,
                                  verbose=self.verbose)
        return self._nusc

    @staticmethod
    def _scene_names(nusc, by_token: Mapping[str, dict]) -> Dict[str, str]:
        scene_by_token = {}
        for token in by_token:
            try:
                sample = nusc.get('sample', token)
            except KeyError:
                raise KeyError(f'Sample token {token} is not in the nuScenes '
                               f'tables of {nusc.version}; check data_root and '
                               'version against the evaluated info file.') from None
            scene_by_token[token] = nusc.get('scene', sample['scene_token'])['name']
        return scene_by_token

    def _pad_unprocessed_frames(self, nusc, scene_by_token: Mapping[str, str],
                                submissions: dict, paths: Mapping[str, str]) -> None:
        """Add empty entries for keyframes of evaluated scenes that were not processed."""
        scenes = set(scene_by_token.values())
        missing = []
        for scene in nusc.scene:
            if scene['name'] not in scenes:
                continue
            token = scene['first_sample_token']
            while token:
                if token not in scene_by_token:
                    missing.append(token)
                token = nusc.get('sample', token)['next']
        if not missing:
            return
        print_log(f'{len(missing)} keyframes of the evaluated scenes were not '
                  'processed; they are scored as frames without predictions.',
                  logger='current', level=logging.WARNING)
        for kind, path in paths.items():
            padded = OrderedDict(submissions[kind])
            for token in missing:
                padded[token] = []
            submissions[kind] = padded
            self._write_submission(path, padded)

    def _classes_with_gt(self, nusc, split_name: str, kind: str) -> List[str]:
        from nuscenes.eval.common.loaders import get_samples_of_custom_split
        from nuscenes.eval.detection.utils import category_to_detection_name
        from nuscenes.eval.tracking.utils import category_to_tracking_name
        to_name = category_to_detection_name if kind == 'det' else category_to_tracking_name
        present = set()
        for token in get_samples_of_custom_split(split_name, nusc):
            for ann_token in nusc.get('sample', token)['anns']:
                name = to_name(nusc.get('sample_annotation', ann_token)['category_name'])
                if name is not None:
                    present.add(name)
        return sorted(present)

    def _config_for(self, nusc, split_name: str, kind: str):
        """Return the devkit config restricted to ``eval_classes`` and the classes."""
        base = self.det_cfg if kind == 'det' else self.track_cfg
        config = type(base).deserialize(base.serialize())
        all_classes = list(config.class_names)
        if self.eval_classes == 'gt_present':
            classes = self._classes_with_gt(nusc, split_name, kind)
        elif self.eval_classes is None:
            classes = all_classes
        else:
            classes = [c for c in self.eval_classes if c in all_classes]
        # Both evaluators loop over and average across ``config.class_names``.
        config.class_names = classes
        return config, classes

    def _score_detection(self, nusc, result_path: str, split_name: str,
                         suffix: str, num_pred: int, out_dir: str) -> Dict[str, float]:
        from nuscenes.eval.detection.evaluate import DetectionEval
        config, classes = self._config_for(nusc, split_name, 'det')
        scores = OrderedDict()
        if not classes:
            print_log(f'No ground-truth boxes of the evaluated classes in '
                      f'subset "{split_name}"; detection scores are NaN.',
                      logger='current', level=logging.WARNING)
            scores.update({'mAP': float('nan'), 'NDS': float('nan')})
            scores.update({key: float('nan') for key in DETECTION_KEYS})
        elif num_pred == 0:
            print_log(f'No predicted boxes in subset "{split_name}"; detection '
                      'scores are the worst values.', logger='current',
                      level=logging.WARNING)
            scores.update({'mAP': 0.0, 'NDS': 0.0})
            scores.update({key: 1.0 for key in DETECTION_KEYS})
        else:
            evaluator = DetectionEval(nusc, config, result_path, split_name,
                                      output_dir=osp.join(out_dir, f'det{suffix}'),
                                      verbose=self.verbose)
            summary, _ = evaluator.evaluate()
            summary = summary.serialize()
            scores['mAP'] = float(summary['mean_ap'])
            scores['NDS'] = float(summary['nd_score'])
            for key, devkit_key in DETECTION_KEYS.items():
                scores[key] = float(summary['tp_errors'][devkit_key])
            if not suffix:
                for name, ap in summary['mean_dist_aps'].items():
                    scores[f'AP_{name}'] = float(ap)
            scores['num_samples'] = len(evaluator.sample_tokens)
        return OrderedDict((f'det/{k}{suffix}', v) for k, v in scores.items())

    def _score_tracking(self, nusc, result_path: str, split_name: str,
                        suffix: str, num_pred: int, out_dir: str) -> Dict[str, float]:
        from nuscenes.eval.tracking.evaluate import TrackingEval
        config, classes = self._config_for(nusc, split_name, 'track')
        scores = OrderedDict()
        if not classes:
            print_log(f'No ground-truth boxes of the tracking classes in subset '
                      f'"{split_name}"; tracking scores are NaN.',
                      logger='current', level=logging.WARNING)
            scores.update({key: float('nan') for key in TRACKING_KEYS})
        elif num_pred == 0:
            print_log(f'No predicted tracks in subset "{split_name}"; tracking '
                      'scores are the devkit\'s worst values.', logger='current',
                      level=logging.WARNING)
            scores.update({key: float(config.metric_worst[devkit_key])
                           for key, devkit_key in TRACKING_KEYS.items()})
        else:
            # NOTE: TrackingEval loads its own NuScenes from the dataroot, so each
            # subset pays one table load (tens of seconds on v1.0-trainval).
            evaluator = TrackingEval(config, result_path, split_name,
                                     output_dir=osp.join(out_dir, f'track{suffix}'),
                                     nusc_version=nusc.version,
                                     nusc_dataroot=nusc.dataroot,
                                     verbose=self.verbose)
            summary, _ = evaluator.evaluate()
            summary = summary.serialize()
            for key, devkit_key in TRACKING_KEYS.items():
                scores[key] = float(summary[devkit_key])
            scores['num_samples'] = len(evaluator.sample_tokens)
        return OrderedDict((f'track/{k}{suffix}', v) for k, v in scores.items())
