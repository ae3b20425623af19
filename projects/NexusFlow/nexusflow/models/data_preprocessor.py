"""Data preprocessor for multi-frame, multi-camera clips."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmengine.model import BaseDataPreprocessor
from torch import Tensor


@MODELS.register_module()
class ClipDataPreprocessor(BaseDataPreprocessor):
    """Stack, normalize and pad camera clips.

    Takes ``data['inputs']['img']`` as a list of per-sample tensors
    (T, N_cam, 3, H, W) (uint8 or float) or an already stacked
    (B, T, N_cam, 3, H, W) tensor and returns a float tensor
    (B, T, N_cam, 3, H_pad, W_pad). ``data['data_samples']`` stays a list
    (one per sample) of lists (one Det3DDataSample per frame, oldest first);
    each frame's metainfo gets ``pad_shape`` and ``batch_input_shape``.

    Args:
        mean (Sequence[float]): Per-channel mean, in the channel order after
            the optional BGR to RGB swap. Defaults to ImageNet's RGB mean in
            0-255 units.
        std (Sequence[float]): Per-channel std, same units.
        bgr_to_rgb (bool): Swap channels 0 and 2 before normalizing, for
            images loaded as BGR. Defaults to False.
        pad_size_divisor (int): Pad H and W up to a multiple of this (pixels)
            with ``pad_value``. Defaults to 32.
        pad_value (float): Value of padded pixels after normalization.
            Defaults to 0.
        non_blocking (bool): Copy to the device without blocking.
            Defaults to False.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 bgr_to_rgb: bool = False,
                 pad_size_divisor: int = 32,
                 pad_value: float = 0.0,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std need 3 values (one per image '
                             f'channel), got mean={mean}, std={std}')
        if any(s <= 0 for s in std):
            raise ValueError(f'std values must be positive, got {std}')
        if pad_size_divisor < 1:
            raise ValueError('pad_size_divisor must be >= 1, got '
                             f'{pad_size_divisor}')
        self.register_buffer('mean',
                             torch.tensor(mean).view(3, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(3, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value

    def _stack(self, imgs: Union[Tensor, List[Tensor]]) -> Tensor:
        if isinstance(imgs, Tensor):
            if imgs.dim() == 5:
                imgs = imgs[None]
            if imgs.dim() != 6:
                raise ValueError('inputs img must be (B, T, N_cam, 3, H, W) '
                                 f'or a list of (T, N_cam, 3, H, W), got '
                                 f'shape {tuple(imgs.shape)}')
            return imgs
        shapes = {tuple(img.shape) for img in imgs}
        if len(shapes) != 1:
            raise ValueError('all samples of a batch need the same '
                             f'(T, N_cam, 3, H, W), got {sorted(shapes)}')
        shape = shapes.pop()
        if len(shape) != 5 or shape[2] != 3:
            raise ValueError('each inputs img must be (T, N_cam, 3, H, W), '
                             f'got {shape}')
        return torch.stack(list(imgs))

    def forward(self, data: dict, training: bool = False) -> dict:
        """Cast, stack, normalize and pad a batch.

        Args:
            data (dict): ``inputs`` (dict with ``img``) and ``data_samples``.
            training (bool): Unused. Defaults to False.

        Returns:
            dict: ``inputs=dict(img=(B, T, N_cam, 3, H_pad, W_pad))`` and
            ``data_samples`` (list of lists of Det3DDataSample).
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if 'img' not in inputs:
            raise KeyError("ClipDataPreprocessor expects data['inputs'] to "
                           f"have key 'img', got keys {list(inputs)}")
        imgs = self._stack(inputs['img']).float()
        if self.bgr_to_rgb:
            imgs = imgs[..., [2, 1, 0], :, :]
        imgs = (imgs - self.mean) / self.std

        height, width = imgs.shape[-2:]
        divisor = self.pad_size_divisor
        pad_h = (divisor - height % divisor) % divisor
        pad_w = (divisor - width % divisor) % divisor
        if pad_h or pad_w:
            imgs = F.pad(imgs, (0, pad_w, 0, pad_h), value=self.pad_value)
        pad_shape = (height + pad_h, width + pad_w)

        data_samples: Optional[list] = data.get('data_samples')
        if data_samples is not None:
            for clip in data_samples:
                frames = clip if isinstance(clip, (list, tuple)) else [clip]
                for frame in frames:
                    frame.set_metainfo(
                        dict(pad_shape=pad_shape,
                             batch_input_shape=pad_shape))
        new_inputs = dict(inputs)
        new_inputs['img'] = imgs
        return dict(inputs=new_inputs, data_samples=data_samples)
