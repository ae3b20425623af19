from . import bev_encoder, detectors, heads, tracking, utils  # noqa: F401
from .data_preprocessor import ClipDataPreprocessor  # noqa: F401
