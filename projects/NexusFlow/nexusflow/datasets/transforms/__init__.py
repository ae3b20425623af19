from .box_filter import FilterTrackedBoxes
from .formatting import PackNexusFlowInputs
from .loading import LoadMultiViewImages, LoadTrackedBoxes3D
from .map_gt import RasterizeMapGT
from .resize import ResizeMultiViewImages

__all__ = [
    'FilterTrackedBoxes', 'PackNexusFlowInputs', 'LoadMultiViewImages',
    'LoadTrackedBoxes3D', 'RasterizeMapGT', 'ResizeMultiViewImages'
]
