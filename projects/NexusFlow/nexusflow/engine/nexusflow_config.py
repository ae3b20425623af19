"""Move the NexusFlow config from the hook into the model config."""
import copy

from mmengine.config import Config

HOOK_NAME = 'NexusFlowHook'


def _is_nexusflow_hook(hook_cfg) -> bool:
    hook_type = hook_cfg.get('type') if isinstance(hook_cfg, dict) else None
    if isinstance(hook_type, type):
        return hook_type.__name__ == HOOK_NAME
    # A scope prefix such as 'mmdet3d.NexusFlowHook' names the same class.
    return isinstance(hook_type, str) and hook_type.split('.')[-1] == HOOK_NAME


def apply_nexusflow_hook(cfg: Config) -> Config:
    """Copy the ``flow`` of a configured NexusFlowHook into ``cfg.model``.

    The NexusFlow parameters must belong to the model before the optimizer
    and the DDP wrapper are built, so the module is built by the model from
    ``cfg.model.nexusflow``. This function fills that key in place from the
    hook's ``flow`` dict. A config without a NexusFlowHook is left unchanged,
    so it trains the partial-supervision baseline without NexusFlow
    parameters.

    Args:
        cfg (Config): Config with ``model`` and, optionally,
            ``custom_hooks``. Modified in place.

    Returns:
        Config: The same ``cfg``.

    Raises:
        ValueError: If ``custom_hooks`` contains more than one NexusFlowHook,
            if ``cfg.model.nexusflow`` is set to a different config than the
            hook's ``flow``, or if neither of them configures the module.
    """
    hooks = [h for h in cfg.get('custom_hooks', None) or []
             if _is_nexusflow_hook(h)]
    if not hooks:
        return cfg
    if len(hooks) > 1:
        raise ValueError(
            f'custom_hooks contains {len(hooks)} NexusFlowHook entries; '
            f'expected at most one.')
    if 'model' not in cfg:
        raise KeyError('Config has a NexusFlowHook but no model key.')

    flow = hooks[0].get('flow')
    existing = cfg.model.get('nexusflow')
    if flow is None:
        if not existing:
            raise ValueError(
                'NexusFlowHook is configured without flow=dict(...) and '
                'model.nexusflow is not set; give the hook a flow config '
                "such as flow=dict(type='NexusFlow', tasks=('map', "
                "'track')).")
        return cfg
    if existing and _plain(existing) != _plain(flow):
        raise ValueError(
            f'model.nexusflow ({_plain(existing)}) differs from the '
            f'NexusFlowHook flow config ({_plain(flow)}); set only one of '
            f'them.')
    cfg.model.nexusflow = copy.deepcopy(flow)
    return cfg


def _plain(value):
    """Return ``value`` as plain dicts and lists, for comparing configs."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
