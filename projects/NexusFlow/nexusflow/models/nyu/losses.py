"""Per-sample masked losses of the three NYUv2 tasks.

Every loss first averages over a sample's valid pixels, then over the samples
that are labelled for the task (``sample_mask``) and have at least one valid
pixel. So each labelled image weighs the same, whatever its number of valid
pixels. With no such sample the loss is an exact zero that stays connected to
the prediction, so backward still runs and no NaN appears.
"""
import torch
import torch.nn.functional as F
from torch import Tensor


def average_over_labelled(per_pixel: Tensor, valid: Tensor,
                          sample_mask: Tensor, pred: Tensor) -> Tensor:
    """Average a per-pixel loss per sample, then over labelled samples.

    Args:
        per_pixel (Tensor): Loss per pixel, (B, H, W).
        valid (Tensor): Bool, (B, H, W): pixels with a valid target.
        sample_mask (Tensor): Bool, (B,): samples labelled for the task.
        pred (Tensor): The prediction, used for the zero when no sample
            counts.

    Returns:
        Tensor: Scalar loss.
    """
    valid = valid & sample_mask.view(-1, 1, 1)
    counts = valid.flatten(1).sum(dim=1)
    # torch.where keeps non-finite values of unlabelled pixels out of the sum.
    sums = torch.where(valid, per_pixel, per_pixel.new_zeros(())).flatten(
        1).sum(dim=1)
    used = counts > 0
    if not bool(used.any()):
        return pred.sum() * 0.0
    return (sums[used] / counts[used]).mean()


def masked_seg_loss(logits: Tensor,
                    labels: Tensor,
                    sample_mask: Tensor,
                    ignore_index: int = -1) -> Tensor:
    """Cross-entropy on labelled samples, skipping ``ignore_index`` pixels.

    Args:
        logits (Tensor): Class scores, (B, K, H, W).
        labels (Tensor): Class indices, long (B, H, W).
        sample_mask (Tensor): Bool (B,).
        ignore_index (int): Label of unlabelled pixels. Defaults to -1.

    Returns:
        Tensor: Scalar loss.
    """
    per_pixel = F.cross_entropy(
        logits, labels, ignore_index=ignore_index, reduction='none')
    return average_over_labelled(per_pixel, labels != ignore_index,
                                 sample_mask, logits)


def masked_depth_loss(pred: Tensor, target: Tensor,
                      sample_mask: Tensor) -> Tensor:
    """L1 depth error in metres over pixels with ``target > 0``.

    Args:
        pred (Tensor): Predicted depth, (B, 1, H, W).
        target (Tensor): Depth, (B, 1, H, W), 0 where invalid.
        sample_mask (Tensor): Bool (B,).

    Returns:
        Tensor: Scalar loss.
    """
    per_pixel = (pred - target).abs()[:, 0]
    return average_over_labelled(per_pixel, target[:, 0] > 0, sample_mask,
                                 pred)


def masked_normal_loss(pred: Tensor, target: Tensor,
                       sample_mask: Tensor) -> Tensor:
    """``1 - cos`` between normals over pixels with a nonzero target.

    Args:
        pred (Tensor): Predicted normals, (B, 3, H, W); need not be unit.
        target (Tensor): Unit normals, (B, 3, H, W), all-zero where invalid.
        sample_mask (Tensor): Bool (B,).

    Returns:
        Tensor: Scalar loss.
    """
    per_pixel = 1.0 - F.cosine_similarity(pred, target, dim=1)
    valid = target.abs().sum(dim=1) > 0
    return average_over_labelled(per_pixel, valid, sample_mask, pred)
