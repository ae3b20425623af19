"""NexusFlow: partially supervised multi-task learning with invertible flows.

Importing this package registers every NexusFlow class in mmdet3d's registries
(MODELS, DATASETS, TRANSFORMS, DATA_SAMPLERS, HOOKS, METRICS, TASK_UTILS), so a
config only needs ``custom_imports=dict(imports=['nexusflow'])``.
"""
from . import datasets, engine, evaluation, flows, models  # noqa: F401
from . import visualization  # noqa: F401

__version__ = '0.1.0'
