from .checkpoint_io import AtomicLocalBackend, load_local_checkpoint  # noqa: F401
from .distributed import setup_distributed, teardown_distributed  # noqa: F401
from .audit_hook import PartitionAuditHook, parameter_digest  # noqa: F401
from .hooks import NexusFlowHook, align_weight_at  # noqa: F401
from .nexusflow_config import apply_nexusflow_hook  # noqa: F401
from .optim_wrapper import AutocastOptimWrapper  # noqa: F401
