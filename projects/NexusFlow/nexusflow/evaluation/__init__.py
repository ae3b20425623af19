from .map_iou_metric import MapIoUMetric  # noqa: F401
from .nuscenes_track_metric import NuScenesTrackMetric  # noqa: F401
