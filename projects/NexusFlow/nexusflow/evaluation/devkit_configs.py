"""Devkit evaluation configs with fields replaced from our config.

The devkit's detection and tracking configs fix class ranges for the full
nuScenes world (40-50 m). A toy world a few tens of metres wide needs smaller
ones. ``build_devkit_config`` loads a named config with ``config_factory``,
replaces fields and deserializes it again, so the devkit still checks it.
"""
from typing import Any, Mapping, Optional, Union

from nuscenes.eval.common.config import config_factory


def build_devkit_config(name: str,
                        class_range: Optional[Union[float, Mapping[str, float]]] = None,
                        overrides: Optional[Mapping[str, Any]] = None):
    """Build a ``DetectionConfig`` or ``TrackingConfig`` with replaced fields.

    Args:
        name: A devkit config name, e.g. ``'detection_cvpr_2019'`` or
            ``'tracking_nips_2019'``.
        class_range: Maximum distance from the ego vehicle (metres) at which
            boxes are scored: one value for every class, or class -> metres
            for the classes to change.
        overrides: Other serialized fields to replace, e.g.
            ``dict(dist_th_tp=1.0)``.

    Raises:
        ValueError: If ``class_range`` names a class the config lacks, or
            ``overrides`` names a field the config lacks.
    """
    config = config_factory(name)
    fields = config.serialize()
    if class_range is not None:
        ranges = dict(fields['class_range'])
        if isinstance(class_range, Mapping):
            unknown = sorted(set(class_range) - set(ranges))
            if unknown:
                raise ValueError(f'class_range names {unknown}, which config '
                                 f'"{name}" lacks; its classes are {sorted(ranges)}.')
            ranges.update({k: float(v) for k, v in class_range.items()})
        else:
            ranges = {k: float(class_range) for k in ranges}
        fields['class_range'] = ranges
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise ValueError(f'Config "{name}" has no field "{key}"; its fields '
                             f'are {sorted(fields)}.')
        fields[key] = value
    return type(config).deserialize(fields)
