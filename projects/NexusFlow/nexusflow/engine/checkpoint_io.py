"""Checkpoint reading and writing that works with mmengine 0.10.7 on torch >= 2.6.

Two problems are fixed here through mmengine's own registries, without editing
mmengine:

* torch 2.6 changed the default of ``torch.load`` to ``weights_only=True``.
  mmengine 0.10.7 calls ``torch.load`` without that argument, and its
  checkpoints hold the message hub and numpy scalars, so ``load_from`` and
  ``--resume`` fail. :func:`load_local_checkpoint` replaces the loader for
  local paths (prefix ``''``) in ``CheckpointLoader`` and passes
  ``weights_only=False``. Only load checkpoints that you trust: unpickling can
  run code.
* mmengine writes a checkpoint straight into its final path, so a job killed
  while saving leaves a truncated file that ``--resume`` then picks up.
  :class:`AtomicLocalBackend` (backend name ``'atomic_local'``) writes to a
  temporary file in the same folder and renames it into place. The runtime
  configs select it with ``CheckpointHook(backend_args=dict(backend='atomic_local'))``.
"""
import os
import os.path as osp
import pickle
import tempfile
from pathlib import Path
from typing import Optional, Union

import torch
from mmengine.fileio import LocalBackend, register_backend
from mmengine.runner.checkpoint import CheckpointLoader


def load_local_checkpoint(filename: str, map_location: Optional[Union[str, torch.device]] = None) -> dict:
    """Load a checkpoint from a local path with ``weights_only=False``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | torch.device, optional): Same as in
            :func:`torch.load`. Defaults to None.

    Returns:
        dict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If ``filename`` is not a file.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    try:
        return torch.load(filename, map_location=map_location, weights_only=False)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as error:
        raise ValueError(f'Could not read the checkpoint {filename}: {error}. Expected a file '
                         f'written by torch.save, such as work_dirs/<config>/iter_N.pth.') from error


# mmengine logs the loader's name without its first 10 characters ("load_from_").
load_local_checkpoint.__name__ = 'load_from_local_full_pickle'
CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


@register_backend('atomic_local', force=True)
class AtomicLocalBackend(LocalBackend):
    """Local file backend whose ``put`` never leaves a half-written file."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write ``obj`` to ``filepath`` through a temporary file and a rename.

        Args:
            obj (bytes): Data to write.
            filepath (str | Path): Final path. Its folder is created if missing.
        """
        folder = osp.dirname(osp.abspath(filepath))
        os.makedirs(folder, exist_ok=True)
        fd, tmp_path = tempfile.mkstemp(prefix='.tmp_', dir=folder)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            # mkstemp creates the file readable by its owner only; give it the
            # permissions a plain open() would, so teammates can read checkpoints.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
            os.replace(tmp_path, filepath)
        except BaseException:
            if osp.exists(tmp_path):
                os.remove(tmp_path)
            raise
