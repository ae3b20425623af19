"""Batch collation for clip datasets."""
from typing import List, Sequence

from mmengine.registry import FUNCTIONS


@FUNCTIONS.register_module()
def clip_collate(data_batch: Sequence[dict]) -> dict:
    """Collate clips without transposing their frame lists.

    mmengine's ``pseudo_collate`` transposes nested lists, which would turn
    B clips of T frames into T lists of B frames. This keeps the layout of
    docs/interfaces.md.

    Args:
        data_batch (Sequence[dict]): Items of ``NuScenesPartialDataset``.

    Returns:
        dict: ``inputs=dict(img=[Tensor (T, N_cam, 3, H, W)] * B)`` and
        ``data_samples=[[Det3DDataSample] * T] * B``.
    """
    images: List = [item['inputs']['img'] for item in data_batch]
    samples: List = [list(item['data_samples']) for item in data_batch]
    return dict(inputs=dict(img=images), data_samples=samples)
