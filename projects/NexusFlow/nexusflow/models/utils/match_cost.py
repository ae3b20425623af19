"""Box L1 match cost for Hungarian matching of encoded 3D boxes."""
from typing import Optional, Sequence

import torch
from mmdet3d.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor


@TASK_UTILS.register_module()
class EncodedBox3DL1Cost:
    """Weighted L1 distance between encoded boxes.

    mmdet3d 1.4 registers no 3D box L1 cost, so this one compares the
    ``bboxes`` fields of predictions and ground truth, both already encoded
    by :class:`BoxCoder` (shape (K, 10)).

    Args:
        weight (float): Scale of the cost. Defaults to 1.0.
        code_weights (Sequence[float], optional): Per-dimension weights of
            the encoded box. Defaults to None (all ones).
    """

    def __init__(self,
                 weight: float = 1.0,
                 code_weights: Optional[Sequence[float]] = None) -> None:
        self.weight = weight
        self.code_weights = code_weights

    def __call__(self,
                 pred_instances: InstanceData,
                 gt_instances: InstanceData,
                 img_meta: Optional[dict] = None,
                 **kwargs) -> Tensor:
        """Return the (num_preds, num_gts) cost matrix."""
        pred = pred_instances.bboxes.float()
        gt = gt_instances.bboxes.float()
        if self.code_weights is not None:
            scale = pred.new_tensor(self.code_weights)
            pred = pred * scale
            gt = gt * scale
        return torch.cdist(pred, gt, p=1) * self.weight
