from .checkpoint_io import AtomicLocalBackend, load_local_checkpoint  # noqa: F401
from .distributed import setup_distributed, teardown_distributed  # noqa: F401
from .audit_hook import PartitionAuditHook, parameter_digest  # noqa: F401
