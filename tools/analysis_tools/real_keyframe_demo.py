"""Run a trained model on the real nuScenes keyframe and draw one picture.

The keyframe is mmdet3d's demo sample (scene-0061, singapore-onenorth): six
1600x900 camera images and 69 annotated boxes in an mmdet3d v2 info file. The
script adds NexusFlow's info keys and builds the drivable-area ground truth
from the real onenorth polygon. It then runs the config's test pipeline with
the images resized to the size the model expects, and predicts the frame as a
scene of its own. The picture shows the cameras with the predicted boxes above the
predicted BEV (map masks, boxes) beside the ground truth (boxes, drivable
area). The other map classes have no real source here, so their ground truth
is empty.

A JSON file next to the PNG records the ground-truth boxes in the BEV range,
the ground-truth drivable cells, the predicted boxes at or above the score
threshold and the drivable IoU between prediction and ground truth.

Example:
    python tools/analysis_tools/real_keyframe_demo.py \\
        configs/nexusflow/nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py \\
        work_dirs/.../iter_1000.pth --score-thr 0.3
"""
import argparse
import copy
import json
import math
import os.path as osp
import sys
import tempfile
from typing import List, Optional, Sequence

# tools/ contains _bootstrap and tools/analysis_tools/ contains visualize_bev.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from _bootstrap import REPO_ROOT, load_config  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import FUNCTIONS, init_default_scope  # noqa: E402
from mmdet3d.registry import DATASETS  # noqa: E402
from nexusflow.datasets.real_keyframe import (DRIVABLE_SUBDIR,  # noqa: E402
                                              KEYFRAME_SUBDIR,
                                              MISSING_MAP_CLASSES,
                                              drivable_area_path,
                                              find_info_file,
                                              write_adapted_info_file)
from nexusflow.datasets.transforms.loading import CAMERAS  # noqa: E402
from nexusflow.visualization import SampleRenderer, save_png  # noqa: E402
from nexusflow.visualization.sample_figure import (images_from_tensor,  # noqa: E402
                                                   to_numpy, vstack_images)
from visualize_bev import _bev_settings, build_model  # noqa: E402

DEFAULT_REALDATA_ROOT = osp.join(REPO_ROOT, '..', 'shared', 'realdata', 'nuscenes')
DEFAULT_OUT = osp.join(REPO_ROOT, 'work_dirs', 'real_keyframe', 'real_keyframe.png')
CITY = 'singapore-onenorth'
# Camera size of the toy world and of the tiny configs, whose test pipelines
# load images at their stored size and so name no size themselves.
TOY_IMAGE_SIZE = (160, 90)  # (width, height) in pixels
# The map patch exceeds the BEV range by this much (metres) on every side, so
# the straight edges that clipping adds to the drivable rings stay off the grid.
PATCH_MARGIN = 2.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Predict the real nuScenes keyframe with a trained model and '
        'save one PNG (cameras, predicted BEV, ground-truth BEV) and a JSON of counts.')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--realdata-root', default=DEFAULT_REALDATA_ROOT,
                        help='folder with mmdetection3d/demo/data/nuscenes/ and '
                        'drivable_area/; defaults to ../shared/realdata/nuscenes '
                        'beside the repository')
    parser.add_argument('--out', default=DEFAULT_OUT,
                        help='output PNG; the JSON of counts is written beside it. '
                        'Defaults to work_dirs/real_keyframe/real_keyframe.png')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='minimum score of the predicted boxes that are counted and drawn')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('WIDTH', 'HEIGHT'),
                        help='camera size in pixels fed to the model. Defaults to the '
                        "resize of the config's test pipeline, or to 160 90 when it "
                        'has none')
    parser.add_argument('--device', default=None,
                        help='torch device; defaults to cuda when available, else cpu')
    args = parser.parse_args(argv)
    if args.img_size is not None and min(args.img_size) <= 0:
        parser.error(f'--img-size must be positive; got {args.img_size}')
    return args


