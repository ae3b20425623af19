"""nuScenes with city-partitioned task labels and temporal clips."""
import copy
import os.path as osp
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
from mmdet3d.datasets import NuScenesDataset
from mmdet3d.registry import DATASETS

from .info_keys import check_nexusflow_info
from .partition import (check_tasks_supervised, resolve_partition,
                        task_mask_for_city)
from .transforms.loading import CAMERAS

DEFAULT_DATA_PREFIX = dict(pts='samples/LIDAR_TOP',
                           **{cam: f'samples/{cam}' for cam in CAMERAS})


class SampleRecord(NamedTuple):
    """What the samplers need to know about one sample, without loading it."""
    scene_token: str
    frame_idx: int
    city: str
    task_mask: Dict[str, bool]


@DATASETS.register_module()
class NuScenesPartialDataset(NuScenesDataset):
    """nuScenes keyframes whose task labels depend on the city, served as clips.

    Each item is a clip of ``queue_length`` frames of one scene, oldest
    first, ending at the requested sample; at a scene start the first frame
    is repeated. In test mode a clip has one frame. The pipeline runs on each
    frame and must end with ``PackNexusFlowInputs``; the frames are combined
    into ``dict(inputs=dict(img=Tensor (T, N_cam, 3, H, W)),
    data_samples=[Det3DDataSample] * T)``.

    Labels of every task stay in every sample; ``task_mask`` in the metainfo
    says which of them count as supervision, so the model masks its losses
    while metrics still read all labels.

    Args:
        data_root (str): Dataset root.
        ann_file (str): Info file written by ``tools/create_data.py``.
        partition (Mapping): Task -> list of cities, ``'all'`` or ``'none'``.
        queue_length (int): Frames per training clip, T. Defaults to 1.
        pipeline (list): Per-frame transforms. Defaults to [].
        data_prefix (dict): Folders of the LiDAR and camera files below
            ``data_root``. Defaults to ``samples/<sensor>``.
        modality (dict): Defaults to cameras only.
        filter_empty_gt (bool): Must stay False for partial labels, because a
            map-only sample may have no boxes. Defaults to False.
        test_mode (bool): One-frame clips, no supervision check.
            Defaults to False.
        **kwargs: Passed to mmdet3d's ``NuScenesDataset`` (``metainfo``,
            ``box_type_3d``, ``use_valid_flag``, ...).
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 partition: Mapping[str, Union[str, Sequence[str]]],
                 queue_length: int = 1,
                 pipeline: Optional[list] = None,
                 data_prefix: Optional[dict] = None,
                 modality: Optional[dict] = None,
                 filter_empty_gt: bool = False,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if queue_length < 1:
            raise ValueError(f'queue_length must be at least 1; got {queue_length}.')
        if not partition:
            raise ValueError('partition must name at least one task, e.g. '
                             "dict(map='all', track='all').")
        self.partition = dict(partition)
        self.queue_length = queue_length
        self.sample_records: List[SampleRecord] = []
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            pipeline=pipeline or [],
            data_prefix=data_prefix or dict(DEFAULT_DATA_PREFIX),
            modality=modality or dict(use_camera=True, use_lidar=False),
            filter_empty_gt=filter_empty_gt,
            test_mode=test_mode,
            **kwargs)

    @property
    def tasks(self) -> List[str]:
        """Tasks of the partition, in config order."""
        return list(self.partition)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'Info file not found: {self.ann_file}. Write it with `python tools/create_data.py '
                f'nuscenes --root-path <data_root> --version <version>`.')
        data_list = super().load_data_list()
        cities = sorted({info['city'] for info in data_list})
        resolved = resolve_partition(self.partition, cities)
        for info in data_list:
            info['task_mask'] = task_mask_for_city(info['city'], resolved)
        if not self.test_mode:
            check_tasks_supervised([info['task_mask'] for info in data_list],
                                   self.tasks, self.ann_file)
        self.sample_records = [
            SampleRecord(info['scene_token'], int(info['frame_idx']),
                         info['city'], info['task_mask'])
            for info in data_list
        ]
        return data_list

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        if len(self.sample_records) != len(self):
            # A subset or filter changed the list after loading; rebuild.
            self.sample_records = []
            for index in range(len(self)):
                info = self.get_data_info(index)
                self.sample_records.append(SampleRecord(
                    info['scene_token'], int(info['frame_idx']), info['city'],
                    info['task_mask']))
        position = {(r.scene_token, r.frame_idx): i
                    for i, r in enumerate(self.sample_records)}
        self._previous_index = [
            position.get((r.scene_token, r.frame_idx - 1), i)
            for i, r in enumerate(self.sample_records)
        ]

    def parse_data_info(self, info: dict) -> dict:
        check_nexusflow_info(info, self.ann_file)
        info = super().parse_data_info(info)
        info['lidar2ego'] = info['lidar_points']['lidar2ego']
        # Labels are kept in test mode too: metrics read them and the model
        # masks the losses by task_mask.
        if 'ann_info' not in info:
            info['ann_info'] = info.get('eval_ann_info') or self.parse_ann_info(info)
        return info

    def parse_ann_info(self, info: dict) -> dict:
        ann_info = super().parse_ann_info(info)
        track_ids = ann_info.pop('track_id', None)
        if track_ids is None:
            track_ids = np.zeros(0, dtype=np.int64)
        ann_info['track_ids'] = np.asarray(track_ids, dtype=np.int64)
        return ann_info

    def clip_indices(self, index: int) -> List[int]:
        """Return the dataset indices of the clip ending at ``index``, oldest first."""
        length = 1 if self.test_mode else self.queue_length
        indices = [index]
        while len(indices) < length:
            indices.insert(0, self._previous_index[indices[0]])
        return indices

    def _prepare_frame(self, index: int) -> dict:
        input_dict = self.get_data_info(index)
        input_dict['box_type_3d'] = self.box_type_3d
        input_dict['box_mode_3d'] = self.box_mode_3d
        return self.pipeline(input_dict)

    def prepare_data(self, index: int) -> dict:
        """Run the pipeline on each frame of the clip and stack the frames."""
        frames = []
        cache: Dict[int, dict] = {}
        for frame_index in self.clip_indices(index):
            if frame_index not in cache:
                cache[frame_index] = self._prepare_frame(frame_index)
                frames.append(cache[frame_index])
            else:
                frames.append(copy.deepcopy(cache[frame_index]))
        for frame in frames:
            if not isinstance(frame, dict) or 'data_samples' not in frame:
                raise TypeError('The pipeline of NuScenesPartialDataset must '
                                'end with PackNexusFlowInputs; got '
                                f'{type(frame).__name__}.')
        img = torch.stack([frame['inputs']['img'] for frame in frames])
        return dict(inputs=dict(img=img),
                    data_samples=[frame['data_samples'] for frame in frames])
