"""Importing nexusflow registers every plugin class in mmdet3d's registries."""
import pytest
from mmdet3d.registry import (DATA_SAMPLERS, DATASETS, HOOKS, METRICS, MODELS, TASK_UTILS,
                              TRANSFORMS)
from mmengine.registry import FUNCTIONS, OPTIM_WRAPPERS

import nexusflow  # noqa: F401

EXPECTED = {
    MODELS: ['NexusFlow', 'BEVTrackMap', 'ClipDataPreprocessor', 'BEVEncoder', 'TrackHead',
             'MapHead', 'TemporalSelfAttention', 'SpatialCrossAttention', 'NYUMultiTaskModel'],
    DATASETS: ['NuScenesPartialDataset', 'NYUv2MultiTaskDataset'],
    TRANSFORMS: ['LoadMultiViewImages', 'ResizeMultiViewImages', 'LoadTrackedBoxes3D',
                 'FilterTrackedBoxes', 'RasterizeMapGT', 'PackNexusFlowInputs'],
    DATA_SAMPLERS: ['DomainPartitionedSampler', 'SceneSequentialSampler'],
    HOOKS: ['NexusFlowHook', 'PartitionAuditHook', 'BEVVisualizationHook'],
    METRICS: ['NuScenesTrackMetric', 'MapIoUMetric', 'NYUv2Metric'],
    TASK_UTILS: ['EncodedBox3DL1Cost'],
}


@pytest.mark.parametrize('registry', list(EXPECTED), ids=lambda r: r.name)
def test_plugin_classes_are_registered(registry):
    for name in EXPECTED[registry]:
        cls = registry.get(name)
        assert cls is not None, f'{name} missing from the {registry.name} registry'
        assert cls.__module__.startswith('nexusflow.'), f'{name} resolves to {cls.__module__}'


def test_mmengine_level_registrations():
    assert OPTIM_WRAPPERS.get('AutocastOptimWrapper').__module__ == 'nexusflow.engine.optim_wrapper'
    assert FUNCTIONS.get('clip_collate') is not None
