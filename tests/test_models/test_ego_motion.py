"""Warping of the previous BEV by ego motion."""
import math

import torch

from nexusflow.models.bev_encoder.ego_motion import align_prev_bev

PC_RANGE = [-10.0, -10.0, -5.0, 10.0, 10.0, 3.0]  # 1 m cells on 20 x 20


def _pose(x, y, yaw):
    pose = torch.eye(4)
    pose[0, 0], pose[0, 1] = math.cos(yaw), -math.sin(yaw)
    pose[1, 0], pose[1, 1] = math.sin(yaw), math.cos(yaw)
    pose[0, 3], pose[1, 3] = x, y
    return pose[None]


def _cell_of(x, y):
    """Row and column of the cell containing (x, y) on the 20 x 20 grid."""
    return int(y + 10), int(x + 10)


def test_forward_motion_shifts_blob_back():
    prev = torch.zeros(1, 1, 20, 20)
    row, col = _cell_of(5.5, 2.5)
    prev[0, 0, row, col] = 1.0
    # Ego drives 2 m forward along x: a static point at x = 5.5 in the
    # previous frame sits at x = 3.5 now.
    warped = align_prev_bev(prev, _pose(0, 0, 0), _pose(2, 0, 0), PC_RANGE)
    expected = _cell_of(3.5, 2.5)
    assert warped[0, 0].argmax().item() == expected[0] * 20 + expected[1]
    assert warped[0, 0, expected[0], expected[1]].item() == \
        torch.tensor(1.0).item()
    assert warped.sum().item() == 1.0


def test_rotation_moves_blob_to_rotated_cell():
    prev = torch.zeros(1, 1, 20, 20)
    row, col = _cell_of(4.5, 0.5)
    prev[0, 0, row, col] = 1.0
    # The ego turns left by 90 degrees: a point ahead (x = 4.5, y = 0.5)
    # is now on the right, at x = 0.5, y = -4.5.
    warped = align_prev_bev(prev, _pose(0, 0, 0), _pose(0, 0, math.pi / 2),
                            PC_RANGE)
    expected = _cell_of(0.5, -4.5)
    assert warped[0, 0, expected[0], expected[1]].item() > 0.99
    assert warped.sum().item() > 0.99


def test_cells_from_outside_are_zero():
    prev = torch.ones(1, 2, 20, 20)
    warped = align_prev_bev(prev, _pose(0, 0, 0), _pose(5, 0, 0), PC_RANGE)
    # The last 5 columns (x > 5 m) were not seen in the previous frame.
    assert warped[..., 15:].abs().max().item() == 0.0
    assert torch.allclose(warped[..., :14], torch.ones(1, 2, 20, 14))


def test_identity_pose_keeps_bev():
    prev = torch.randn(2, 3, 20, 20)
    pose = _pose(3, -4, 0.3).expand(2, -1, -1)
    warped = align_prev_bev(prev, pose, pose, PC_RANGE)
    assert torch.allclose(warped, prev, atol=1e-5)
