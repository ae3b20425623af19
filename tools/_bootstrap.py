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
        raise FileNotFoundError(f'Config file not found: {path}. Pass a config path relative to the '
                                f'repository root, e.g. configs/nexusflow/<name>.py')
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


def load_model(cfg, checkpoint: str, device=None):
    """Build ``cfg.model``, load ``checkpoint`` into it and return it in eval mode.

    Args:
        cfg (mmengine.Config): Config from :func:`load_config`.
        checkpoint (str): Checkpoint file.
        device (str, optional): Torch device. Defaults to cuda when available,
            else cpu.
    """
    import torch
    from mmdet3d.registry import MODELS
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'Checkpoint file not found: {checkpoint}')
    init_default_scope(cfg.get('default_scope', 'mmdet3d'))
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='current')
    return model.to(device).eval()


def set_eval_output_dirs(cfg, subdir: str) -> None:
    """Point evaluators that write files, but were given no folder, into the work dir.

    Evaluators with an ``outfile_prefix`` argument left at None write their
    prediction and summary files to ``<work_dir>/<subdir>`` instead of nowhere,
    so predictions survive a failed scoring step.
    """
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key)
        if evaluators is None:
            continue
        if isinstance(evaluators, dict):
            evaluators = evaluators.get('metrics', [evaluators])
        for evaluator in evaluators:
            if 'outfile_prefix' in evaluator or evaluator.get('type') in ('NuScenesTrackMetric', 'MapIoUMetric'):
                if evaluator.get('outfile_prefix') is None:
                    evaluator['outfile_prefix'] = osp.join(cfg.work_dir, subdir, key.split('_')[0])
