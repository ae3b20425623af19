"""Resizing of multi-view images with the matching camera intrinsics update."""
from typing import Optional, Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS


@TRANSFORMS.register_module()
class ResizeMultiViewImages(BaseTransform):
    """Resize every camera image and scale ``cam2img`` and ``lidar2img`` to match.

    Give exactly one of ``scale`` and ``size``.

    Required keys: ``img``, ``cam2img``, ``lidar2cam``.
    Modified keys: ``img``, ``img_shape``, ``cam2img``, ``lidar2img``.
    Added keys: ``scale_factor`` ((sx, sy)).

    Args:
        scale (float, optional): Factor applied to width and height.
        size (Sequence[int], optional): Output ``(width, height)`` in pixels.
        interpolation (str): mmcv interpolation. Defaults to 'bilinear'.
    """

    def __init__(self,
                 scale: Optional[float] = None,
                 size: Optional[Sequence[int]] = None,
                 interpolation: str = 'bilinear') -> None:
        if (scale is None) == (size is None):
            raise ValueError('ResizeMultiViewImages needs exactly one of scale '
                             f'and size; got scale={scale}, size={size}.')
        if scale is not None and scale <= 0:
            raise ValueError(f'scale must be positive; got {scale}.')
        if size is not None and (len(size) != 2 or min(size) <= 0):
            raise ValueError(f'size must be (width, height) > 0; got {size}.')
        self.scale = scale
        self.size = tuple(size) if size is not None else None
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        height, width = results['img'][0].shape[:2]
        if self.size is not None:
            new_w, new_h = self.size
        else:
            new_w = int(round(width * self.scale))
            new_h = int(round(height * self.scale))
        scale_x, scale_y = new_w / width, new_h / height

        results['img'] = [
            mmcv.imresize(img, (new_w, new_h), interpolation=self.interpolation)
            for img in results['img']
        ]
        # Pixel coordinates scale with the image, so rows 0 and 1 of the
        # intrinsics scale by the per-axis factors.
        scaling = np.diag([scale_x, scale_y, 1.0, 1.0])
        results['cam2img'] = scaling @ results['cam2img']
        results['lidar2img'] = results['cam2img'] @ results['lidar2cam']
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (scale_x, scale_y)
        return results