def check_realdata_root(root: str) -> None:
    """Raise FileNotFoundError when ``root`` or one of its two data folders is missing."""
    for folder in (root, osp.join(root, KEYFRAME_SUBDIR), osp.join(root, DRIVABLE_SUBDIR)):
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'Real nuScenes data folder not found: {osp.abspath(folder)}. '
                'Pass --realdata-root pointing at the folder that contains '
                f'{KEYFRAME_SUBDIR} and {DRIVABLE_SUBDIR}.')


def pipeline_with_resize(pipeline: Sequence[dict],
                         img_size: Optional[Sequence[int]]) -> List[dict]:
    """Return the test pipeline with the images resized for the model.

    A ``ResizeMultiViewImages`` already in the pipeline is kept unless
    ``img_size`` is given, in which case it is replaced. Without one, a resize
    to ``img_size`` (default ``TOY_IMAGE_SIZE``) follows ``LoadMultiViewImages``.
    """
    pipeline = [copy.deepcopy(dict(step)) for step in pipeline]
    types = [step.get('type') for step in pipeline]
    if 'LoadMultiViewImages' not in types:
        raise ValueError('The test pipeline has no LoadMultiViewImages step; got '
                         f'the steps {types}.')
    resize = None if img_size is None else dict(type='ResizeMultiViewImages',
                                                size=tuple(img_size))
    if 'ResizeMultiViewImages' in types:
        if resize is not None:
            pipeline[types.index('ResizeMultiViewImages')] = resize
        return pipeline
    if resize is None:
        resize = dict(type='ResizeMultiViewImages', size=TOY_IMAGE_SIZE)
    pipeline.insert(types.index('LoadMultiViewImages') + 1, resize)
    return pipeline


def build_keyframe_dataset(cfg, realdata_root: str, work_dir: str,
                           img_size: Optional[Sequence[int]]):
    """Build the config's test dataset on the adapted real keyframe.

    Args:
        cfg (Config): Model config with ``test_dataloader.dataset``.
        realdata_root (str): Root of the real nuScenes pieces.
        work_dir (str): Folder for the adapted info file.
        img_size (Sequence[int], optional): ``(width, height)`` of the
            camera images fed to the model; see :func:`pipeline_with_resize`.

    Returns:
        NuScenesPartialDataset: One sample in test mode.
    """
    keyframe_dir = osp.join(realdata_root, KEYFRAME_SUBDIR)
    x_min, y_min, _, x_max, y_max, _ = _bev_settings(cfg)['point_cloud_range']
    patch_range = [x_min - PATCH_MARGIN, y_min - PATCH_MARGIN,
                   x_max + PATCH_MARGIN, y_max + PATCH_MARGIN]
    ann_file = write_adapted_info_file(
        find_info_file(keyframe_dir), drivable_area_path(realdata_root, CITY), CITY,
        patch_range, osp.join(work_dir, 'nexusflow_infos_real_keyframe.pkl'))

    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    camera_order = next((step.get('camera_order', CAMERAS)
                         for step in dataset_cfg.pipeline
                         if step.get('type') == 'LoadMultiViewImages'), CAMERAS)
    # The demo folder keeps all sensor files side by side, without samples/<sensor>/.
    dataset_cfg.update(
        data_root=keyframe_dir,
        ann_file=ann_file,
        data_prefix=dict(pts='', **{cam: '' for cam in camera_order}),
        pipeline=pipeline_with_resize(dataset_cfg.pipeline, img_size),
        test_mode=True)
    return DATASETS.build(dataset_cfg)


