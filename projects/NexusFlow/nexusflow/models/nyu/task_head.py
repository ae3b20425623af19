"""Dense prediction head of one NYUv2 task with a latent tap for NexusFlow."""
from typing import Optional, Tuple

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmdet3d.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class NYUTaskHead(BaseModule):
    """3x3 conv-BN-ReLU layers into a latent map, then a 1x1 prediction conv.

    The output of the last hidden layer is the task's latent feature map
    that NexusFlow aligns across tasks.

    Args:
        in_channels (int): Channels of the shared feature map.
        out_channels (int): Predicted channels (13 class scores, 1 depth or
            3 normal components).
        latent_channels (int): Channels of the latent map. Defaults to 64.
        num_convs (int): Hidden conv layers, at least 1. Defaults to 1.
        dilation (int): Dilation of the hidden convs, for context on a
            stride-8 DeepLab feature map. Defaults to 1.
        norm_cfg (dict): Normalization layer config. Defaults to BN.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 latent_channels: int = 64,
                 num_convs: int = 1,
                 dilation: int = 1,
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_convs < 1:
            raise ValueError(
                f'NYUTaskHead needs num_convs >= 1 to form a latent map, got '
                f'{num_convs}.')
        self.latent_channels = latent_channels
        self.convs = nn.Sequential(*[
            ConvModule(
                in_channels if k == 0 else latent_channels,
                latent_channels,
                3,
                padding=dilation,
                dilation=dilation,
                norm_cfg=norm_cfg) for k in range(num_convs)
        ])
        self.predict_conv = nn.Conv2d(latent_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Predict a task's raw output.

        Args:
            x (Tensor): Shared features, (B, in_channels, h, w).

        Returns:
            tuple[Tensor, Tensor]: Raw prediction (B, out_channels, h, w)
            and latent map (B, latent_channels, h, w).
        """
        latent = self.convs(x)
        return self.predict_conv(latent), latent
