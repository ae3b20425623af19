"""Hook that saves a BEV picture (prediction beside ground truth) per test sample."""
import os.path as osp
from typing import Optional, Sequence

from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log

from .bev_drawing import DEFAULT_MAP_CLASSES
from .sample_figure import (SampleRenderer, frame_file_stem, images_from_paths,
                            images_from_tensor, save_png)


def _current_frame(sample):
    """Return the last (current) frame of a clip, or the sample itself."""
    if isinstance(sample, (list, tuple)):
        return sample[-1] if sample else None
    return sample


def _flatten(samples) -> list:
    flat = []
    for sample in samples or []:
        if isinstance(sample, (list, tuple)):
            flat.extend(sample)
        else:
            flat.append(sample)
    return flat


@HOOKS.register_module()
class BEVVisualizationHook(Hook):
    """Save one PNG per test sample: camera mosaic, prediction and ground-truth BEV.

    The camera tiles come from ``data_batch['inputs']['img']`` (per sample
    (T, N_cam, 3, H, W), 0..255, not normalized) or, when the batch has no
    images, from ``img_path`` in the metainfo. Files are named
    ``<scene>_<frame_idx>_<token>.png``, with the scene name from the test
    dataset's infos, or the scene token when the dataset has no names.
    Track histories need the frames of a scene in order, as the test
    dataloader yields them.

    Args:
        out_dir (str): Folder for the PNGs, created if missing.
        score_thr (float): Minimum score of drawn predicted boxes.
            Defaults to 0.3.
        interval (int): Save the batches whose index is a multiple of
            ``interval``, starting with the first. Defaults to 1.
        point_cloud_range (Sequence[float], optional): BEV range in metres.
            Defaults to ``point_cloud_range`` of the runner's config.
        bev_h (int, optional): BEV rows. Defaults to ``bev_h`` of the
            runner's config, else the map masks' height.
        bev_w (int, optional): BEV columns. Defaults like ``bev_h``.
        map_classes (Sequence[str], optional): Map class of each mask
            channel. Defaults to ``map_classes`` of the runner's config, else
            ``('divider', 'ped_crossing', 'contour', 'drivable')``.
        history_frames (int): Past frames drawn as track histories.
            Defaults to 5.
        draw_cameras (bool): Whether to add the camera mosaic.
            Defaults to True.
        channel_order (str): ``'bgr'`` or ``'rgb'``, the channel order of
            the input images. Defaults to ``'bgr'`` (what
            ``LoadMultiViewImages`` loads).
        camera_boxes (str): Boxes drawn into the cameras, ``'pred'`` or
            ``'gt'``. Defaults to ``'pred'``.
    """

    priority = 'LOWEST'

    def __init__(self,
                 out_dir: str,
                 score_thr: float = 0.3,
                 interval: int = 1,
                 point_cloud_range: Optional[Sequence[float]] = None,
                 bev_h: Optional[int] = None,
                 bev_w: Optional[int] = None,
                 map_classes: Optional[Sequence[str]] = None,
                 history_frames: int = 5,
                 draw_cameras: bool = True,
                 channel_order: str = 'bgr',
                 camera_boxes: str = 'pred'):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}.')
        if channel_order not in ('bgr', 'rgb'):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}.")
        if camera_boxes not in ('pred', 'gt'):
            raise ValueError(f"camera_boxes must be 'pred' or 'gt', got {camera_boxes!r}.")
        self.out_dir = out_dir
        self.score_thr = score_thr
        self.interval = interval
        self.point_cloud_range = point_cloud_range
        self.bev_h = bev_h
        self.bev_w = bev_w
        self.map_classes = map_classes
        self.history_frames = history_frames
        self.draw_cameras = draw_cameras
        self.channel_order = channel_order
        self.camera_boxes = camera_boxes
        self.renderer: Optional[SampleRenderer] = None
        self.num_saved = 0
        self.scene_names: dict = {}

    def _build_renderer(self, runner) -> SampleRenderer:
        cfg = getattr(runner, 'cfg', None) or {}
        pc_range = self.point_cloud_range or cfg.get('point_cloud_range')
        if pc_range is None:
            raise ValueError(
                'BEVVisualizationHook has no point_cloud_range. Set it in the '
                'hook or as a top-level key of the config.')
        map_classes = self.map_classes or cfg.get('map_classes') or DEFAULT_MAP_CLASSES
        return SampleRenderer(
            pc_range,
            bev_h=self.bev_h or cfg.get('bev_h'),
            bev_w=self.bev_w or cfg.get('bev_w'),
            map_classes=map_classes,
            score_thr=self.score_thr,
            history_frames=self.history_frames,
            draw_cameras=self.draw_cameras,
            camera_source=self.camera_boxes)

    def before_test(self, runner) -> None:
        self.renderer = self._build_renderer(runner)
        self.num_saved = 0
        self.scene_names = self._scene_names(runner)

    @staticmethod
    def _scene_names(runner) -> dict:
        """Map sample token -> scene name, because the metainfo has only the scene token."""
        loader = getattr(runner, 'test_dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is None or not hasattr(dataset, 'get_data_info'):
            return {}
        names = {}
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            if info.get('token') and info.get('scene_name'):
                names[info['token']] = info['scene_name']
        return names

    def after_test(self, runner) -> None:
        print_log(f'BEVVisualizationHook saved {self.num_saved} pictures to '
                  f'{self.out_dir}', logger='current')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        """Render and save a picture for every sample of the batch."""
        if batch_idx % self.interval != 0 or not outputs:
            return
        if self.renderer is None:
            self.renderer = self._build_renderer(runner)
        data_batch = data_batch or {}
        gt_frames = [_current_frame(s) for s in data_batch.get('data_samples') or []]
        gt_by_token = {
            f.metainfo.get('token'): (index, f)
            for index, f in enumerate(gt_frames) if f is not None
        }
        batch_imgs = (data_batch.get('inputs') or {}).get('img')

        for out_index, pred in enumerate(_flatten(outputs)):
            token = pred.metainfo.get('token')
            if token is not None and token in gt_by_token:
                batch_index, gt = gt_by_token[token]
            elif out_index < len(gt_frames):
                batch_index, gt = out_index, gt_frames[out_index]
            else:
                batch_index, gt = None, None
            images = self._images(batch_imgs, batch_index, pred.metainfo)
            picture = self.renderer.render([pred], gt, images=images)
            metainfo = dict(pred.metainfo)
            if token in self.scene_names:
                metainfo['scene_name'] = self.scene_names[token]
            stem = frame_file_stem(metainfo, batch_idx * 1000 + out_index)
            save_png(picture, osp.join(self.out_dir, f'{stem}.png'))
            self.num_saved += 1

    def _images(self, batch_imgs, batch_index: Optional[int], metainfo: dict):
        if not self.draw_cameras:
            return None
        if batch_imgs is not None and batch_index is not None and batch_index < len(batch_imgs):
            return images_from_tensor(batch_imgs[batch_index], self.channel_order)
        paths = metainfo.get('img_path')
        if paths:
            return images_from_paths(paths, metainfo.get('img_shape'))
        return None
