"""Tests of AttentionPoolReducer and SurrogateNetwork."""
import pytest
import torch

from nexusflow.flows import AttentionPoolReducer, SurrogateNetwork
from nexusflow.flows.surrogate import count_parameters


@pytest.mark.parametrize('shape', [(2, 16), (2, 5, 16), (2, 16, 3, 4)])
def test_reducer_accepts_each_input_kind(shape):
    reducer = AttentionPoolReducer(16, 6, num_queries=3)
    out = reducer(torch.randn(*shape))
    assert out.shape == (2, 6)
    assert torch.isfinite(out).all()


def test_reducer_map_equals_token_set():
    torch.manual_seed(0)
    reducer = AttentionPoolReducer(8, 4, num_queries=2)
    feature_map = torch.randn(2, 8, 3, 5)
    tokens = feature_map.flatten(2).transpose(1, 2)
    assert torch.allclose(reducer(feature_map), reducer(tokens), atol=1e-6)


def test_reducer_ignores_padding():
    torch.manual_seed(1)
    reducer = AttentionPoolReducer(8, 4, num_queries=2)
    queries = torch.randn(2, 6, 8)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[:, 4:] = True
    changed = queries.clone()
    changed[:, 4:] = torch.randn(2, 2, 8) * 100
    assert torch.allclose(
        reducer(queries, mask), reducer(changed, mask), atol=1e-6)
    assert torch.allclose(
        reducer(queries, mask), reducer(queries[:, :4]), atol=1e-6)


def test_reducer_all_padding_is_finite():
    reducer = AttentionPoolReducer(8, 4)
    queries = torch.randn(2, 3, 8, requires_grad=True)
    mask = torch.tensor([[True, True, True], [False, True, True]])
    out = reducer(queries, mask)
    # The fully padded sample pools to zeros, so only the bias remains.
    assert torch.allclose(out[0], reducer.proj.bias)
    out.sum().backward()
    assert torch.isfinite(queries.grad).all()


def test_reducer_rejects_bad_inputs():
    reducer = AttentionPoolReducer(8, 4)
    with pytest.raises(ValueError, match='8 channels'):
        reducer(torch.randn(2, 5, 7))
    with pytest.raises(ValueError, match='does not match'):
        reducer(torch.randn(2, 5, 8), torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='bool'):
        reducer(torch.randn(2, 5, 8), torch.zeros(2, 5))
    with pytest.raises(ValueError, match='feature map'):
        reducer(torch.randn(1, 2, 8, 3, 3))


@pytest.mark.parametrize('reduced_dim,hidden_dim,num_couplings',
                         [(64, 128, 2), (16, 32, 4), (32, 64, 1)])
def test_mlp_control_matches_flow_size(reduced_dim, hidden_dim,
                                       num_couplings):
    kwargs = dict(
        reduced_dim=reduced_dim,
        hidden_dim=hidden_dim,
        num_couplings=num_couplings)
    flow = SurrogateNetwork(32, surrogate_type='flow', **kwargs)
    mlp = SurrogateNetwork(32, surrogate_type='mlp', **kwargs)
    flow_params = count_parameters(flow)
    mlp_params = count_parameters(mlp)
    assert abs(mlp_params - flow_params) / flow_params < 0.10
    transform_ratio = (
        count_parameters(mlp.transform) / count_parameters(flow.transform))
    assert 0.9 < transform_ratio < 1.1


def test_mlp_control_outputs_and_no_inverse():
    mlp = SurrogateNetwork(8, reduced_dim=4, surrogate_type='mlp')
    out = mlp(torch.randn(3, 8))
    assert out.z.shape == (3, 4)
    assert out.logdet is None
    assert out.mean_abs_scale is None
    with pytest.raises(TypeError, match='no inverse'):
        mlp.inverse(out.z)


def test_surrogate_flow_inverts_reduced_vector():
    torch.manual_seed(2)
    surrogate = SurrogateNetwork(8, reduced_dim=6, hidden_dim=16)
    x = torch.randn(4, 5, 8)
    out = surrogate(x)
    reduced = surrogate.reducer(x)
    assert torch.allclose(surrogate.inverse(out.z), reduced, atol=1e-5)
    assert out.logdet.shape == (4, )


def test_surrogate_odd_reduced_dim_raises():
    with pytest.raises(ValueError, match='even'):
        SurrogateNetwork(8, reduced_dim=5)


def test_surrogate_unknown_type_raises():
    with pytest.raises(ValueError, match='surrogate_type'):
        SurrogateNetwork(8, surrogate_type='resnet')
