"""Tests of ActNorm, AffineCoupling and InvertibleFlow."""
import pytest
import torch
from torch.autograd.functional import jacobian

from nexusflow.flows import ActNorm, AffineCoupling, InvertibleFlow


@pytest.mark.parametrize('permutation', ['alternate', 'random'])
@pytest.mark.parametrize('num_couplings', [1, 2, 4])
@pytest.mark.parametrize('batch,dim', [(1, 2), (7, 6), (16, 64)])
def test_flow_inverse_round_trip(permutation, num_couplings, batch, dim):
    torch.manual_seed(num_couplings * 100 + dim)
    flow = InvertibleFlow(
        dim, num_couplings, hidden_dim=32, permutation=permutation)
    for coupling in flow.couplings:
        # Larger last-layer weights than the near-identity default, so the
        # round trip exercises scales and shifts far from 0.
        torch.nn.init.normal_(coupling.net[-1].weight, std=0.5)
    x = torch.randn(batch, dim)
    flow.train()
    z, logdet = flow(x)
    assert z.shape == (batch, dim)
    assert logdet.shape == (batch, )
    assert not torch.allclose(z, x, atol=1e-2)

    x_back = flow.inverse(z)
    assert torch.allclose(x_back, x, atol=1e-5, rtol=0)


def test_flow_round_trip_from_random_code():
    torch.manual_seed(0)
    flow = InvertibleFlow(8, 3, hidden_dim=16).eval()
    z = torch.randn(5, 8)
    z_again, _ = flow(flow.inverse(z))
    assert torch.allclose(z_again, z, atol=1e-5, rtol=0)


@pytest.mark.parametrize('permutation', ['alternate', 'random'])
def test_flow_logdet_matches_jacobian(permutation):
    torch.manual_seed(1)
    dim = 6
    flow = InvertibleFlow(
        dim, 3, hidden_dim=16, permutation=permutation).double()
    for coupling in flow.couplings:
        torch.nn.init.normal_(coupling.net[-1].weight, std=0.5)
    # Initialize ActNorm from a batch, then freeze it for the Jacobian.
    flow.train()
    flow(torch.randn(32, dim, dtype=torch.float64) * 3 + 1)
    flow.eval()

    x = torch.randn(4, dim, dtype=torch.float64)
    _, logdet = flow(x)
    for i in range(x.shape[0]):
        jac = jacobian(lambda row: flow(row[None])[0][0], x[i])
        expected = torch.linalg.slogdet(jac).logabsdet
        assert abs(logdet[i].item() - expected.item()) < 1e-8


def test_coupling_logdet_is_sum_of_scales():
    torch.manual_seed(2)
    coupling = AffineCoupling(4, 8, scale_bound=1.5)
    torch.nn.init.normal_(coupling.net[-1].weight, std=2.0)
    x = torch.randn(10, 4)
    z, logdet, log_scale = coupling.encode(x)
    assert torch.allclose(logdet, log_scale.sum(dim=1))
    assert log_scale.abs().max() < 1.5
    # The conditioning half passes unchanged.
    assert torch.equal(z[:, :2], x[:, :2])


def test_coupling_condition_on_second_half():
    coupling = AffineCoupling(4, 8, condition_on_second=True)
    x = torch.randn(3, 4)
    z, _ = coupling(x)
    assert torch.equal(z[:, 2:], x[:, 2:])
    assert torch.allclose(coupling.inverse(z), x, atol=1e-6)


def test_actnorm_data_init_standardizes():
    torch.manual_seed(3)
    norm = ActNorm(5)
    x = torch.randn(200, 5) * torch.tensor([1., 2., 3., 4., 5.]) + 7.0
    z, logdet = norm(x)
    assert torch.allclose(z.mean(dim=0), torch.zeros(5), atol=1e-4)
    assert torch.allclose(z.std(dim=0, unbiased=False), torch.ones(5),
                          atol=1e-4)
    assert torch.allclose(logdet, norm.log_scale.sum().expand(200))
    assert bool(norm.initialized)

    # The second batch must not re-initialize.
    bias = norm.bias.detach().clone()
    norm(torch.randn(10, 5))
    assert torch.equal(norm.bias.detach(), bias)


def test_actnorm_single_sample_sets_bias_only():
    norm = ActNorm(3)
    x = torch.tensor([[1.0, -2.0, 5.0]])
    z, _ = norm(x)
    assert torch.allclose(z, torch.zeros(1, 3))
    assert torch.equal(norm.log_scale.detach(), torch.zeros(3))


def test_flow_large_inputs_stay_finite():
    torch.manual_seed(4)
    flow = InvertibleFlow(8, 2, hidden_dim=16, use_actnorm=False)
    x = torch.randn(4, 8) * 1e4
    z, logdet = flow(x)
    assert torch.isfinite(z).all()
    assert torch.isfinite(logdet).all()


@pytest.mark.parametrize('dim', [1, 5, 63])
def test_odd_dim_raises(dim):
    with pytest.raises(ValueError, match='even'):
        AffineCoupling(dim, 8)
    with pytest.raises(ValueError, match='even'):
        InvertibleFlow(dim)


def test_invalid_permutation_raises():
    with pytest.raises(ValueError, match='permutation'):
        InvertibleFlow(4, permutation='shuffle')


def test_random_permutation_is_seeded():
    flow_a = InvertibleFlow(16, 2, permutation='random', seed=5)
    flow_b = InvertibleFlow(16, 2, permutation='random', seed=5)
    assert torch.equal(flow_a.order_0, flow_b.order_0)
    assert not torch.equal(flow_a.order_0, torch.arange(16))
    assert torch.equal(flow_a.order_0[flow_a.inverse_order_0],
                       torch.arange(16))
