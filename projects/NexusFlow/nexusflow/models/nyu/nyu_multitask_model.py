"""Shared encoder with one head per NYUv2 task, trained on partial labels."""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement, PixelData
from mmdet3d.registry import MODELS
from torch import Tensor, nn

from .losses import masked_depth_loss, masked_normal_loss, masked_seg_loss

NYU_TASKS = ('seg', 'depth', 'normal')
# ImageNet mean and std for images scaled to [0, 1], as NYUv2 .npy images are.
IMAGENET_MEAN_UNIT = (0.485, 0.456, 0.406)
IMAGENET_STD_UNIT = (0.229, 0.224, 0.225)


@MODELS.register_module()
class NYUMultiTaskModel(BaseModel):
    """Multi-task dense predictor for segmentation, depth and normals.

    The backbone (a :class:`SegNetEncoderDecoder`, or mmdet's ``ResNet``
    with dilations for a DeepLab-style stride-8 map) returns a tuple of
    feature maps, and the last one feeds every task head. Predictions are
    resized bilinearly to the input size. Each task's loss only counts the
    samples whose ``task_mask`` marks the task labelled (see
    :mod:`.losses`). When ``nexusflow`` is given, the heads' latent maps go
    through it and its loss dict is added to the losses.

    Args:
        backbone (dict): Backbone config.
        heads (dict[str, dict]): Per task a head config (for example
            :class:`NYUTaskHead`) whose forward returns
            ``(prediction, latent)``. Keys must be among
            ``('seg', 'depth', 'normal')``.
        num_classes (int): Segmentation classes. Defaults to 13.
        ignore_index (int): Label of unlabelled pixels. Defaults to -1.
        loss_weights (dict[str, float], optional): Per task weight of its
            loss. Defaults to 1 for every task.
        nexusflow (dict, optional): :class:`NexusFlow` config. Its ``tasks``
            must equal the keys of ``heads``. Defaults to None.
        latent_pool_size (int | tuple[int, int], optional): If given, the
            latent maps are average pooled to this (h, w) before NexusFlow,
            which bounds its cost on full-resolution heads. Defaults to None.
        data_preprocessor (dict, optional): Defaults to mmengine's
            ``ImgDataPreprocessor`` with ImageNet mean and std for [0, 1]
            images.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 backbone: dict,
                 heads: Mapping[str, dict],
                 num_classes: int = 13,
                 ignore_index: int = -1,
                 loss_weights: Optional[Mapping[str, float]] = None,
                 nexusflow: Optional[dict] = None,
                 latent_pool_size: Optional[Union[int, Tuple[int,
                                                              int]]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='ImgDataPreprocessor',
                mean=IMAGENET_MEAN_UNIT,
                std=IMAGENET_STD_UNIT)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        unknown = [task for task in heads if task not in NYU_TASKS]
        if unknown or not heads:
            raise KeyError(f'NYUMultiTaskModel heads must be a non-empty '
                           f'subset of {NYU_TASKS}, got {list(heads)}.')
        self.tasks: Tuple[str, ...] = tuple(t for t in NYU_TASKS if t in heads)
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        loss_weights = dict(loss_weights or {})
        unknown = [task for task in loss_weights if task not in self.tasks]
        if unknown:
            raise KeyError(f'loss_weights has tasks {unknown} without a '
                           f'head; the heads are {self.tasks}.')
        self.loss_weights = {
            task: float(loss_weights.get(task, 1.0))
            for task in self.tasks
        }
        self.latent_pool_size = latent_pool_size

        self.backbone = MODELS.build(backbone)
        self.heads = nn.ModuleDict(
            {task: MODELS.build(heads[task])
             for task in self.tasks})
        self.nexusflow = None
        if nexusflow is not None:
            self.nexusflow = MODELS.build(nexusflow)
            flow_tasks = tuple(getattr(self.nexusflow, 'tasks', ()))
            if set(flow_tasks) != set(self.tasks):
                raise ValueError(
                    f'nexusflow tasks {flow_tasks} must match the heads '
                    f'{self.tasks}.')

    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Return the backbone's last feature map, (B, C, h, w)."""
        feats = self.backbone(inputs)
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        return feats

    def predict_tasks(
            self, inputs: Tensor) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Run backbone and heads.

        Args:
            inputs (Tensor): Normalized images, (B, 3, H, W).

        Returns:
            tuple[dict, dict]: Predictions at input size (``seg`` logits
            (B, K, H, W), ``depth`` (B, 1, H, W) in metres, ``normal`` unit
            vectors (B, 3, H, W)) and the heads' latent maps
            (B, C_task, h, w).
        """
        feats = self.extract_feat(inputs)
        preds, latents = {}, {}
        for task in self.tasks:
            pred, latent = self.heads[task](feats)
            if pred.shape[-2:] != inputs.shape[-2:]:
                pred = F.interpolate(
                    pred,
                    size=inputs.shape[-2:],
                    mode='bilinear',
                    align_corners=False)
            if task == 'normal':
                pred = F.normalize(pred, dim=1)
            preds[task] = pred
            latents[task] = latent
        return preds, latents

    def _task_masks(self, data_samples: Sequence[BaseDataElement],
                    device: torch.device) -> Dict[str, Tensor]:
        """Stack per-sample ``task_mask`` metainfo into (B,) bool tensors.

        A sample without ``task_mask`` counts as labelled for every task.
        """
        masks = {}
        for task in self.tasks:
            flags = []
            for sample in data_samples:
                task_mask = sample.metainfo.get('task_mask')
                flags.append(True if task_mask is None else bool(
                    task_mask[task]))
            masks[task] = torch.tensor(flags, device=device)
        return masks

    @staticmethod
    def _stack_gt(data_samples: Sequence[BaseDataElement],
                  key: str) -> Tensor:
        return torch.stack([sample.get(key).data for sample in data_samples])

    def loss(self, inputs: Tensor,
             data_samples: Sequence[BaseDataElement]) -> Dict[str, Tensor]:
        """Compute the masked task losses and, if built, NexusFlow's.

        Args:
            inputs (Tensor): Normalized images, (B, 3, H, W).
            data_samples (list[BaseDataElement]): With ``gt_seg``,
                ``gt_depth``, ``gt_normal`` and ``task_mask`` metainfo.

        Returns:
            dict[str, Tensor]: ``loss_seg``, ``loss_depth``, ``loss_normal``
            (each times its weight) and NexusFlow's outputs.
        """
        preds, latents = self.predict_tasks(inputs)
        masks = self._task_masks(data_samples, inputs.device)
        losses = {}
        if 'seg' in self.tasks:
            labels = self._stack_gt(data_samples, 'gt_seg')[:, 0].long()
            losses['loss_seg'] = masked_seg_loss(
                preds['seg'], labels, masks['seg'], self.ignore_index)
        if 'depth' in self.tasks:
            depth = self._stack_gt(data_samples, 'gt_depth')
            losses['loss_depth'] = masked_depth_loss(preds['depth'], depth,
                                                     masks['depth'])
        if 'normal' in self.tasks:
            normal = self._stack_gt(data_samples, 'gt_normal')
            losses['loss_normal'] = masked_normal_loss(
                preds['normal'], normal, masks['normal'])
        for task in self.tasks:
            losses[f'loss_{task}'] = losses[f'loss_{task}'] * \
                self.loss_weights[task]

        if self.nexusflow is not None:
            if self.latent_pool_size is not None:
                latents = {
                    task: F.adaptive_avg_pool2d(latent, self.latent_pool_size)
                    for task, latent in latents.items()
                }
            losses.update(self.nexusflow.loss(latents))
        return losses

    def predict(self, inputs: Tensor,
                data_samples: Sequence[BaseDataElement]
                ) -> List[BaseDataElement]:
        """Predict every task and attach the results to the data samples.

        Returns:
            list[BaseDataElement]: The input samples with ``pred_seg``
            (PixelData, long (1, H, W)), ``pred_depth`` (float (1, H, W),
            metres) and ``pred_normal`` (float (3, H, W), unit vectors) for
            the tasks that have heads.
        """
        preds, _ = self.predict_tasks(inputs)
        for i, sample in enumerate(data_samples):
            if 'seg' in preds:
                sample.pred_seg = PixelData(
                    data=preds['seg'][i].argmax(dim=0, keepdim=True))
            if 'depth' in preds:
                sample.pred_depth = PixelData(data=preds['depth'][i])
            if 'normal' in preds:
                sample.pred_normal = PixelData(data=preds['normal'][i])
        return list(data_samples)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor'):
        """Dispatch to :meth:`loss`, :meth:`predict` or raw predictions.

        Args:
            inputs (Tensor): Normalized images, (B, 3, H, W).
            data_samples (list[BaseDataElement], optional): Targets and
                metainfo; needed for ``'loss'`` and ``'predict'``.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'`` (returns
                the prediction dict of :meth:`predict_tasks`).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.predict_tasks(inputs)[0]
        raise ValueError(f"Invalid mode {mode!r}; expected 'loss', "
                         "'predict' or 'tensor'.")
