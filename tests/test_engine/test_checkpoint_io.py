import os

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

from nexusflow.engine import AtomicLocalBackend


def _checkpoint_with_pickled_objects():
    hub = MessageHub.get_instance('test_checkpoint_io')
    hub.update_scalar('train/loss', 1.5)
    return dict(meta=dict(epoch=3, seed=np.int64(7), hook_msgs=dict(last_ckpt='x')),
                state_dict=dict(weight=torch.arange(6, dtype=torch.float32)),
                message_hub=hub.state_dict())


def test_plain_torch_load_rejects_mmengine_checkpoint(tmp_path):
    # The failure this module works around: torch >= 2.6 loads weights only.
    path = tmp_path / 'ckpt.pth'
    torch.save(_checkpoint_with_pickled_objects(), path)
    with pytest.raises(Exception):
        torch.load(path)


def test_checkpoint_loader_reads_full_checkpoint(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint(_checkpoint_with_pickled_objects(), path,
                    backend_args=dict(backend='atomic_local'))
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['epoch'] == 3
    assert int(loaded['meta']['seed']) == 7
    assert torch.equal(loaded['state_dict']['weight'], torch.arange(6, dtype=torch.float32))


def test_checkpoint_loader_missing_file_names_path(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        CheckpointLoader.load_checkpoint(missing)


def test_atomic_backend_selected_by_name(tmp_path):
    backend = get_file_backend(str(tmp_path / 'a.pth'), backend_args=dict(backend='atomic_local'))
    assert isinstance(backend, AtomicLocalBackend)


def test_atomic_put_keeps_old_file_when_write_fails(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    backend = AtomicLocalBackend()
    backend.put(b'old contents', path)

    def failing_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'replace', failing_replace)
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'new contents that never land', path)
    assert path.read_bytes() == b'old contents'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth']


def test_non_checkpoint_file_error_names_file(tmp_path):
    path = tmp_path / 'notes.md'
    path.write_text('# not a checkpoint\n')
    with pytest.raises(ValueError, match='notes.md'):
        CheckpointLoader.load_checkpoint(str(path))


def test_atomic_put_gives_umask_permissions(tmp_path):
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / 'ckpt.pth'
        AtomicLocalBackend().put(b'data', path)
        assert (path.stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old_umask)
