"""Loading, augmentation and packing transforms for NYUv2 samples."""
from typing import Dict

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement, PixelData
from mmdet3d.registry import TRANSFORMS

# Channels each array must have after adding a trailing axis to 2-D arrays.
_FIELD_CHANNELS = dict(image=3, label=1, depth=1, normal=3)


@TRANSFORMS.register_module()
class LoadNYUv2Arrays(BaseTransform):
    """Load the four .npy arrays of a sample and check their shapes.

    Adds ``img`` float32 (H, W, 3), ``gt_seg`` int64 (H, W), ``gt_depth``
    float32 (H, W, 1) and ``gt_normal`` float32 (H, W, 3) to the results,
    plus ``img_shape`` and ``ori_shape`` (H, W).
    """

    def transform(self, results: Dict) -> Dict:
        arrays = {}
        for field, channels in _FIELD_CHANNELS.items():
            path = results[f'{field}_path']
            array = np.load(path)
            if array.ndim == 2:
                array = array[..., None]
            if array.ndim != 3 or array.shape[2] != channels:
                raise ValueError(
                    f'{path} has shape {array.shape}, expected (H, W, '
                    f'{channels})' + (' or (H, W)' if channels == 1 else ''))
            arrays[field] = (array, path)
        height, width = arrays['image'][0].shape[:2]
        for field, (array, path) in arrays.items():
            if array.shape[:2] != (height, width):
                raise ValueError(
                    f'{path} has spatial size {array.shape[:2]}, but the '
                    f'image {results["image_path"]} is {(height, width)}.')
        results['img'] = arrays['image'][0].astype(np.float32)
        results['gt_seg'] = np.rint(arrays['label'][0][..., 0]).astype(
            np.int64)
        results['gt_depth'] = arrays['depth'][0].astype(np.float32)
        results['gt_normal'] = arrays['normal'][0].astype(np.float32)
        results['img_shape'] = (height, width)
        results['ori_shape'] = (height, width)
        return results


@TRANSFORMS.register_module()
class NYUv2RandomFlip(BaseTransform):
    """Flip image and targets horizontally with probability ``prob``.

    A horizontal flip mirrors the scene, so the x component of every normal
    changes sign; depth and labels only move.

    Args:
        prob (float): Flip probability. Defaults to 0.5.
        normal_x_channel (int): Channel of the normal that points along the
            image x axis. Defaults to 0 (camera frame x right, y down, z
            forward, as the toy data writes it).

    NOTE: The axis order of the normals in the MTAN/MTPSL release was not
    checked here. Confirm that channel 0 is the image x axis before using
    this flip on real NYUv2. No shipped config uses it.
    """

    def __init__(self, prob: float = 0.5, normal_x_channel: int = 0):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}.')
        self.prob = prob
        self.normal_x_channel = normal_x_channel

    def transform(self, results: Dict) -> Dict:
        flip = bool(np.random.rand() < self.prob)
        results['flip'] = flip
        if not flip:
            return results
        for key in ('img', 'gt_seg', 'gt_depth', 'gt_normal'):
            results[key] = np.ascontiguousarray(results[key][:, ::-1])
        results['gt_normal'][..., self.normal_x_channel] *= -1.0
        return results


@TRANSFORMS.register_module()
class PackNYUv2Inputs(BaseTransform):
    """Pack a sample into ``inputs`` (3, H, W) and a data element.

    The data element carries ``gt_seg`` (PixelData ``data`` int64
    (1, H, W)), ``gt_depth`` (float32 (1, H, W)), ``gt_normal`` (float32
    (3, H, W)) and the metainfo ``sample_idx``, ``task_mask``,
    ``img_shape``, ``ori_shape``, ``image_path`` and ``flip``.
    """

    META_KEYS = ('sample_idx', 'task_mask', 'img_shape', 'ori_shape',
                 'image_path', 'flip')

    def transform(self, results: Dict) -> Dict:
        image = torch.from_numpy(
            np.ascontiguousarray(results['img'].transpose(2, 0, 1)))
        sample = BaseDataElement(metainfo={
            key: results[key]
            for key in self.META_KEYS if key in results
        })
        sample.gt_seg = PixelData(
            data=torch.from_numpy(results['gt_seg'][None].copy()))
        sample.gt_depth = PixelData(data=torch.from_numpy(
            results['gt_depth'].transpose(2, 0, 1).copy()))
        sample.gt_normal = PixelData(data=torch.from_numpy(
            results['gt_normal'].transpose(2, 0, 1).copy()))
        return dict(inputs=image, data_samples=sample)
