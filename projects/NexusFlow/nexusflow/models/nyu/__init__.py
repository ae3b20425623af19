from .losses import (masked_depth_loss, masked_normal_loss,  # noqa: F401
                     masked_seg_loss)
from .nyu_multitask_model import NYUMultiTaskModel  # noqa: F401
from .segnet import SegNetEncoderDecoder  # noqa: F401
from .task_head import NYUTaskHead  # noqa: F401
