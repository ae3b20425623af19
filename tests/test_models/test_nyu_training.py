import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from nexusflow.datasets.nyuv2_toy import write_toy_nyuv2
from nexusflow.engine import apply_nexusflow_hook

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'nyuv2')
TOY_CONFIG = 'nexusflow_segnet_mtl-tiny_1xb4-20i_toy-nyuv2-randomlabels.py'
TASK_LOSSES = ('loss_seg', 'loss_depth', 'loss_normal')


def load_config(name):
    return apply_nexusflow_hook(Config.fromfile(osp.join(CONFIG_DIR, name)))


def test_configs_select_protocol_and_flow():
    for path in sorted(glob.glob(osp.join(CONFIG_DIR, '*.py'))):
        name = osp.basename(path)
        cfg = load_config(name)
        protocol = cfg.train_dataloader.dataset.protocol
        assert protocol == name[:-3].split('-')[-1], name
        assert cfg.val_dataloader.dataset.protocol == 'full', name
        has_flow = cfg.model.get('nexusflow') is not None
        assert has_flow == name.startswith('nexusflow_'), name
        assert cfg.default_scope == 'mmdet3d', name


def test_toy_training_reduces_loss(tmp_path):
    data_root = tmp_path / 'toy_nyuv2'
    write_toy_nyuv2(str(data_root), num_train=4, num_val=2, height=24,
                    width=32, seed=0)
    cfg = load_config(TOY_CONFIG)
    cfg.work_dir = str(tmp_path / 'work_dir')
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        loader.dataset.data_root = str(data_root)
    # One batch is the whole training set, so every step trains on the same
    # images and the task losses must go down.
    cfg.train_dataloader.batch_size = 4
    cfg.train_cfg.max_iters = 12
    cfg.train_cfg.val_interval = 12
    cfg.default_hooks.checkpoint.interval = 12
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1
    cfg.model.latent_pool_size = (3, 4)

    runner = Runner.from_cfg(cfg)
    runner.train()

    hub = runner.message_hub
    first = sum(hub.get_scalar(f'train/{key}').data[0][0]
                for key in TASK_LOSSES)
    last = sum(hub.get_scalar(f'train/{key}').data[0][-1]
               for key in TASK_LOSSES)
    assert last < 0.9 * first
    align = hub.get_scalar('train/loss_align').data[0]
    assert np.isfinite(align).all()
    assert align[-1] > 0.0
    # The validation at the last iteration ran the metric on the toy set.
    pixel_acc = hub.get_scalar('val/nyuv2/seg_pixel_acc').current()
    assert 0.0 <= pixel_acc <= 100.0
    assert hub.get_scalar('val/nyuv2/normal_mean').current() > 0.0
