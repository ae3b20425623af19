from .nyu import (NYUMultiTaskModel, NYUTaskHead,  # noqa: F401
                  SegNetEncoderDecoder)
from . import bev_encoder, detectors, heads, tracking, utils  # noqa: F401
from .data_preprocessor import ClipDataPreprocessor  # noqa: F401
