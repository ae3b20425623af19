"""Draw the predictions of one or two models beside the ground truth, frame by frame.

Each test sample gives one PNG: the six cameras with the first model's boxes
above the BEV panels (map masks, boxes, track histories) of each model and of
the ground truth. Frames run in scene order because the model's temporal
state (previous BEV, track queries) follows the scene.

Examples:
    python tools/analysis_tools/visualize_bev.py CONFIG CKPT --num-samples 20
    python tools/analysis_tools/visualize_bev.py CONFIG CKPT --scene scene-0061 --gif
    python tools/analysis_tools/visualize_bev.py BASE_CONFIG BASE_CKPT \\
        --compare NF_CONFIG NF_CKPT --out-dir work_dirs/vis_compare
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from _bootstrap import default_work_dir, load_config  # noqa: E402

import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import FUNCTIONS, init_default_scope  # noqa: E402
from mmengine.runner import load_checkpoint  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402
from mmdet3d.registry import DATASETS, MODELS  # noqa: E402
from nexusflow.visualization import DEFAULT_MAP_CLASSES, SampleRenderer  # noqa: E402
from nexusflow.visualization import save_png, write_video  # noqa: E402
from nexusflow.visualization.sample_figure import images_from_tensor  # noqa: E402
from torch.utils.data import DataLoader, Subset  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Save BEV pictures (prediction beside ground truth) per test sample.')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')

    parser.add_argument('--compare', nargs=2, metavar=('CONFIG2', 'CKPT2'),
                        help='a second model whose predictions are drawn beside the first')
    parser.add_argument('--out-dir', help='output folder; defaults to '
                        'work_dirs/<config name>/vis_bev')
    parser.add_argument('--num-samples', type=int, default=None,
                        help='draw at most this many samples (in scene order); default all')
    parser.add_argument('--scene', help='draw only the scene with this name, e.g. scene-0061')

    video = parser.add_mutually_exclusive_group()
    video.add_argument('--gif', action='store_true', help='also write one GIF per scene')
    video.add_argument('--mp4', action='store_true', help='also write one MP4 per scene')
    parser.add_argument('--fps', type=float, default=2.0, help='frames per second of the videos')

    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='minimum score of the predicted boxes that are drawn')
    parser.add_argument('--history', type=int, default=5,
                        help='past frames drawn as track histories')
    parser.add_argument('--no-cameras', action='store_true',
                        help='leave out the camera mosaic')
    parser.add_argument('--camera-boxes', choices=['pred', 'gt'], default='pred',
                        help="boxes drawn into the cameras: the first model's ('pred') or 'gt'")
    parser.add_argument('--device', default=None,
                        help='torch device; defaults to cuda when available, else cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override entries of the first config')

    args = parser.parse_args(argv)
    if args.num_samples is not None and args.num_samples < 1:
        parser.error(f'--num-samples must be >= 1, got {args.num_samples}')
    return args


def build_model(cfg, checkpoint: str, device: str):
    """Build ``cfg.model``, load ``checkpoint`` and switch to eval mode."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint file not found: {checkpoint}')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='current')
    return model.to(device).eval()


def select_indices(dataset, scene: Optional[str], num_samples: Optional[int]) -> List[int]:
    """Return dataset indices in scene order, of one scene if ``scene`` is given.

    Args:
        dataset (NuScenesPartialDataset): Test dataset.
        scene (str, optional): Scene name (``scene_name`` in the infos).
        num_samples (int, optional): Keep at most this many indices.

    Returns:
        list[int]: Indices grouped by scene (in dataset order), frames in
        time order.
    """
    scenes: Dict[str, List[tuple]] = OrderedDict()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        name = info.get('scene_name') or info.get('scene_token', '')
        if scene is not None and name != scene:
            continue
        scenes.setdefault(name, []).append((int(info.get('frame_idx', index)), index))
    if scene is not None and not scenes:
        known = sorted({
            dataset.get_data_info(i).get('scene_name', '') for i in range(len(dataset))})
        raise ValueError(f'Scene {scene!r} is not in the test set; its scenes are {known}.')
    indices = [index for frames in scenes.values() for _, index in sorted(frames)]
    return indices[:num_samples] if num_samples is not None else indices


def _bev_settings(cfg) -> dict:
    pc_range = cfg.get('point_cloud_range') or cfg.model.get('point_cloud_range')
    if pc_range is None:
        raise ValueError('The config has no point_cloud_range (top level or in model).')
    return dict(point_cloud_range=pc_range,
                bev_h=cfg.get('bev_h') or cfg.model.get('bev_h'),
                bev_w=cfg.get('bev_w') or cfg.model.get('bev_w'),
                map_classes=cfg.get('map_classes') or DEFAULT_MAP_CLASSES)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    # Pipelines and models name mmdet3d classes without a scope prefix.
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    out_dir = args.out_dir or osp.join(default_work_dir(args.config), 'vis_bev')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')

    models = [build_model(cfg, args.checkpoint, device)]
    titles = [osp.splitext(osp.basename(args.config))[0]]
    if args.compare:
        compare_cfg = load_config(args.compare[0])
        models.append(build_model(compare_cfg, args.compare[1], device))
        titles.append(osp.splitext(osp.basename(args.compare[0]))[0])
        # NOTE: both models read the batches of the first config's test
        # pipeline, so their image size and BEV grid must match it.
    if len(titles) == 2 and titles[0] == titles[1]:
        titles = [f'{titles[0]} (1)', f'{titles[1]} (2)']

    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    indices = select_indices(dataset, args.scene, args.num_samples)
    collate_cfg = cfg.test_dataloader.get('collate_fn', dict(type='pseudo_collate'))
    collate_fn = FUNCTIONS.get(collate_cfg['type'])
    loader = DataLoader(Subset(dataset, indices), batch_size=1, shuffle=False,
                        num_workers=0, collate_fn=collate_fn)

    renderer = SampleRenderer(score_thr=args.score_thr, history_frames=args.history,
                              draw_cameras=not args.no_cameras,
                              camera_source=args.camera_boxes, **_bev_settings(cfg))
    print_log(f'Drawing {len(indices)} samples into {out_dir}', logger='current')
    progress = ProgressBar(len(indices))
    videos: Dict[str, list] = OrderedDict()
    for index, data_batch in zip(indices, loader):
        with torch.no_grad():
            preds = [model.test_step(data_batch)[0] for model in models]
        clip = data_batch['data_samples'][0]
        gt = clip[-1] if isinstance(clip, (list, tuple)) else clip
        images = None
        if not args.no_cameras:
            images = images_from_tensor(data_batch['inputs']['img'][0], 'bgr')
        picture = renderer.render(preds, gt, pred_titles=titles, images=images)

        info = dataset.get_data_info(index)
        scene = info.get('scene_name') or info.get('scene_token', 'scene')
        stem = f"{scene}_{int(info.get('frame_idx', 0)):03d}_{info.get('token', index)}"
        save_png(picture, osp.join(out_dir, f'{stem}.png'))
        if args.gif or args.mp4:
            videos.setdefault(scene, []).append(picture)
        progress.update()

    suffix = '.gif' if args.gif else '.mp4'
    for scene, frames in videos.items():
        path = write_video(frames, osp.join(out_dir, f'{scene}{suffix}'), fps=args.fps)
        print_log(f'Wrote {path} ({len(frames)} frames)', logger='current')
    return out_dir


if __name__ == '__main__':
    main()
