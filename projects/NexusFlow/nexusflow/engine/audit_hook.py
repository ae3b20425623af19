"""A hook that records what each rank trained on, to audit partitions and DDP sync."""
import hashlib
import json
import os
import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdet3d.registry import HOOKS


def parameter_digest(model: torch.nn.Module, buffers: bool = False) -> str:
    """Return a SHA-256 digest of the parameters (or the buffers) of ``model``.

    Two models have the same digest only when all those tensors are equal bit by
    bit, names included, so it shows whether data-parallel ranks stayed in sync.
    Buffers are digested separately because BatchNorm running statistics differ
    between ranks by design when DDP does not broadcast buffers (mmengine's
    default, ``broadcast_buffers=False``).

    Args:
        model (torch.nn.Module): The model.
        buffers (bool): Digest the buffers instead of the parameters.
            Defaults to False.
    """
    tensors = model.named_buffers() if buffers else model.named_parameters()
    digest = hashlib.sha256()
    for name, tensor in sorted(tensors, key=lambda item: item[0]):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@HOOKS.register_module()
class PartitionAuditHook(Hook):
    """Write, per rank, the samples seen in training with their city and task mask.

    At the end of training each rank writes ``<work_dir>/<out_subdir>/rank<r>.json``
    with one record per training sample (``token``, ``city``, ``task_mask``,
    ``iter``, ``epoch`` of the sampler) and the digests of its model parameters and buffers
    (:func:`parameter_digest`). Comparing the files shows whether ranks saw
    disjoint samples, whether each sample's supervision matched its city, and
    whether the ranks' parameters are identical after training.

    Args:
        out_subdir (str): Folder inside the work dir. Defaults to ``'audit'``.
    """

    priority = 'VERY_LOW'

    def __init__(self, out_subdir: str = 'audit') -> None:
        self.out_subdir = out_subdir
        self.records = []

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        if not data_batch:
            return
        # Iteration-based loops keep runner.epoch at 0 and restart the sampler
        # with set_epoch(), so the sampler's own epoch identifies the pass.
        sampler = getattr(runner.train_dataloader, 'sampler', None)
        sampler_epoch = getattr(sampler, 'epoch', runner.epoch)
        for clip in data_batch.get('data_samples', []):
            # Training items are clips (a list of frames, oldest first); the last
            # frame is the one whose labels define the item.
            frame = clip[-1] if isinstance(clip, Sequence) else clip
            meta = frame.metainfo
            self.records.append(dict(
                token=meta.get('token'), city=meta.get('city'),
                task_mask={k: bool(v) for k, v in dict(meta.get('task_mask', {})).items()},
                iter=runner.iter, epoch=int(sampler_epoch)))

    def after_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        rank, world_size = get_dist_info()
        out_dir = osp.join(runner.work_dir, self.out_subdir)
        os.makedirs(out_dir, exist_ok=True)
        out_file = osp.join(out_dir, f'rank{rank}.json')
        with open(out_file, 'w') as f:
            json.dump(dict(rank=rank, world_size=world_size,
                           parameter_digest=parameter_digest(model),
                           buffer_digest=parameter_digest(model, buffers=True),
                           samples=self.records), f, indent=1)
        runner.logger.info(f'PartitionAuditHook wrote {len(self.records)} sample records to {out_file}')
