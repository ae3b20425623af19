"""Start distributed training on machines without CUDA.

mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device`` and its
default DDP wrapper passes ``device_ids=[LOCAL_RANK]``; both fail on a CPU-only
torch. :func:`setup_distributed` starts the process group itself (gloo on CPU,
nccl on GPU) before the Runner exists, so the Runner finds it initialised and
skips its own launcher, and it configures the DDP wrapper with
``device_ids=None`` on CPU.
"""
import os
from datetime import timedelta

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Initialise the process group for ``launcher`` and adapt ``cfg`` to it.

    On CUDA machines this changes nothing and mmengine's own launcher starts
    the group during Runner set-up. On CPU it starts a gloo
    process group from the ``torchrun`` environment (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``) and sets ``cfg.model_wrapper_cfg`` so that
    DDP gets ``device_ids=None``. ``slurm`` and ``mpi`` launchers are passed
    to mmengine unchanged.

    Args:
        cfg (Config): The full config. ``cfg.launcher``, ``cfg.env_cfg`` and
            ``cfg.model_wrapper_cfg`` may be changed in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Raises:
        ValueError: If ``launcher`` is ``'pytorch'`` but the ``torchrun``
            environment variables are missing.
    """
    cfg.launcher = launcher
    if launcher != 'pytorch' or dist.is_initialized():
        return
    missing = [key for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT', 'LOCAL_RANK')
               if key not in os.environ]
    if missing:
        raise ValueError(f'--launcher pytorch needs the torchrun environment variables {missing}; '
                         'start the script with tools/dist_train.sh or torchrun.')
    if torch.cuda.is_available():
        # mmengine's own launcher handles CUDA correctly; nothing to change.
        return

    dist_cfg = cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    timeout_s = int(dist_cfg.get('timeout', 1800))
    dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout_s))
    dist_cfg['backend'] = 'gloo'
    wrapper_cfg = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper_cfg['device_ids'] = None
    wrapper_cfg.setdefault('broadcast_buffers', False)
    wrapper_cfg.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper_cfg
    print_log(f'Started a gloo process group on CPU: rank {dist.get_rank()} of {dist.get_world_size()}',
              logger='current')


def teardown_distributed() -> None:
    """Destroy the default process group if one was started."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
