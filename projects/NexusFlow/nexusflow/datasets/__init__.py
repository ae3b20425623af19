from . import collate  # noqa: F401
from .nuscenes_partial_dataset import NuScenesPartialDataset, SampleRecord
from .samplers import DomainPartitionedSampler, SceneSequentialSampler
from .transforms import (FilterTrackedBoxes, LoadMultiViewImages,
                         LoadTrackedBoxes3D, PackNexusFlowInputs,
                         RasterizeMapGT, ResizeMultiViewImages)
from .nyuv2_dataset import NYUv2MultiTaskDataset  # noqa: F401
from .nyuv2_transforms import (LoadNYUv2Arrays, NYUv2RandomFlip,  # noqa: F401
                               PackNYUv2Inputs)
