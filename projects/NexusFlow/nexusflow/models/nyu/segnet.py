"""SegNet-style encoder-decoder that returns a full-resolution feature map."""
from typing import List, Optional, Sequence, Tuple

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmdet3d.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class SegNetEncoderDecoder(BaseModule):
    """Encoder of conv stages with max pooling, decoder with max unpooling.

    Stage i of the encoder applies ``num_convs[i]`` 3x3 conv-BN-ReLU layers
    with ``channels[i]`` outputs and a 2x2 max pool whose indices the
    matching decoder stage uses to unpool, as in SegNet. Unpooling restores
    the exact pre-pool size, so inputs need not be divisible by
    ``2 ** len(channels)``.

    Args:
        in_channels (int): Input image channels. Defaults to 3.
        channels (Sequence[int]): Output channels of each encoder stage.
            Defaults to (64, 128, 256, 512, 512).
        num_convs (Sequence[int]): Conv layers per stage, same length as
            ``channels``. Defaults to (2, 2, 3, 3, 3).
        norm_cfg (dict): Normalization layer config. Defaults to BN.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_channels: int = 3,
                 channels: Sequence[int] = (64, 128, 256, 512, 512),
                 num_convs: Sequence[int] = (2, 2, 3, 3, 3),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if len(channels) != len(num_convs) or len(channels) == 0:
            raise ValueError(
                'SegNetEncoderDecoder needs one num_convs entry per stage, '
                f'got channels={tuple(channels)} and '
                f'num_convs={tuple(num_convs)}.')
        self.out_channels = channels[0]
        self.encoder = nn.ModuleList()
        prev = in_channels
        for out, count in zip(channels, num_convs):
            self.encoder.append(self._conv_stack(prev, out, count, norm_cfg))
            prev = out
        # Decoder stage i maps channels[i] back to channels[i - 1] (the last
        # one keeps channels[0]), mirroring the encoder.
        self.decoder = nn.ModuleList()
        for i in reversed(range(len(channels))):
            out = channels[max(i - 1, 0)]
            self.decoder.append(
                self._conv_stack(channels[i], out, num_convs[i], norm_cfg))
        self.pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2, stride=2)

    @staticmethod
    def _conv_stack(in_channels: int, out_channels: int, count: int,
                    norm_cfg: dict) -> nn.Sequential:
        layers = []
        for k in range(count):
            layers.append(
                ConvModule(
                    in_channels if k == 0 else out_channels,
                    out_channels,
                    3,
                    padding=1,
                    norm_cfg=norm_cfg))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Encode and decode an image batch.

        Args:
            x (Tensor): Images, (B, in_channels, H, W).

        Returns:
            tuple[Tensor]: One feature map, (B, channels[0], H, W).
        """
        indices: List[Tensor] = []
        sizes: List[Tuple[int, int]] = []
        for stage in self.encoder:
            x = stage(x)
            sizes.append(x.shape[-2:])
            x, idx = self.pool(x)
            indices.append(idx)
        for stage in self.decoder:
            x = self.unpool(x, indices.pop(), output_size=sizes.pop())
            x = stage(x)
        return (x, )
