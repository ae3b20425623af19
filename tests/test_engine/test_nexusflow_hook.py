"""Tests of NexusFlowHook, its schedule and apply_nexusflow_hook."""
from types import SimpleNamespace

import pytest
import torch
from mmdet3d.registry import DATASETS, HOOKS, MODELS
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import nexusflow  # noqa: F401
from nexusflow.engine import (NexusFlowHook, align_weight_at,
                              apply_nexusflow_hook)
from nexusflow.flows import NexusFlow

FLOW_CFG = dict(
    type='NexusFlow',
    tasks=('map', 'track'),
    in_channels=4,
    reduced_dim=4,
    hidden_dim=8,
    num_pool_queries=1)


def test_schedule_zero_before_start():
    for iteration in range(5):
        assert align_weight_at(iteration, 2.0, start_iter=5,
                               warmup_iters=4) == 0.0


def test_schedule_linear_warmup():
    weights = [
        align_weight_at(i, 2.0, start_iter=5, warmup_iters=4)
        for i in range(5, 12)
    ]
    assert weights == pytest.approx([0.5, 1.0, 1.5, 2.0, 2.0, 2.0, 2.0])


def test_schedule_without_warmup():
    assert align_weight_at(2, 0.3, start_iter=3) == 0.0
    assert align_weight_at(3, 0.3, start_iter=3) == pytest.approx(0.3)
    assert align_weight_at(0, 0.3) == pytest.approx(0.3)


def test_hook_start_from_epoch():
    hook = NexusFlowHook(lambda_align=1.0, begin_epoch=2, warmup_iters=10)
    assert hook.start_iter(iters_per_epoch=50) == 100
    assert hook.weight_at(99, iters_per_epoch=50) == 0.0
    assert hook.weight_at(104, iters_per_epoch=50) == pytest.approx(0.5)
    assert hook.weight_at(500, iters_per_epoch=50) == pytest.approx(1.0)


def test_hook_rejects_bad_arguments():
    with pytest.raises(ValueError, match='not both'):
        NexusFlowHook(begin_iter=10, begin_epoch=1)
    with pytest.raises(ValueError, match='warmup_iters'):
        NexusFlowHook(warmup_iters=-1)
    with pytest.raises(ValueError, match='lambda_align'):
        NexusFlowHook(lambda_align=-0.5)


class ModelWithFlow(nn.Module):

    def __init__(self, with_flow=True):
        super().__init__()
        self.nexusflow = MODELS.build(FLOW_CFG) if with_flow else None


def make_fake_runner(model, iteration=0, epoch=0, iters_per_epoch=10):
    return SimpleNamespace(
        model=model,
        iter=iteration,
        epoch=epoch,
        train_dataloader=[None] * iters_per_epoch,
        message_hub=MessageHub.get_instance('test_nexusflow_hook'))


def test_hook_sets_weight_on_model():
    model = ModelWithFlow()
    hook = NexusFlowHook(lambda_align=0.8, begin_iter=3, warmup_iters=2)
    runner = make_fake_runner(model)
    hook.before_run(runner)
    hook.before_train(runner)

    expected = [0.0, 0.0, 0.0, 0.4, 0.8, 0.8]
    for iteration, weight in enumerate(expected):
        runner.iter = iteration
        hook.before_train_iter(runner, batch_idx=iteration)
        assert model.nexusflow.align_weight == pytest.approx(weight)
        logged = runner.message_hub.get_scalar('train/lambda_align')
        assert logged.current() == pytest.approx(weight)


def test_hook_unwraps_data_parallel():
    model = ModelWithFlow()
    wrapped = nn.DataParallel(model)
    hook = NexusFlowHook(lambda_align=0.5)
    runner = make_fake_runner(wrapped, iteration=7)
    hook.before_run(runner)
    hook.before_train_iter(runner, batch_idx=0)
    assert model.nexusflow.align_weight == pytest.approx(0.5)


def test_hook_requires_nexusflow_module():
    hook = NexusFlowHook()
    runner = make_fake_runner(ModelWithFlow(with_flow=False))
    with pytest.raises(RuntimeError, match='tools/train.py'):
        hook.before_run(runner)


def test_apply_moves_flow_into_model():
    cfg = Config(
        dict(
            model=dict(type='ToyModel'),
            custom_hooks=[
                dict(type='EMAHook'),
                dict(type='NexusFlowHook', lambda_align=0.1, flow=FLOW_CFG)
            ]))
    apply_nexusflow_hook(cfg)
    assert cfg.model.nexusflow.type == 'NexusFlow'
    assert cfg.model.nexusflow.reduced_dim == 4
    assert cfg.model.type == 'ToyModel'
    # Applying twice is a no-op.
    apply_nexusflow_hook(cfg)
    assert cfg.model.nexusflow.hidden_dim == 8


