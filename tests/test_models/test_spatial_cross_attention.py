"""Spatial cross-attention: per-camera gathering and averaging."""
import torch

from nexusflow.models.bev_encoder.spatial_cross_attention import (
    SpatialCrossAttention, pillar_points, project_to_cameras)


def _inputs(num_cams=3, num_query=7, channels=16, heights=2):
    gen = torch.Generator().manual_seed(0)
    shapes = torch.tensor([[6, 8]])
    start = torch.zeros(1, dtype=torch.long)
    value = torch.randn(1, num_cams, 48, channels, generator=gen)
    query = torch.randn(1, num_query, channels, generator=gen)
    ref = torch.rand(1, num_cams, num_query, heights, 2, generator=gen)
    return query, value, shapes, start, ref


def test_average_over_seeing_cameras():
    torch.manual_seed(0)
    attn = SpatialCrossAttention(16, 2, 1, 2, 2, dropout=0.0)
    # A non-zero projection, so the check is not trivially zero.
    torch.nn.init.normal_(attn.output_proj.weight)
    query, value, shapes, start, ref = _inputs()
    mask = torch.zeros(1, 3, 7, 2, dtype=torch.bool)
    mask[0, 0, 0] = True       # query 0: camera 0 only
    mask[0, 1, 1, 1] = True    # query 1: cameras 1 and 2
    mask[0, 2, 1, 0] = True
    mask[0, 2, 2] = True       # query 2: camera 2 only; others unseen
    out = attn(query, value, shapes, start, ref, mask)

    def single(cam, q):
        one = torch.zeros(1, 1, 7, 2, dtype=torch.bool)
        one[0, 0, q] = True
        return attn(query, value[:, cam:cam + 1], shapes, start,
                    ref[:, cam:cam + 1], one)[0, q]

    bias = attn.output_proj.bias
    assert torch.allclose(out[0, 0], single(0, 0), atol=1e-5)
    assert torch.allclose(out[0, 2], single(2, 2), atol=1e-5)
    # Output projection is linear, so the mean of the two cameras'
    # projections equals the projection of their mean.
    expected = (single(1, 1) + single(2, 1)) / 2
    assert torch.allclose(out[0, 1], expected, atol=1e-5)
    for q in range(3, 7):
        assert torch.allclose(out[0, q], bias, atol=1e-6)


def test_projection_of_point_ahead():
    lidar2img = torch.eye(4)
    # Camera looking along +x: u = -y / x, v = -z / x, principal point 50.
    lidar2img[:3, :3] = torch.tensor([[50.0, -100.0, 0.0],
                                      [50.0, 0.0, -100.0],
                                      [1.0, 0.0, 0.0]])
    points = torch.tensor([[[10.0, 0.0, 0.0]], [[-10.0, 0.0, 0.0]],
                           [[10.0, 20.0, 0.0]]])
    pixels, valid = project_to_cameras(points, lidar2img[None, None],
                                       (100, 100))
    assert valid[0, 0, :, 0].tolist() == [True, False, False]
    assert torch.allclose(pixels[0, 0, 0, 0], torch.tensor([0.5, 0.5]))


def test_pillar_points_follow_grid_convention():
    points = pillar_points(2, 4, 2, [-4, -2, -1, 4, 2, 3], 'cpu')
    assert points.shape == (8, 2, 3)
    # Row-major: index 1 is row 0, column 1 -> x = -4 + 1.5 * 2, y = -1.
    assert points[1, 0].tolist() == [-1.0, -1.0, 0.0]
    assert points[4, 1].tolist() == [-3.0, 1.0, 2.0]
