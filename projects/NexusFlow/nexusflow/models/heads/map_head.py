"""Dense map head: multi-label BEV masks of the map classes."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet3d.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..utils.task_mask import graph_zero


@MODELS.register_module()
class MapHead(BaseModule):
    """Predict one sigmoid mask per map class on the BEV grid.

    A small conv decoder turns the BEV into a latent map (the NexusFlow tap)
    and a 1x1 conv gives per-class logits, resized to the ground-truth
    raster when that differs from the BEV size.

    Args:
        in_channels (int): BEV channels.
        latent_channels (int): Channels of the latent map. Defaults to 128.
        num_convs (int): 3x3 conv + BN + ReLU blocks. Defaults to 2.
        map_classes (Sequence[str]): Map classes, in ground-truth order.
        out_size (tuple[int, int], optional): (H, W) of predicted masks when
            no ground truth gives the size. Defaults to None (BEV size).
        mask_thresh (float): Sigmoid threshold of ``pred_map_masks``.
            Defaults to 0.5.
        loss_ce (dict): Pixel-wise loss config (sigmoid cross-entropy).
        loss_dice (dict, optional): Per-class dice loss config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 latent_channels: int = 128,
                 num_convs: int = 2,
                 map_classes: Sequence[str] = ('divider', 'ped_crossing',
                                               'contour', 'drivable'),
                 out_size: Optional[Tuple[int, int]] = None,
                 mask_thresh: float = 0.5,
                 loss_ce: dict = dict(
                     type='mmdet.CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
                 loss_dice: Optional[dict] = dict(
                     type='mmdet.DiceLoss',
                     use_sigmoid=True,
                     activate=True,
                     loss_weight=1.0),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_convs < 1:
            raise ValueError(f'num_convs must be >= 1, got {num_convs}')
        self.map_classes = tuple(map_classes)
        self.num_classes = len(self.map_classes)
        self.out_size = tuple(out_size) if out_size is not None else None
        self.mask_thresh = mask_thresh
        layers = []
        channels = in_channels
        for _ in range(num_convs):
            layers += [
                nn.Conv2d(channels, latent_channels, 3, padding=1,
                          bias=False),
                nn.BatchNorm2d(latent_channels),
                nn.ReLU(inplace=True)
            ]
            channels = latent_channels
        self.decoder = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(latent_channels, self.num_classes, 1)
        self.loss_ce = MODELS.build(loss_ce)
        self.loss_dice = MODELS.build(loss_dice) if loss_dice else None

    def forward(self, bev: Tensor) -> Tuple[Tensor, Tensor]:
        """Return class logits (B, C_map, H, W) and the latent
        (B, latent_channels, H, W) from the BEV (B, C, H, W)."""
        latent = self.decoder(bev)
        return self.classifier(latent), latent

    @staticmethod
    def _resize(logits: Tensor, size: Tuple[int, int]) -> Tensor:
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(
            logits, size=size, mode='bilinear', align_corners=False)

    def loss(self, bev: Tensor, data_samples: Sequence,
             sample_weight: Tensor) -> Tuple[dict, Tensor]:
        """Compute the map losses of the labelled samples.

        Each loss is averaged over the samples with non-zero
        ``sample_weight`` only; with none labelled it is an exact zero that
        stays in the graph.

        Args:
            bev (Tensor): (B, C, H, W) BEV of the frame with map labels.
            data_samples (Sequence[Det3DDataSample]): B samples; labelled
                ones carry ``gt_map_masks`` (C_map, H_gt, W_gt).
            sample_weight (Tensor): (B,) 1 for map-labelled samples, else 0.

        Returns:
            tuple[dict, Tensor]: ``loss_map_ce`` (and ``loss_map_dice``), and
            the latent map (B, latent_channels, H, W).
        """
        logits, latent = self(bev)
        weights = sample_weight.to(logits.device).float()
        labelled = torch.nonzero(weights > 0).flatten().tolist()
        if not labelled:
            zero = graph_zero(logits)
            losses = dict(loss_map_ce=zero)
            if self.loss_dice is not None:
                losses['loss_map_dice'] = zero
            return losses, latent

        gts = []
        for b in labelled:
            sample = data_samples[b]
            if 'gt_map_masks' not in sample:
                raise KeyError(
                    f"sample {sample.metainfo.get('token')} is map-labelled "
                    "in task_mask but has no 'gt_map_masks'")
            gt = sample.gt_map_masks
            gt = torch.as_tensor(gt, device=logits.device)
            if gt.shape[0] != self.num_classes:
                raise ValueError(
                    f'gt_map_masks has {gt.shape[0]} classes, the map head '
                    f'expects {self.num_classes} ({self.map_classes})')
            gts.append(gt.float())
        sizes = {tuple(gt.shape[-2:]) for gt in gts}
        if len(sizes) != 1:
            raise ValueError(f'gt_map_masks sizes differ in a batch: {sizes}')
        target = torch.stack(gts)
        index = torch.tensor(labelled, device=logits.device)
        pred = self._resize(logits[index].float(), sizes.pop())
        weight = weights[index]

        pixel_weight = weight.view(-1, 1, 1, 1).expand_as(pred)
        losses = dict(
            loss_map_ce=self.loss_ce(
                pred,
                target,
                weight=pixel_weight,
                avg_factor=float(weight.sum()) * pred[0].numel()))
        if self.loss_dice is not None:
            class_weight = weight[:, None].expand(-1, self.num_classes)
            losses['loss_map_dice'] = self.loss_dice(
                pred.flatten(0, 1),
                target.flatten(0, 1),
                weight=class_weight.flatten(),
                avg_factor=float(class_weight.sum()))
        return losses, latent

    def predict(self, bev: Tensor, data_samples: Sequence) -> List[Tensor]:
        """Predict bool masks (C_map, H_out, W_out) per sample.

        The output size is the sample's ``gt_map_masks`` size when present,
        else ``out_size``, else the BEV size.
        """
        logits, _ = self(bev)
        masks = []
        for b, sample in enumerate(data_samples):
            if sample is not None and 'gt_map_masks' in sample:
                size = tuple(sample.gt_map_masks.shape[-2:])
            elif self.out_size is not None:
                size = self.out_size
            else:
                size = tuple(logits.shape[-2:])
            prob = self._resize(logits[b:b + 1].float(), size).sigmoid()[0]
            masks.append(prob >= self.mask_thresh)
        return masks
