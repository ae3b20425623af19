"""Loading transforms: multi-view camera images and tracked 3D box annotations."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS
from mmengine.fileio import get

from ..converters.camera_boxes import pad_intrinsics

CAMERAS = ('CAM_FRONT', 'CAM_FRONT_RIGHT', 'CAM_FRONT_LEFT', 'CAM_BACK',
           'CAM_BACK_LEFT', 'CAM_BACK_RIGHT')


@TRANSFORMS.register_module()
class LoadMultiViewImages(BaseTransform):
    """Load the camera images of a keyframe and their calibration.

    Required keys: ``images`` (per camera ``img_path``, ``cam2img``,
    ``lidar2cam``, and ``cam2ego`` when present).

    Added keys: ``img`` (list of N_cam (H, W, 3) uint8 arrays, BGR),
    ``img_shape`` and ``ori_shape`` ((H, W)), ``cam2img``, ``lidar2cam``,
    ``lidar2img`` and ``cam2ego`` ((N_cam, 4, 4) float64; ``lidar2img =
    cam2img @ lidar2cam``), ``cam_names``.

    Args:
        camera_order (Sequence[str]): Cameras to load, in output order.
            Defaults to the six nuScenes cameras.
        color_type (str): mmcv colour flag. Defaults to 'color'.
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self,
                 camera_order: Sequence[str] = CAMERAS,
                 color_type: str = 'color',
                 backend_args: Optional[dict] = None) -> None:
        self.camera_order = tuple(camera_order)
        self.color_type = color_type
        self.backend_args = backend_args

    def _read(self, path: str) -> np.ndarray:
        try:
            content = get(path, backend_args=self.backend_args)
        except FileNotFoundError as error:
            raise FileNotFoundError(f'Camera image not found: {path}') from error
        image = mmcv.imfrombytes(content, flag=self.color_type)
        if image is None:
            raise ValueError(f'Camera image {path} could not be decoded; the '
                             'file is corrupt or not an image.')
        return image

    def transform(self, results: dict) -> dict:
        images = results['images']
        missing = [c for c in self.camera_order if c not in images]
        if missing:
            raise KeyError(f'Sample {results.get("token", "?")} has no images '
                           f'for cameras {missing}; it has {sorted(images)}.')

        imgs, cam2img, lidar2cam, cam2ego = [], [], [], []
        for cam in self.camera_order:
            image_info = images[cam]
            imgs.append(self._read(image_info['img_path']))
            cam2img.append(pad_intrinsics(image_info['cam2img']))
            lidar2cam.append(np.asarray(image_info['lidar2cam'], dtype=np.float64))
            cam2ego.append(np.asarray(image_info.get('cam2ego', np.eye(4)),
                                      dtype=np.float64))

        shapes = {img.shape[:2] for img in imgs}
        if len(shapes) != 1:
            names = [osp.basename(images[c]['img_path']) for c in self.camera_order]
            raise ValueError(f'Camera images {names} differ in size {sorted(shapes)}; '
                             'all cameras must share one size.')

        results['img'] = imgs
        results['img_shape'] = imgs[0].shape[:2]
        results['ori_shape'] = imgs[0].shape[:2]
        results['cam_names'] = list(self.camera_order)
        results['cam2img'] = np.stack(cam2img)
        results['lidar2cam'] = np.stack(lidar2cam)
        results['lidar2img'] = results['cam2img'] @ results['lidar2cam']
        results['cam2ego'] = np.stack(cam2ego)
        return results


@TRANSFORMS.register_module()
class LoadTrackedBoxes3D(BaseTransform):
    """Copy the 3D boxes, labels and track ids from ``ann_info``.

    Added keys: ``gt_bboxes_3d`` (LiDARInstance3DBoxes, 9 dims with
    velocity), ``gt_labels_3d`` ((K,) int64, -1 for classes outside the
    config's ``class_names``), ``gt_track_ids`` ((K,) int64).
    """

    def transform(self, results: dict) -> dict:
        ann_info = results['ann_info']
        results['gt_bboxes_3d'] = ann_info['gt_bboxes_3d']
        results['gt_labels_3d'] = np.asarray(ann_info['gt_labels_3d'], dtype=np.int64)
        results['gt_track_ids'] = np.asarray(ann_info['track_ids'], dtype=np.int64)
        return results