def mask_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Return the IoU of two boolean masks, NaN when both are empty."""
    union = np.logical_or(pred, gt).sum()
    if union == 0:
        return math.nan
    return float(np.logical_and(pred, gt).sum() / union)


def count_results(pred, gt, map_classes: Sequence[str], score_thr: float) -> dict:
    """Count the ground truth and the prediction of the keyframe.

    Returns:
        dict: ``gt_boxes_in_range`` (boxes left by the pipeline's range and
        class filter), ``gt_drivable_cells``, ``pred_boxes`` (scores at or
        above ``score_thr``), ``pred_drivable_cells`` and ``drivable_iou``.
    """
    if 'drivable' not in map_classes:
        raise ValueError(f"The config's map classes {list(map_classes)} have no "
                         "'drivable' class to compare with the real drivable area.")
    channel = list(map_classes).index('drivable')
    gt_drivable = to_numpy(gt.gt_map_masks[channel]).astype(bool)
    pred_drivable = to_numpy(pred.pred_map_masks[channel]).astype(bool)
    scores = to_numpy(pred.pred_instances_3d.scores_3d).reshape(-1)
    return dict(
        gt_boxes_in_range=int(len(gt.gt_instances_3d)),
        gt_drivable_cells=int(gt_drivable.sum()),
        pred_boxes=int((scores >= score_thr).sum()),
        pred_drivable_cells=int(pred_drivable.sum()),
        drivable_iou=mask_iou(pred_drivable, gt_drivable))


def add_caption(picture: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """Return ``picture`` below a white band with one text line per entry."""
    line_height = 20
    band = np.full((line_height * len(lines) + 8, picture.shape[1], 3), 255, dtype=np.uint8)
    for row, line in enumerate(lines):
        cv2.putText(band, line, (6, line_height * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return vstack_images([band, picture], gap=0)


def main(argv=None) -> dict:
    args = parse_args(argv)
    check_realdata_root(args.realdata_root)
    cfg = load_config(args.config)
    # Pipelines and models name mmdet3d classes without a scope prefix.
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = build_model(cfg, args.checkpoint, device)
    settings = _bev_settings(cfg)

    with tempfile.TemporaryDirectory() as work_dir:
        dataset = build_keyframe_dataset(cfg, args.realdata_root, work_dir, args.img_size)
        collate = FUNCTIONS.get(cfg.test_dataloader.get('collate_fn', {}).get(
            'type', 'clip_collate'))
        batch = collate([dataset[0]])
    with torch.no_grad():
        pred = model.test_step(batch)[0]
    gt = batch['data_samples'][0][-1]

    counts = count_results(pred, gt, settings['map_classes'], args.score_thr)
    missing = [name for name in MISSING_MAP_CLASSES if name in settings['map_classes']]
    renderer = SampleRenderer(score_thr=args.score_thr, history_frames=0, **settings)
    # The config name is too long for the panel title, so it goes into the JSON.
    picture = renderer.render([pred], gt, pred_titles=['prediction'],
                              images=images_from_tensor(batch['inputs']['img'][0], 'bgr'))
    picture = add_caption(picture, [
        f'real nuScenes keyframe {gt.metainfo["token"]} ({CITY}), '
        f'cameras {gt.metainfo["img_shape"][1]}x{gt.metainfo["img_shape"][0]}',
        f'ground-truth map: drivable area only; {", ".join(missing)} not available',
        f'drivable IoU {counts["drivable_iou"]:.3f}, predicted boxes '
        f'(score >= {args.score_thr:g}): {counts["pred_boxes"]}, ground-truth boxes '
        f'in range: {counts["gt_boxes_in_range"]}',
    ])

    out = save_png(picture, args.out)
    counts_path = osp.splitext(out)[0] + '.json'
    record = dict(counts, score_thr=args.score_thr, config=args.config,
                  checkpoint=args.checkpoint, token=gt.metainfo['token'],
                  empty_gt_map_classes=missing)
    if math.isnan(record['drivable_iou']):
        record['drivable_iou'] = None
    with open(counts_path, 'w') as f:
        json.dump(record, f, indent=2)

    print_log(f'Ground-truth map classes {missing} are empty: only the drivable '
              'area is available for the real keyframe.', logger='current')
    print_log(f'Wrote {out} and {counts_path}', logger='current')
    print_log(f'Predicted boxes with score >= {args.score_thr:g}: {counts["pred_boxes"]}',
              logger='current')
    print_log(f'Drivable IoU (prediction vs. real polygon): {counts["drivable_iou"]:.4f}',
              logger='current')
    return record


if __name__ == '__main__':
    main()
