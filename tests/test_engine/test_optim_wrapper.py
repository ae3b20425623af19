import pytest
import torch

from nexusflow.engine import AutocastOptimWrapper


def test_forward_runs_in_bfloat16_inside_context():
    model = torch.nn.Linear(4, 3)
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16
    assert model(torch.randn(2, 4)).dtype == torch.float32


def test_update_params_changes_weights():
    model = torch.nn.Linear(4, 1)
    before = model.weight.detach().clone()
    wrapper = AutocastOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        loss = model(torch.ones(2, 4)).float().sum()
    wrapper.update_params(loss)
    assert not torch.equal(before, model.weight.detach())
    assert model.weight.dtype == torch.float32


def test_unknown_dtype_is_rejected():
    model = torch.nn.Linear(4, 1)
    with pytest.raises(ValueError, match='float8'):
        AutocastOptimWrapper(dtype='float8', optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
