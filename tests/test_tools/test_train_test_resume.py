"""tools/train.py, tools/test.py and --resume on the toy world, as a user runs them."""
import json
import os.path as osp
import re

import pytest
import torch

from toy_run import python_tool, run_tool, write_toy_config


@pytest.fixture(scope='module')
def toy_config(tmp_path_factory, toy_nuscenes_root, toy_nuscenes_infos):
    folder = tmp_path_factory.mktemp('toy_config')
    return write_toy_config(folder / 'toy_nexusflow.py', toy_nuscenes_root, toy_nuscenes_infos)


@pytest.fixture(scope='module')
def trained_work_dir(tmp_path_factory, toy_config):
    work_dir = tmp_path_factory.mktemp('train')
    result = run_tool(python_tool('train.py', toy_config, '--work-dir', work_dir))
    return work_dir, result.stdout


def test_help_of_entry_points():
    for script in ('train.py', 'test.py'):
        result = run_tool(python_tool(script, '--help'), timeout=120)
        assert '--cfg-options' in result.stdout
        assert '--launcher' in result.stdout


def test_train_two_iterations_writes_checkpoint(trained_work_dir):
    work_dir, log = trained_work_dir
    assert re.search(r'Iter\(train\) \[2/2\]', log), log[-3000:]
    assert 'loss_align' in log
    assert 'loss_map' in log or 'map.loss' in log or 'loss_dice' in log
    checkpoint = torch.load(osp.join(work_dir, 'iter_2.pth'), map_location='cpu', weights_only=False)
    assert checkpoint['meta']['iter'] == 2
    # The NexusFlow parameters are part of the saved model.
    assert any(k.startswith('nexusflow.') for k in checkpoint['state_dict'])
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_2.pth')


def test_test_script_scores_checkpoint(tmp_path, toy_config, trained_work_dir):
    work_dir, _ = trained_work_dir
    test_dir = tmp_path / 'test'
    result = run_tool(python_tool('test.py', toy_config, osp.join(work_dir, 'iter_2.pth'),
                                  '--work-dir', test_dir))
    with open(test_dir / 'test_metrics.json') as f:
        metrics = json.load(f)
    for key in ('track/AMOTA', 'det/mAP', 'map/IoU_lanes', 'map/IoU_drivable@supervised',
                'track/AMOTA@unsupervised', 'map/IoU_lanes@singapore-onenorth'):
        assert key in metrics, sorted(metrics)[:30]
        assert 0.0 <= metrics[key] <= 1.0
    # Predictions are written before scoring, in the devkit's submission format.
    with open(test_dir / 'test_results' / 'test' / 'results_nusc_track.json') as f:
        submission = json.load(f)
    assert set(submission) >= {'meta', 'results'}
    assert metrics['map/num_samples'] == len(submission['results'])
    assert 'Metrics saved to' in result.stdout


def test_resume_continues_from_checkpoint(tmp_path, toy_config, trained_work_dir):
    work_dir, _ = trained_work_dir
    resumed_dir = tmp_path / 'resumed'
    resumed_dir.mkdir()
    result = run_tool(python_tool('train.py', toy_config, '--work-dir', resumed_dir,
                                  '--resume', osp.join(work_dir, 'iter_2.pth'),
                                  '--cfg-options', 'train_cfg.max_iters=3'))
    log = result.stdout
    assert 'resumed' in log.lower()
    assert re.search(r'Iter\(train\) \[3/3\]', log), log[-3000:]
    assert not re.search(r'Iter\(train\) \[1/3\]', log)
    checkpoint = torch.load(resumed_dir / 'iter_3.pth', map_location='cpu', weights_only=False)
    assert checkpoint['meta']['iter'] == 3


def test_amp_training_step_runs(tmp_path, toy_config):
    work_dir = tmp_path / 'amp'
    result = run_tool(python_tool('train.py', toy_config, '--work-dir', work_dir, '--amp',
                                  '--cfg-options', 'train_cfg.max_iters=1'))
    line = re.search(r'Iter\(train\) \[1/1\].*', result.stdout)
    assert line, result.stdout[-3000:]
    loss = float(re.search(r' loss: ([-0-9.naif]+)', line.group(0)).group(1))
    assert loss == loss  # not NaN
    assert abs(loss) < 1e6
    assert osp.isfile(work_dir / 'iter_1.pth')
