import math

import torch

from nexusflow.models.nyu import (masked_depth_loss, masked_normal_loss,
                                  masked_seg_loss)


def test_seg_loss_skips_unlabelled_sample():
    # Sample 0: pixel 0 label 0, pixel 1 ignored. Sample 1 is unlabelled.
    logits = torch.tensor([[[[2.0, 5.0]], [[0.0, -5.0]]],
                           [[[9.0, 9.0]], [[-9.0, -9.0]]]])
    labels = torch.tensor([[[0, -1]], [[1, 1]]])
    loss = masked_seg_loss(logits, labels, torch.tensor([True, False]))
    expected = -math.log(math.exp(2.0) / (math.exp(2.0) + 1.0))
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_depth_loss_averages_per_sample():
    # Sample 0: one valid pixel with error 4. Sample 1: three valid pixels
    # with errors 1, 2, 3 and one invalid. Each sample counts once.
    pred = torch.tensor([[[[5.0, 9.0, 9.0, 9.0]]], [[[2.0, 4.0, 6.0, 7.0]]]])
    target = torch.tensor([[[[1.0, 0.0, 0.0, 0.0]]],
                           [[[1.0, 2.0, 3.0, 0.0]]]])
    loss = masked_depth_loss(pred, target, torch.tensor([True, True]))
    assert math.isclose(loss.item(), (4.0 + 2.0) / 2, rel_tol=1e-6)


def test_depth_loss_respects_sample_mask():
    pred = torch.tensor([[[[5.0]]], [[[2.0]]]])
    target = torch.tensor([[[[1.0]]], [[[1.0]]]])
    loss = masked_depth_loss(pred, target, torch.tensor([False, True]))
    assert math.isclose(loss.item(), 1.0, rel_tol=1e-6)


def test_normal_loss_one_minus_cosine():
    # Pixel angles 0 and 90 degrees, a third pixel has no normal.
    pred = torch.tensor([[[[1.0, 1.0, 0.3]], [[0.0, 0.0, 0.3]],
                          [[0.0, 0.0, 0.3]]]])
    target = torch.tensor([[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]],
                            [[0.0, 0.0, 0.0]]]])
    loss = masked_normal_loss(pred, target, torch.tensor([True]))
    assert math.isclose(loss.item(), (0.0 + 1.0) / 2, abs_tol=1e-6)


def test_no_labelled_sample_gives_zero():
    pred = torch.randn(2, 3, 4, 4, requires_grad=True)
    target = torch.nn.functional.normalize(torch.randn(2, 3, 4, 4), dim=1)
    loss = masked_normal_loss(pred, target, torch.tensor([False, False]))
    assert loss.item() == 0.0
    assert loss.requires_grad
    loss.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))


def test_unlabelled_nonfinite_pred_ignored():
    pred = torch.tensor([[[[float('inf')]]], [[[3.0]]]], requires_grad=True)
    target = torch.tensor([[[[1.0]]], [[[1.0]]]])
    loss = masked_depth_loss(pred, target, torch.tensor([False, True]))
    assert math.isclose(loss.item(), 2.0, rel_tol=1e-6)
    loss.backward()
    assert pred.grad[0].item() == 0.0
    assert pred.grad[1].item() == 1.0


def test_labelled_sample_without_valid_pixels():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    labels = torch.full((1, 2, 2), -1)
    loss = masked_seg_loss(logits, labels, torch.tensor([True]))
    assert loss.item() == 0.0
    assert not torch.isnan(loss)
