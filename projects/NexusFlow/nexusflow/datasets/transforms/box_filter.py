"""Box filtering by BEV range and by class."""
from typing import Sequence

import torch
from mmcv.transforms import BaseTransform
from mmdet3d.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FilterTrackedBoxes(BaseTransform):
    """Keep the boxes whose centre lies in the BEV range and whose class is known.

    Required and modified keys: ``gt_bboxes_3d``, ``gt_labels_3d``,
    ``gt_track_ids``.

    Args:
        point_cloud_range (Sequence[float]): ``[x_min, y_min, z_min, x_max,
            y_max, z_max]`` in metres; only x and y are used.
        drop_unknown_labels (bool): Drop boxes with label -1 (classes outside
            the config's ``class_names``). Defaults to True.
    """

    def __init__(self, point_cloud_range: Sequence[float],
                 drop_unknown_labels: bool = True) -> None:
        if len(point_cloud_range) != 6:
            raise ValueError('point_cloud_range must have 6 values; got '
                             f'{point_cloud_range}.')
        self.bev_range = [point_cloud_range[i] for i in (0, 1, 3, 4)]
        self.drop_unknown_labels = drop_unknown_labels

    def transform(self, results: dict) -> dict:
        boxes = results['gt_bboxes_3d']
        keep = boxes.in_range_bev(self.bev_range).numpy().astype(bool)
        if self.drop_unknown_labels:
            keep &= results['gt_labels_3d'] >= 0
        results['gt_bboxes_3d'] = boxes[torch.from_numpy(keep)]
        results['gt_labels_3d'] = results['gt_labels_3d'][keep]
        results['gt_track_ids'] = results['gt_track_ids'][keep]
        return results
