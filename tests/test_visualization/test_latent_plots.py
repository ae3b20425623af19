"""Tests of the latent scatter figure and the task separation score."""
import numpy as np
import pytest
from PIL import Image

from nexusflow.visualization import latent_figure, separation_score
from nexusflow.visualization.latent_plots import stack_by_task


def clusters(separated: bool, num=40, dim=8, seed=0):
    rng = np.random.default_rng(seed)
    offset = 10.0 if separated else 0.0
    return {
        'map': rng.normal(size=(num, dim)),
        'track': rng.normal(size=(num, dim)) + offset,
    }


def test_separation_score_high_for_separate_clusters():
    points, labels = stack_by_task(clusters(True))
    assert separation_score(points, labels) > 0.8


def test_separation_score_low_for_mixed_clusters():
    points, labels = stack_by_task(clusters(False))
    assert abs(separation_score(points, labels)) < 0.1


def test_separation_score_nan_for_one_group():
    assert np.isnan(separation_score(np.zeros((5, 2)), ['a'] * 5))


def test_stack_by_task_rejects_shape_mismatch():
    with pytest.raises(ValueError, match='same shape'):
        stack_by_task({'map': np.zeros((4, 3)), 'track': np.zeros((5, 3))})
    with pytest.raises(ValueError, match='two tasks'):
        stack_by_task({'map': np.zeros((4, 3))})


def test_latent_figure_writes_png_and_scores(tmp_path):
    h = clusters(True, seed=1)
    z = clusters(False, seed=2)
    city = ['boston-seaport'] * 20 + ['singapore-onenorth'] * 20
    path, scores = latent_figure(h, z, city, out_path=str(tmp_path / 'sub' / 'latents.png'))
    with Image.open(path) as image:
        assert image.format == 'PNG'
        # 4 columns x 3.6 in and 7 in high at 100 dpi.
        assert image.size == (1440, 700)
        pixels = np.asarray(image.convert('RGB'), dtype=np.float64)
    assert pixels.std() > 10
    assert scores['silhouette_task_h'] > 0.8
    assert scores['silhouette_task_z'] < 0.1
    # Cities were assigned without regard to the clusters.
    assert abs(scores['silhouette_city_h']) < 0.2
    assert set(scores) == {'silhouette_task_h', 'silhouette_task_z',
                           'silhouette_city_h', 'silhouette_city_z'}


def test_latent_figure_without_city_or_tsne(tmp_path):
    path, scores = latent_figure(clusters(True), clusters(True), None,
                                 out_path=str(tmp_path / 'l.png'), use_tsne=False)
    with Image.open(path) as image:
        assert image.size == (360, 700)
    assert set(scores) == {'silhouette_task_h', 'silhouette_task_z'}


def test_latent_figure_rejects_city_count(tmp_path):
    with pytest.raises(ValueError, match='cities'):
        latent_figure(clusters(True), clusters(True), ['a'] * 3, out_path=str(tmp_path / 'l.png'))


def test_latent_recorder_matches_nexusflow_codes():
    import torch

    from nexusflow.flows import NexusFlow
    from nexusflow.visualization.latent_plots import LatentRecorder

    torch.manual_seed(0)
    module = NexusFlow(tasks=('map', 'track'), in_channels=dict(map=8, track=6),
                       reduced_dim=4, hidden_dim=8).eval()
    latents = dict(map=torch.randn(3, 8, 5, 5), track=torch.randn(3, 7, 6))
    with LatentRecorder(module) as recorder, torch.no_grad():
        codes = module(latents)
        module(latents)
    h, z = recorder.arrays()
    assert h['map'].shape == (6, 4)
    assert z['track'].shape == (6, 4)
    np.testing.assert_allclose(z['map'][:3], codes['map'].numpy(), rtol=1e-5, atol=1e-6)
    reduced = module.surrogates['track'].reducer(latents['track']).detach().numpy()
    np.testing.assert_allclose(h['track'][3:], reduced, rtol=1e-5, atol=1e-6)
    # The hooks are gone after the block.
    module(latents)
    assert len(recorder.z['map']) == 2


def test_latent_recorder_rejects_missing_module():
    from nexusflow.visualization.latent_plots import LatentRecorder
    with pytest.raises(ValueError, match='NexusFlow module'):
        LatentRecorder(None)