def test_apply_accepts_scoped_type():
    cfg = Config(
        dict(
            model=dict(type='ToyModel'),
            custom_hooks=[
                dict(type='mmdet3d.NexusFlowHook', flow=dict(FLOW_CFG))
            ]))
    apply_nexusflow_hook(cfg)
    assert cfg.model.nexusflow.tasks == ('map', 'track')


def test_apply_leaves_config_without_hook():
    cfg = Config(
        dict(model=dict(type='ToyModel'), custom_hooks=[dict(type='EMAHook')]))
    before = cfg.to_dict()
    apply_nexusflow_hook(cfg)
    assert cfg.to_dict() == before
    assert 'nexusflow' not in cfg.model

    bare = Config(dict(model=dict(type='ToyModel')))
    apply_nexusflow_hook(bare)
    assert 'nexusflow' not in bare.model


def test_apply_rejects_conflicts():
    other = dict(FLOW_CFG, reduced_dim=16)
    cfg = Config(
        dict(
            model=dict(type='ToyModel', nexusflow=other),
            custom_hooks=[dict(type='NexusFlowHook', flow=FLOW_CFG)]))
    with pytest.raises(ValueError, match='differs'):
        apply_nexusflow_hook(cfg)

    two_hooks = Config(
        dict(
            model=dict(type='ToyModel'),
            custom_hooks=[
                dict(type='NexusFlowHook', flow=FLOW_CFG),
                dict(type='NexusFlowHook', flow=FLOW_CFG)
            ]))
    with pytest.raises(ValueError, match='at most one'):
        apply_nexusflow_hook(two_hooks)

    no_flow = Config(
        dict(
            model=dict(type='ToyModel'),
            custom_hooks=[dict(type='NexusFlowHook')]))
    with pytest.raises(ValueError, match='flow='):
        apply_nexusflow_hook(no_flow)


class ToyDataset(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return dict(inputs=torch.full((4, ), float(index)))


class ToyFlowModel(BaseModel):
    """Two-task toy model whose loss is its NexusFlow alignment loss."""

    def __init__(self, nexusflow=None):
        super().__init__()
        self.map_head = nn.Linear(4, 4)
        self.track_head = nn.Linear(4, 4)
        self.nexusflow = MODELS.build(nexusflow) if nexusflow else None
        self.weights_seen = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        latents = dict(map=self.map_head(inputs), track=self.track_head(inputs))
        losses = dict(loss_task=latents['map'].pow(2).mean())
        if self.nexusflow is not None:
            self.weights_seen.append(self.nexusflow.align_weight)
            losses.update(self.nexusflow.loss(latents))
        return losses


def test_hook_in_runner(tmp_path):
    MODELS.register_module(
        name='ToyFlowModelForHookTest', module=ToyFlowModel, force=True)
    DATASETS.register_module(
        name='ToyDatasetForHookTest', module=ToyDataset, force=True)
    cfg = Config(
        dict(
            model=dict(type='ToyFlowModelForHookTest'),
            work_dir=str(tmp_path),
            train_dataloader=dict(
                dataset=dict(type='ToyDatasetForHookTest'),
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=2,
                num_workers=0),
            train_cfg=dict(by_epoch=True, max_epochs=3),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            custom_hooks=[
                dict(
                    type='NexusFlowHook',
                    lambda_align=1.0,
                    begin_epoch=1,
                    warmup_iters=2,
                    flow=FLOW_CFG)
            ],
            default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
            default_scope='mmdet3d',
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            log_level='WARNING'))
    apply_nexusflow_hook(cfg)
    runner = Runner.from_cfg(cfg)
    assert isinstance(runner.model.nexusflow, NexusFlow)
    coupling_weight = runner.model.nexusflow.surrogates['map'].transform \
        .couplings[0].net[0].weight.detach().clone()

    runner.train()
    flow_params = {id(p) for p in runner.model.nexusflow.parameters()}
    optim_params = {
        id(p)
        for group in runner.optim_wrapper.optimizer.param_groups
        for p in group['params']
    }
    assert flow_params <= optim_params
    trained_weight = runner.model.nexusflow.surrogates['map'].transform \
        .couplings[0].net[0].weight
    assert not torch.equal(trained_weight, coupling_weight)
    # Two iterations per epoch: epoch 0 is off, then a 2-iteration warm-up.
    assert runner.model.weights_seen == pytest.approx(
        [0.0, 0.0, 0.5, 1.0, 1.0, 1.0])
    assert HOOKS.get('NexusFlowHook') is NexusFlowHook
