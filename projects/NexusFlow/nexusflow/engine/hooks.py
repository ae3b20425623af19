"""Hook that schedules the weight of the NexusFlow alignment loss."""
from typing import Optional

from mmdet3d.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn


def align_weight_at(iteration: int,
                    lambda_align: float,
                    start_iter: int = 0,
                    warmup_iters: int = 0) -> float:
    """Return the alignment weight for a training iteration.

    The weight is 0 before ``start_iter``. From there it grows linearly,
    from ``lambda_align / warmup_iters`` at ``start_iter`` to
    ``lambda_align`` at ``start_iter + warmup_iters - 1``, and stays at
    ``lambda_align`` afterwards. With ``warmup_iters=0`` it jumps to
    ``lambda_align`` at ``start_iter``.

    Args:
        iteration (int): 0-based index of the training iteration.
        lambda_align (float): Final weight.
        start_iter (int): First iteration with a non-zero weight.
            Defaults to 0.
        warmup_iters (int): Length of the linear warm-up in iterations.
            Defaults to 0.

    Returns:
        float: The weight.
    """
    if iteration < start_iter:
        return 0.0
    if warmup_iters <= 0:
        return float(lambda_align)
    progress = min(1.0, (iteration - start_iter + 1) / warmup_iters)
    return float(lambda_align) * progress


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the model inside a DDP or other mmengine model wrapper."""
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class NexusFlowHook(Hook):
    """Set ``model.nexusflow.align_weight`` before every training iteration.

    The weight follows :func:`align_weight_at`: 0 before the start point,
    then a linear warm-up to ``lambda_align``. The start point is
    ``begin_iter``, or the first iteration of epoch ``begin_epoch``
    (0-based), or iteration 0 when neither is given.

    The hook does not build the NexusFlow module, because its parameters
    must exist before the optimizer and the DDP wrapper are built.
    ``nexusflow.engine.apply_nexusflow_hook`` copies ``flow`` into
    ``cfg.model.nexusflow`` before the Runner is built; tools/train.py and
    tools/test.py call it.

    Args:
        lambda_align (float): Final weight of the alignment loss.
            Defaults to 1.0.
        begin_iter (int, optional): First iteration (0-based) with a
            non-zero weight. Defaults to None.
        begin_epoch (int, optional): First epoch (0-based) with a non-zero
            weight. Exclusive with ``begin_iter``. Defaults to None.
        warmup_iters (int): Iterations of the linear warm-up.
            Defaults to 0.
        log_stats (bool): Whether to log the weight as
            ``train/lambda_align`` in the message hub. Defaults to True.
        flow (dict, optional): Config of the NexusFlow module, read by
            ``apply_nexusflow_hook`` and not used by the hook.
            Defaults to None.
    """

    priority = 'NORMAL'

    def __init__(self,
                 lambda_align: float = 1.0,
                 begin_iter: Optional[int] = None,
                 begin_epoch: Optional[int] = None,
                 warmup_iters: int = 0,
                 log_stats: bool = True,
                 flow: Optional[dict] = None):
        if begin_iter is not None and begin_epoch is not None:
            raise ValueError(
                f'NexusFlowHook takes begin_iter or begin_epoch, not both; '
                f'got begin_iter={begin_iter}, begin_epoch={begin_epoch}.')
        for name, value in (('begin_iter', begin_iter),
                            ('begin_epoch', begin_epoch),
                            ('warmup_iters', warmup_iters)):
            if value is not None and value < 0:
                raise ValueError(
                    f'NexusFlowHook {name} must be >= 0, got {value}.')
        if lambda_align < 0:
            raise ValueError(
                f'NexusFlowHook lambda_align must be >= 0, got '
                f'{lambda_align}.')
        self.lambda_align = float(lambda_align)
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.warmup_iters = int(warmup_iters)
        self.log_stats = log_stats
        self.flow = flow
        self._start_iter: Optional[int] = None

    @staticmethod
    def _nexusflow(runner) -> nn.Module:
        model = unwrap_model(runner.model)
        module = getattr(model, 'nexusflow', None)
        if module is None:
            raise RuntimeError(
                f'NexusFlowHook needs the model to own a NexusFlow module at '
                f'model.nexusflow, but {type(model).__name__} has none. Build '
                f'the runner through tools/train.py (which moves the hook\'s '
                f'flow config into the model) or set model.nexusflow in the '
                f'config.')
        return module

    def start_iter(self, iters_per_epoch: int) -> int:
        """Return the first iteration with a non-zero weight.

        Args:
            iters_per_epoch (int): Training iterations per epoch, used when
                the start is given by ``begin_epoch``.
        """
        if self.begin_iter is not None:
            return self.begin_iter
        if self.begin_epoch is not None:
            return self.begin_epoch * iters_per_epoch
        return 0

    def weight_at(self, iteration: int, iters_per_epoch: int) -> float:
        """Return the alignment weight at a 0-based training iteration."""
        return align_weight_at(iteration, self.lambda_align,
                               self.start_iter(iters_per_epoch),
                               self.warmup_iters)

    def before_run(self, runner) -> None:
        """Check that the model owns a NexusFlow module."""
        module = self._nexusflow(runner)
        print_log(
            f'NexusFlowHook: lambda_align={self.lambda_align}, '
            f'begin_iter={self.begin_iter}, begin_epoch={self.begin_epoch}, '
            f'warmup_iters={self.warmup_iters}, tasks={module.tasks}.',
            logger='current')

    def before_train(self, runner) -> None:
        """Fix the start iteration from the length of the train loader."""
        iters_per_epoch = 0
        if self.begin_epoch is not None:
            iters_per_epoch = len(runner.train_dataloader)
        self._start_iter = self.start_iter(iters_per_epoch)

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Set the alignment weight for the coming iteration."""
        if self._start_iter is None:
            self.before_train(runner)
        weight = align_weight_at(runner.iter, self.lambda_align,
                                 self._start_iter, self.warmup_iters)
        self._nexusflow(runner).align_weight = weight
        if self.log_stats:
            runner.message_hub.update_scalar('train/lambda_align', weight)
