"""Mixed precision on CPU.

mmengine 0.10.7's ``AmpOptimWrapper`` refuses to start without a GPU. On CPU,
torch supports autocast to bfloat16, which needs no loss scaling because
bfloat16 keeps float32's exponent range. ``tools/train.py --amp`` selects
:class:`AutocastOptimWrapper` there and mmengine's ``AmpOptimWrapper`` on CUDA.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

_DTYPES = {'bfloat16': torch.bfloat16, 'float16': torch.float16}


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """OptimWrapper that runs the forward pass under ``torch.autocast``.

    Args:
        dtype (str): ``'bfloat16'`` or ``'float16'``. Defaults to ``'bfloat16'``.
        device_type (str): Autocast device, ``'cpu'`` or ``'cuda'``.
            Defaults to ``'cpu'``.
        **kwargs: Passed to :class:`mmengine.optim.OptimWrapper`.

    Raises:
        ValueError: If ``dtype`` is not one of the two names above.
    """

    def __init__(self, dtype: str = 'bfloat16', device_type: str = 'cpu', **kwargs):
        super().__init__(**kwargs)
        if dtype not in _DTYPES:
            raise ValueError(f'AutocastOptimWrapper dtype must be one of {sorted(_DTYPES)}, '
                             f'got {dtype!r}')
        self.dtype = _DTYPES[dtype]
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """Enter the parent's context (gradient accumulation) and autocast."""
        with super().optim_context(model), torch.autocast(device_type=self.device_type,
                                                          dtype=self.dtype):
            yield
