"""Timing and memory helpers shared by the benchmark scripts.

Every script measures the things it compares in one process, alternating
between them, and reports the median over repeats, so that load from other
jobs on the machine shifts both sides alike.
"""
import resource
import statistics
import time
from typing import Callable, Dict, List, Sequence, Tuple

PROC_STATUS = '/proc/self/status'
PROC_CLEAR_REFS = '/proc/self/clear_refs'


def median(values: Sequence[float]) -> float:
    """Return the median of ``values``, or NaN when it is empty."""
    return statistics.median(values) if values else float('nan')


def paired_ratio(numerators: Sequence[float],
                 denominators: Sequence[float]) -> float:
    """Return the median of the element-wise ratios of two timing lists.

    The lists come from ``time_alternating``, so the i-th entries ran back
    to back and saw about the same load from other jobs. Their ratio is
    therefore steadier than the ratio of the two medians when that load
    changes.
    """
    return median([n / d for n, d in zip(numerators, denominators)])


def _status_kib(field: str) -> int:
    with open(PROC_STATUS) as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(f'{PROC_STATUS} has no field {field!r}')


class PeakRSS:
    """Peak resident set size of this process between ``reset`` and ``read_mib``.

    On Linux, writing ``5`` to ``/proc/self/clear_refs`` resets the kernel's
    high-water mark ``VmHWM``, so each measured phase gets its own peak. Where
    that file cannot be written, ``read_mib`` falls back to ``ru_maxrss``, the
    peak since the process started, and ``resettable`` is False.
    """

    def __init__(self) -> None:
        self.resettable = self._try_reset()

    @staticmethod
    def _try_reset() -> bool:
        try:
            with open(PROC_CLEAR_REFS, 'w') as clear_refs:
                clear_refs.write('5')
            _status_kib('VmHWM')
        except (OSError, KeyError):
            return False
        return True

    def reset(self) -> None:
        """Start a new peak from the current RSS."""
        if self.resettable:
            self._try_reset()

    def read_mib(self) -> float:
        """Return the peak RSS in MiB since the last ``reset``."""
        if self.resettable:
            return _status_kib('VmHWM') / 1024
        # ru_maxrss is in KiB on Linux.
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """Return the current resident set size of this process in MiB."""
    try:
        return _status_kib('VmRSS') / 1024
    except (OSError, KeyError):
        return float('nan')


def time_alternating(variants: Dict[str, Callable[[], None]],
                     repeats: int,
                     warmup: int = 1,
                     sync: Callable[[], None] = lambda: None
                     ) -> Tuple[Dict[str, List[float]],
                                Dict[str, List[float]]]:
    """Time each callable ``repeats`` times, alternating between them.

    Args:
        variants: Name -> a callable that runs one measured step.
        repeats: Timed calls of each variant.
        warmup: Untimed calls of each variant before timing.
        sync: Called before reading the clock (``torch.cuda.synchronize``
            for CUDA work). Defaults to a no-op.

    Returns:
        Two dicts name -> list of ``repeats`` durations in seconds: wall
        time, and CPU time of this process (all its threads). CPU time
        varies less than wall time when other jobs share the cores, but it
        also counts threads that spin while waiting.
    """
    for _ in range(warmup):
        for step in variants.values():
            step()
    sync()
    wall = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    for _ in range(repeats):
        for name, step in variants.items():
            sync()
            start_wall = time.perf_counter()
            start_cpu = time.process_time()
            step()
            sync()
            wall[name].append(time.perf_counter() - start_wall)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu
