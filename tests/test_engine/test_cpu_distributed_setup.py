import socket

import pytest
import torch.distributed as dist
from mmengine.config import Config

from nexusflow.engine import setup_distributed, teardown_distributed


@pytest.fixture
def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_pytorch_launcher_without_torchrun_env_is_an_error(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    cfg = Config(dict(model=dict(type='X')))
    with pytest.raises(ValueError, match='MASTER_PORT'):
        setup_distributed(cfg, 'pytorch')


def test_launcher_none_changes_nothing():
    cfg = Config(dict(model=dict(type='X')))
    setup_distributed(cfg, 'none')
    assert cfg.launcher == 'none'
    assert 'model_wrapper_cfg' not in cfg
    assert not dist.is_initialized()


def test_cpu_gloo_group_and_ddp_without_device_ids(monkeypatch, free_port):
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setenv('WORLD_SIZE', '1')
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port))
    cfg = Config(dict(model=dict(type='X'), env_cfg=dict(dist_cfg=dict(backend='nccl', timeout=60))))
    try:
        setup_distributed(cfg, 'pytorch')
        assert dist.is_initialized()
        assert dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg['device_ids'] is None
        assert cfg.model_wrapper_cfg['type'] == 'MMDistributedDataParallel'
    finally:
        teardown_distributed()
    assert not dist.is_initialized()
