from .nyuv2_metric import NYUv2Metric  # noqa: F401
from .map_iou_metric import MapIoUMetric  # noqa: F401
from .nuscenes_track_metric import NuScenesTrackMetric  # noqa: F401
