"""Shared start-up for the scripts in tools/: import path and config loading."""
import os
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PLUGIN_ROOT = osp.join(REPO_ROOT, 'projects', 'NexusFlow')

# `python tools/train.py CONFIG` works from a checkout without `pip install -e .`.
if PLUGIN_ROOT not in sys.path:
    sys.path.insert(0, PLUGIN_ROOT)
# Worker processes of the data loaders and torchrun children inherit this.
os.environ['PYTHONPATH'] = os.pathsep.join(
    [PLUGIN_ROOT] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])


def load_config(path: str, cfg_options=None):
    """Load ``path`` as an mmengine Config, merge ``--cfg-options`` and register NexusFlow.

    Args:
        path (str): Config file.
        cfg_options (dict, optional): Key-value pairs from ``--cfg-options``.

    Returns:
        mmengine.Config: The config, with ``model.nexusflow`` filled in when a
        ``NexusFlowHook`` is configured.
    """
    from mmengine.config import Config

    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)

    import nexusflow  # noqa: F401  (fills the registries)
    from nexusflow.engine import apply_nexusflow_hook
    apply_nexusflow_hook(cfg)
    return cfg


def default_work_dir(config_path: str) -> str:
    """Return ``work_dirs/<config name>`` under the repository root."""
    name = osp.splitext(osp.basename(config_path))[0]
    return osp.join(REPO_ROOT, 'work_dirs', name)
