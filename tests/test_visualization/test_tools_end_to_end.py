"""Run visualize_bev.py and plot_latents.py on the toy nuScenes world with the tiny model."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(REPO, 'configs', '_base_')


def load_tool(name):
    path = osp.join(REPO, 'tools', 'analysis_tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'nexusflow_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def toy_model_files(tmp_path_factory, toy_nuscenes_root, toy_nuscenes_infos):
    """Write a tiny-model config on the toy val split and a randomly initialized checkpoint."""
    from mmdet3d.registry import MODELS
    from mmengine.registry import init_default_scope

    # The model and dataset bases both define the BEV grid, so they are
    # merged here rather than listed together in _base_.
    model_cfg = Config.fromfile(osp.join(BASE, 'models', 'bev-track-map_tiny.py'))
    data_cfg = Config.fromfile(osp.join(BASE, 'datasets', 'nus-partial_toy.py'))
    runtime_cfg = Config.fromfile(osp.join(BASE, 'default_runtime.py'))
    cfg = Config(dict(**runtime_cfg.to_dict(), **data_cfg.to_dict(),
                      model=model_cfg.model.to_dict()))
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    cfg.test_dataloader.dataset.data_root = str(toy_nuscenes_root)
    cfg.test_dataloader.dataset.ann_file = toy_nuscenes_infos['val']
    cfg.custom_hooks = [dict(
        type='NexusFlowHook',
        flow=dict(type='NexusFlow', tasks=('map', 'track'), in_channels=dict(map=64, track=64),
                  reduced_dim=16, hidden_dim=32))]
    folder = tmp_path_factory.mktemp('toy_model')
    config_path = str(folder / 'tiny_toy.py')
    cfg.dump(config_path)

    init_default_scope('mmdet3d')
    import nexusflow  # noqa: F401
    from nexusflow.engine import apply_nexusflow_hook
    torch.manual_seed(0)
    model = MODELS.build(apply_nexusflow_hook(Config.fromfile(config_path)).model)
    checkpoint = str(folder / 'random.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    return config_path, checkpoint


def test_visualize_bev_compare_writes_pngs_and_gif(toy_model_files, tmp_path):
    config, checkpoint = toy_model_files
    tool = load_tool('visualize_bev')
    out_dir = str(tmp_path / 'vis')
    tool.main([config, checkpoint, '--compare', config, checkpoint, '--num-samples', '2',
               '--out-dir', out_dir, '--gif', '--score-thr', '0.0', '--device', 'cpu'])

    files = sorted(os.listdir(out_dir))
    pngs = [f for f in files if f.endswith('.png')]
    gifs = [f for f in files if f.endswith('.gif')]
    assert len(pngs) == 2
    assert len(gifs) == 1
    # Frames 0 and 1 of the first scene, named <scene>_<frame_idx>_<token>.
    assert pngs[0].split('_')[1] == '000'
    assert pngs[1].split('_')[1] == '001'
    for name in pngs:
        with Image.open(osp.join(out_dir, name)) as image:
            assert image.format == 'PNG'
            # Three BEV panels (two models and GT) of 50 cells x 10 px plus
            # 56 px of frame each, and two 6 px gaps.
            assert image.size[0] == 3 * (500 + 56) + 2 * 6
            pixels = np.asarray(image.convert('RGB'), dtype=np.float64)
        assert pixels.std() > 10
    with Image.open(osp.join(out_dir, gifs[0])) as gif:
        assert gif.n_frames == 2


def test_visualize_bev_unknown_scene_raises(toy_model_files, tmp_path):
    config, checkpoint = toy_model_files
    tool = load_tool('visualize_bev')
    with pytest.raises(ValueError, match='not in the test set'):
        tool.main([config, checkpoint, '--scene', 'scene-9999', '--out-dir', str(tmp_path),
                   '--device', 'cpu'])


def test_plot_latents_writes_figure_and_scores(toy_model_files, tmp_path):
    config, checkpoint = toy_model_files
    tool = load_tool('plot_latents')
    out_dir = str(tmp_path / 'latents')
    path, scores = tool.main([config, checkpoint, '--num-samples', '4', '--no-tsne',
                              '--out-dir', out_dir, '--device', 'cpu'])
    with Image.open(path) as image:
        assert image.format == 'PNG'
        assert np.asarray(image.convert('RGB'), dtype=np.float64).std() > 10
    with open(osp.join(out_dir, 'latent_scores.json')) as f:
        saved = json.load(f)
    assert saved['num_samples'] == 4
    assert -1.0 <= scores['silhouette_task_h'] <= 1.0
    assert -1.0 <= scores['silhouette_task_z'] <= 1.0
    assert saved['silhouette_task_z'] == pytest.approx(scores['silhouette_task_z'])
