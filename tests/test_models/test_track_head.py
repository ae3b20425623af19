"""Targets, identity binding and carry-over of the track head."""
import pytest
import torch
from mmdet3d.registry import MODELS
from mmdet3d.structures import Det3DDataSample, LiDARInstance3DBoxes
from mmengine.structures import InstanceData

from model_helpers import small_model_cfg
from nexusflow.models.tracking.track_state import TrackState
from nexusflow.models.utils.box_coder import BoxCoder


def _head():
    torch.manual_seed(0)
    return MODELS.build(small_model_cfg().track_head).eval()


def _frame(track_ids, labels):
    boxes = torch.zeros(len(track_ids), 9)
    boxes[:, 0] = torch.arange(len(track_ids)).float() * 3 - 5
    boxes[:, 3:6] = 2.0
    gt = InstanceData()
    gt.bboxes_3d = LiDARInstance3DBoxes(boxes, box_dim=9)
    gt.labels_3d = torch.tensor(labels)
    gt.track_ids = torch.tensor(track_ids)
    frame = Det3DDataSample()
    frame.gt_instances_3d = gt
    return frame


def _state(head, ids):
    state = head.empty_state(torch.device('cpu'))
    num = len(ids)
    return TrackState(
        content=torch.randn(num, head.embed_dims),
        pos=torch.randn(num, head.embed_dims),
        ref=torch.rand(num, 3),
        velocity=torch.zeros(num, 2),
        ids=torch.tensor(ids),
        bank=torch.zeros(num, head.memory_len, head.embed_dims),
        bank_valid=torch.zeros(num, head.memory_len, dtype=torch.bool))


def test_track_queries_keep_their_identity():
    head = _head()
    state = _state(head, [2, 7, 9])
    bev = torch.randn(1, head.bev_h * head.bev_w, head.embed_dims)
    outputs = head(bev, [state])
    # Ground truth lists ids 7, 3, 2; id 9 has left the scene.
    frame = _frame([7, 3, 2], [0, 1, 2])
    targets = head._frame_targets(outputs, 0, state, frame)
    labels = targets['labels']
    assert labels[0].item() == 2  # track id 2 -> gt index 2 (label 2)
    assert labels[1].item() == 0  # track id 7 -> gt index 0 (label 0)
    assert labels[2].item() == head.num_classes  # id 9 gone: background
    coder = BoxCoder(head.point_cloud_range)
    gt_codes = coder.encode(frame.gt_instances_3d.bboxes_3d.tensor)
    assert torch.allclose(targets['targets'][0], gt_codes[2])
    assert torch.allclose(targets['targets'][1], gt_codes[0])
    # Exactly one detection query takes the unclaimed ground truth (id 3).
    det_labels = labels[3:]
    assert (det_labels != head.num_classes).sum().item() == 1
    assert det_labels[det_labels != head.num_classes].item() == 1
    assert sorted(targets['keep_ids'].tolist()) == [2, 3, 7]
    assert 2 not in targets['keep_inds'].tolist()


def test_carry_builds_next_state_with_memory():
    head = _head()
    state = _state(head, [4])
    bev = torch.randn(1, head.bev_h * head.bev_w, head.embed_dims)
    outputs = head(bev, [state])
    keep = torch.tensor([0, 3])
    next_state = head.carry(state, outputs, 0, keep, torch.tensor([4, 11]))
    assert next_state.ids.tolist() == [4, 11]
    assert next_state.content.shape == (2, head.embed_dims)
    assert next_state.bank_valid[:, -1].all()
    assert not next_state.bank_valid[:, :-1].any()
    assert torch.equal(next_state.bank[0, -1], outputs['embeddings'][0, 0])
    assert torch.equal(next_state.bank[1, -1], outputs['embeddings'][0, 3])
    assert torch.allclose(next_state.ref, outputs['codes'][-1, 0, keep, :3])


def test_padding_keeps_samples_independent():
    head = _head()
    bev = torch.randn(2, head.bev_h * head.bev_w, head.embed_dims)
    states = [_state(head, [1, 2, 3]), _state(head, [])]
    both = head(bev, states)
    alone = head(bev[1:], states[1:])
    inds = head.sample_indices(both, 1)
    assert inds.numel() == head.num_query
    assert torch.allclose(both['logits'][:, 1, inds], alone['logits'][:, 0],
                          atol=1e-5)


def test_box_coder_round_trip():
    coder = BoxCoder([-25.6, -25.6, -5.0, 25.6, 25.6, 3.0])
    boxes = torch.tensor([[3.0, -4.0, -1.5, 4.2, 1.9, 1.6, 2.5, 1.0, -0.5],
                          [-20.0, 10.0, 0.0, 0.6, 0.7, 1.8, -3.0, 0.0, 0.0]])
    codes = coder.encode(boxes)
    assert codes.shape == (2, 10)
    assert torch.allclose(codes[0, 0], torch.tensor((3.0 + 25.6) / 51.2))
    assert torch.allclose(coder.decode(codes), boxes, atol=1e-5)


def test_loss_space_measures_centres_in_metres():
    coder = BoxCoder([-25.6, -25.6, -5.0, 25.6, 25.6, 3.0])
    box = torch.tensor([[3.0, -4.0, -1.5, 4.2, 1.9, 1.6, 2.5, 1.0, -0.5]])
    moved = box.clone()
    moved[0, 0] += 2.0  # 2 m along x
    moved[0, 2] += 0.5  # 0.5 m up
    gap = (coder.to_loss_space(coder.encode(moved)) -
           coder.to_loss_space(coder.encode(box)))[0]
    assert torch.allclose(gap[0], torch.tensor(2.0), atol=1e-5)
    assert torch.allclose(gap[2], torch.tensor(0.5), atol=1e-5)
    # Sizes, yaw and velocity are compared as encoded.
    assert torch.count_nonzero(gap[3:]) == 0


def _grid_head(num_query):
    cfg = small_model_cfg().track_head
    cfg.update(num_query=num_query, query_init='grid')
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def test_grid_queries_start_on_bev_cell_centres():
    head = _grid_head(4)
    assert head.ref_proj is None
    expected = torch.tensor([[0.25, 0.25, 0.5], [0.75, 0.25, 0.5],
                             [0.25, 0.75, 0.5], [0.75, 0.75, 0.5]])
    assert torch.allclose(head.grid_ref, expected)
    # The fixed grid is not a parameter, and the head still decodes.
    names = [name for name, _ in head.named_parameters()]
    assert not any('grid_ref' in name for name in names)
    bev = torch.randn(1, head.bev_h * head.bev_w, head.embed_dims)
    outputs = head(bev, [head.empty_state(torch.device('cpu'))])
    assert outputs['codes'].shape[2] == 4


def test_grid_queries_need_a_square_count():
    with pytest.raises(ValueError, match='square num_query'):
        _grid_head(5)


def test_unknown_query_init_is_rejected():
    cfg = small_model_cfg().track_head
    cfg.update(query_init='random')
    with pytest.raises(ValueError, match="'random'"):
        MODELS.build(cfg)
