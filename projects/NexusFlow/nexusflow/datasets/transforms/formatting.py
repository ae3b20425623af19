"""Packing one frame into the ``inputs`` / ``Det3DDataSample`` pair the model reads."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS
from mmdet3d.structures import Det3DDataSample
from mmengine.structures import InstanceData

DEFAULT_META_KEYS = ('token', 'sample_idx', 'scene_token', 'frame_idx', 'city',
                     'task_mask', 'timestamp', 'lidar2img', 'cam2img',
                     'lidar2cam', 'cam2ego', 'lidar2ego', 'ego2global',
                     'can_bus', 'img_shape', 'ori_shape', 'pad_shape',
                     'scale_factor', 'box_type_3d', 'cam_names')
MATRIX_KEYS = ('lidar2img', 'cam2img', 'lidar2cam', 'cam2ego', 'lidar2ego',
               'ego2global', 'can_bus')


@TRANSFORMS.register_module()
class PackNexusFlowInputs(BaseTransform):
    """Pack one frame: images to a tensor, labels and metainfo to a data sample.

    Output: ``dict(inputs=dict(img=uint8 Tensor (N_cam, 3, H, W), BGR),
    data_samples=Det3DDataSample)``. The data sample contains the metainfo keys
    found in the results (matrices as float64 arrays: ``lidar2img``,
    ``cam2img``, ``lidar2cam``, ``cam2ego`` (N_cam, 4, 4); ``lidar2ego``,
    ``ego2global`` (4, 4); ``can_bus`` (18,)), ``gt_instances_3d``
    (``bboxes_3d``, ``labels_3d`` long, ``track_ids`` long) when boxes were
    loaded, and ``gt_map_masks`` (uint8 Tensor (C_map, bev_h, bev_w)) when
    the map was rasterized. Normalisation is left to the model's data
    preprocessor.

    Args:
        meta_keys (Sequence[str]): Result keys copied into the metainfo.
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        imgs = np.stack(results['img'])  # (N_cam, H, W, 3)
        img = torch.from_numpy(np.ascontiguousarray(imgs.transpose(0, 3, 1, 2)))

        if 'pad_shape' not in results:
            results['pad_shape'] = results['img_shape']
        metainfo = {}
        for key in self.meta_keys:
            if key not in results:
                continue
            value = results[key]
            if key in MATRIX_KEYS:
                value = np.asarray(value, dtype=np.float64)
            metainfo[key] = value

        data_sample = Det3DDataSample(metainfo=metainfo)
        if 'gt_bboxes_3d' in results:
            instances = InstanceData()
            instances.bboxes_3d = results['gt_bboxes_3d']
            instances.labels_3d = torch.as_tensor(results['gt_labels_3d'], dtype=torch.long)
            instances.track_ids = torch.as_tensor(results['gt_track_ids'], dtype=torch.long)
            data_sample.gt_instances_3d = instances
        if 'gt_map_masks' in results:
            data_sample.gt_map_masks = torch.from_numpy(
                np.ascontiguousarray(results['gt_map_masks'], dtype=np.uint8))
        return dict(inputs=dict(img=img), data_samples=data_sample)
