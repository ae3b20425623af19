"""Report how well the track head fits its matched ground truth, split by split.

The script runs the model in loss mode (eval mode, no gradients) on training
clips built from each requested info file. For every query that the track
head matched to a ground-truth box it records the box error per encoded
dimension and the query's score for the true class. For every unmatched
query it records the highest class score. Comparing the training split with
the validation split shows whether the detector generalises or memorises:
a centre error that is small on training scenes but large on validation
scenes is overfitting, not a lack of capacity.

Only frames labelled for tracking (by the config's partition) are scored.

Example:
    python tools/analysis_tools/track_fit_report.py CONFIG CKPT \
        --ann-files nexusflow_infos_train.pkl nexusflow_infos_val.pkl --num-batches 20
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import default_work_dir, load_config, load_model  # noqa: E402

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

#: Names of the encoded box dimensions, in the units of the loss space.
DIM_NAMES = ('x_m', 'y_m', 'z_m', 'log_w', 'log_l', 'log_h', 'sin_yaw', 'cos_yaw', 'vx', 'vy')
#: Centre distance in metres within which nuScenes tracking counts a match.
MATCH_DISTANCE_M = 2.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Box errors and scores of the track head on matched queries, per info file.')
    parser.add_argument('config', help='config file of a BEVTrackMap model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--ann-files', nargs='+',
                        default=['nexusflow_infos_train.pkl', 'nexusflow_infos_val.pkl'],
                        help='info files (relative to the data root) to build clips from')
    parser.add_argument('--num-batches', type=int, default=20,
                        help='training batches to run per info file')
    parser.add_argument('--out', help='JSON report path; defaults to '
                        'work_dirs/<config name>/track_fit_report.json')
    parser.add_argument('--device', default=None,
                        help='torch device; defaults to cuda when available, else cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries')
    args = parser.parse_args(argv)
    if args.num_batches < 1:
        parser.error(f'--num-batches must be >= 1, got {args.num_batches}')
    return args


class MatchRecorder:
    """Record matched-query errors and scores while the track head computes its loss.

    Inside the ``with`` block, the head's per-frame loss also stores the
    errors of the queries that the frame's targets marked positive.

    Args:
        head (TrackHead): The model's track head.
    """

    def __init__(self, head):
        self.head = head
        self.errors, self.positive_scores, self.negative_scores = [], [], []

    def __enter__(self):
        original = self.head._frame_loss

        def recording_frame_loss(outputs, b, targets):
            self._record(outputs, b, targets)
            return original(outputs, b, targets)

        # An instance attribute shadows the class method until __exit__.
        self.head._frame_loss = recording_frame_loss
        return self

    def __exit__(self, *exc_info):
        del self.head._frame_loss
        return False

    def _record(self, outputs, b, targets):
        coder = self.head.coder
        inds = self.head.sample_indices(outputs, b)
        positive = targets['positive']
        codes = outputs['codes'][-1, b, inds].float()
        scores = outputs['logits'][-1, b, inds].float().sigmoid()
        error = coder.to_loss_space(codes[positive]) - coder.to_loss_space(
            targets['targets'][positive])
        labels = targets['labels'][positive]
        self.errors.append(error.abs().cpu())
        self.positive_scores.append(scores[positive].gather(1, labels[:, None]).flatten().cpu())
        self.negative_scores.append(scores[~positive].max(-1).values.cpu())

    def summary(self, score_thresh: float) -> dict:
        """Return the statistics of everything recorded so far."""
        if not self.errors:
            raise RuntimeError('no frame labelled for tracking was seen. Check the partition '
                               'and --ann-files')
        errors = torch.cat(self.errors)
        positive = torch.cat(self.positive_scores)
        negative = torch.cat(self.negative_scores)
        centre = errors[:, :2].norm(dim=-1)
        return dict(
            num_matched=int(len(errors)),
            mean_abs_error={name: float(v) for name, v in zip(DIM_NAMES, errors.mean(0))},
            median_centre_error_m=float(centre.median()) if len(centre) else float('nan'),
            share_within_match_distance=float((centre <= MATCH_DISTANCE_M).float().mean()),
            mean_matched_score=float(positive.mean()),
            share_matched_above_thresh=float((positive >= score_thresh).float().mean()),
            mean_unmatched_max_score=float(negative.mean()),
            share_unmatched_above_thresh=float((negative >= score_thresh).float().mean()),
            score_thresh=float(score_thresh))


def report_ann_file(model, cfg, ann_file: str, num_batches: int) -> dict:
    """Run ``num_batches`` training batches built from ``ann_file`` and summarise."""
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.dataset.ann_file = ann_file
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    total = min(num_batches, len(loader))
    progress = ProgressBar(total)
    with MatchRecorder(model.track_head) as recorder, torch.no_grad():
        for index, data_batch in enumerate(loader):
            if index >= total:
                break
            data = model.data_preprocessor(data_batch, True)
            model(**data, mode='loss')
            progress.update()
    return recorder.summary(model.track_head.score_thresh)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    out = args.out or osp.join(default_work_dir(args.config), 'track_fit_report.json')
    model = load_model(cfg, args.checkpoint, args.device)
    if getattr(model, 'track_head', None) is None:
        raise ValueError(f'The model of {args.config} has no track_head to report on.')

    report = {}
    for ann_file in args.ann_files:
        print_log(f'Scoring matched queries on clips from {ann_file}', logger='current')
        report[ann_file] = report_ann_file(model, cfg, ann_file, args.num_batches)
        stats = report[ann_file]
        errors = ' '.join(f'{k}={v:.3f}' for k, v in stats['mean_abs_error'].items())
        print(f'{ann_file}: matched={stats["num_matched"]} '
              f'median_centre_error_m={stats["median_centre_error_m"]:.3f} '
              f'within_{MATCH_DISTANCE_M:g}m={stats["share_within_match_distance"]:.3f} '
              f'matched_score={stats["mean_matched_score"]:.3f} '
              f'matched>=thr={stats["share_matched_above_thresh"]:.3f} '
              f'unmatched>=thr={stats["share_unmatched_above_thresh"]:.3f} | {errors}')

    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(report, f, indent=2)
    print_log(f'Saved {out}', logger='current')
    return report


if __name__ == '__main__':
    main()
