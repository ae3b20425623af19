"""NYUv2 three-task dataset (segmentation, depth, surface normals)."""
import fnmatch
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset
from mmdet3d.registry import DATASETS

from .nyuv2_protocols import NYUV2_TASKS, build_task_masks

NYUV2_FIELDS = ('image', 'label', 'depth', 'normal')
NYUV2_CLASSES = ('bed', 'books', 'ceiling', 'chair', 'floor', 'furniture',
                 'objects', 'picture', 'sofa', 'table', 'tv', 'wall',
                 'window')


@DATASETS.register_module()
class NYUv2MultiTaskDataset(BaseDataset):
    """NYUv2 in the preprocessed .npy layout of MTAN and MTPSL.

    Directory layout, one file per image and field, indices from 0 without
    gaps (795 train and 654 val images in the public release)::

        <data_root>/<split>/image/<idx>.npy   float32 (288, 384, 3), RGB in [0, 1]
        <data_root>/<split>/label/<idx>.npy   float (288, 384), 13 classes, -1 ignore
        <data_root>/<split>/depth/<idx>.npy   float32 (288, 384, 1), metres, 0 invalid
        <data_root>/<split>/normal/<idx>.npy  float32 (288, 384, 3), unit vectors,
                                               all-zero where invalid

    Arrays are channel-last; the loading transform moves channels first. The
    partial-label protocol gives every sample a ``task_mask`` dict over
    ``tasks``; a validation split is normally built with ``protocol='full'``.

    Args:
        data_root (str): Root containing ``train/`` and ``val/``.
        split (str): Sub-directory to read. Defaults to ``'train'``.
        protocol (str): ``'full'``, ``'onelabel'`` or ``'randomlabels'``.
            Defaults to ``'full'``.
        protocol_seed (int): Seed of the random protocols. Defaults to 0.
        task_mask_file (str, optional): A saved (N, 3) task mask (.npy or
            .txt) that replaces the drawn one. Defaults to None.
        tasks (Sequence[str]): Task names in mask column order. Defaults to
            ``('seg', 'depth', 'normal')``.
        expected_num_samples (int, optional): If given, raise when the split
            contains a different number of images. Defaults to None.
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """

    METAINFO = dict(classes=NYUV2_CLASSES, tasks=NYUV2_TASKS)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 protocol: str = 'full',
                 protocol_seed: int = 0,
                 task_mask_file: Optional[str] = None,
                 tasks: Sequence[str] = NYUV2_TASKS,
                 expected_num_samples: Optional[int] = None,
                 **kwargs):
        self.split = split
        self.protocol = protocol
        self.protocol_seed = protocol_seed
        self.task_mask_file = task_mask_file
        self.tasks = tuple(tasks)
        self.expected_num_samples = expected_num_samples
        super().__init__(data_root=data_root, **kwargs)

    def _count_images(self, split_dir: str) -> int:
        """Return N after checking that every field has files 0..N-1."""
        image_dir = osp.join(split_dir, 'image')
        if not osp.isdir(image_dir):
            raise FileNotFoundError(
                f'NYUv2 image directory not found: {image_dir}. Expected '
                '<data_root>/<split>/{image,label,depth,normal}/<idx>.npy.')
        names = fnmatch.filter(os.listdir(image_dir), '*.npy')
        num_images = len(names)
        if num_images == 0:
            raise FileNotFoundError(f'No .npy images in {image_dir}.')
        for field in NYUV2_FIELDS:
            for idx in range(num_images):
                path = osp.join(split_dir, field, f'{idx}.npy')
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'NYUv2 file not found: {path} ({image_dir} contains '
                        f'{num_images} images, so indices 0..'
                        f'{num_images - 1} must exist for every field).')
        return num_images

    def load_data_list(self) -> List[dict]:
        """Build one entry per image with its file paths and task mask."""
        split_dir = osp.join(self.data_root, self.split)
        num_images = self._count_images(split_dir)
        if (self.expected_num_samples is not None
                and num_images != self.expected_num_samples):
            raise ValueError(
                f'{split_dir} contains {num_images} images, expected '
                f'{self.expected_num_samples}.')
        masks = build_task_masks(
            self.protocol,
            num_images,
            tasks=self.tasks,
            seed=self.protocol_seed,
            mask_file=self.task_mask_file)
        data_list = []
        for idx in range(num_images):
            info = dict(
                sample_idx=idx,
                task_mask={
                    task: bool(masks[idx, col])
                    for col, task in enumerate(self.tasks)
                })
            for field in NYUV2_FIELDS:
                info[f'{field}_path'] = osp.join(split_dir, field,
                                                 f'{idx}.npy')
            data_list.append(info)
        return data_list
