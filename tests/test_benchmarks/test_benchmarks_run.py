"""Run the benchmark scripts at their smallest sizes and parse their output.

Only the cheap scripts run. The training-step ones (seconds per step on a
shared CPU) only count parameters or show their ``--help``. Nothing here
checks a timing.
"""
import math
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BENCHMARKS = osp.join(REPO_ROOT, 'benchmarks')
REAL_DRIVABLE = '/work/shared/realdata/nuscenes/drivable_area'
FIELD = re.compile(r'([\w/+@.-]+)=(\S+)')


def run_script(args, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


def summary_fields(stdout: str, name: str) -> dict:
    """Return the key=value fields of the last line, which must start with
    the script's name."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, 'the script printed nothing'
    summary = lines[-1]
    assert summary.startswith(name + ' '), summary
    return dict(FIELD.findall(summary))


def assert_numbers(fields: dict, keys) -> None:
    for key in keys:
        assert key in fields, f'{key} missing from {fields}'
        value = float(fields[key])
        assert math.isfinite(value), f'{key}={fields[key]}'


def test_map_iou_eval_summary():
    result = run_script(['benchmarks/map_iou_eval.py', '--num-samples', '40',
                         '--size', '20', '--repeats', '1'])
    assert result.returncode == 0, result.stderr[-2000:]
    fields = summary_fields(result.stdout, 'map_iou_eval')
    assert_numbers(fields, ['samples', 'total_s', 'process_s',
                            'compute_metrics_s', 'samples_per_s'])
    assert int(fields['samples']) == 40


def test_deform_attn_summary_cpu():
    result = run_script(['benchmarks/deform_attn.py', '--bev-size', '10',
                         '--repeats', '1', '--warmup', '0'])
    assert result.returncode == 0, result.stderr[-2000:]
    fields = summary_fields(result.stdout, 'deform_attn')
    assert_numbers(fields, ['pytorch_fwd+bwd_ms', 'pytorch_peak_MiB'])
    assert fields['mmcv_cuda'] == 'not'
    assert fields['bev'] == '10x10'


@pytest.mark.skipif(not osp.isdir(REAL_DRIVABLE),
                    reason='real nuScenes drivable areas are not available')
def test_map_gt_summary_real_drivable():
    result = run_script(['benchmarks/map_gt.py', '--maps', 'real',
                         '--patches', '3', '--repeats', '1', '--size', '50',
                         '--bev-range', '25.6'])
    assert result.returncode == 0, result.stderr[-2000:]
    fields = summary_fields(result.stdout, 'map_gt')
    assert_numbers(fields, ['extract_per_s', 'raster_per_s',
                            'ours_extract+raster_per_s',
                            'devkit_get_map_mask_per_s',
                            'speedup_vs_devkit'])
    iou = re.search(r'drivable_IoU_ours_vs_devkit=(\S+)', result.stdout)
    assert iou is not None
    assert float(iou.group(1)) > 0.8


def test_gpu_full_config_dry_run():
    result = run_script(['benchmarks/gpu_full_config.py', '--dry-run'])
    assert result.returncode == 0, result.stderr[-2000:]
    variants = [line for line in result.stdout.splitlines()
                if line.startswith('variant ')]
    assert len(variants) == 8
    fields = summary_fields(result.stdout, 'gpu_full_config')
    assert fields['variants'] == '8'


@pytest.mark.skipif(shutil.which('nvidia-smi') is not None,
                    reason='a GPU tool is installed, so the script would run')
def test_gpu_full_config_sh_fails_without_gpu():
    result = subprocess.run(
        ['bash', osp.join(BENCHMARKS, 'gpu_full_config.sh')], cwd=REPO_ROOT,
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert 'no NVIDIA GPU found' in result.stderr


def test_nexusflow_overhead_params_only():
    result = run_script(['benchmarks/nexusflow_overhead.py', '--configs',
                         'tiny', '--params-only'])
    assert result.returncode == 0, result.stderr[-2000:]
    fields = summary_fields(result.stdout, 'nexusflow_overhead')
    assert_numbers(fields, ['nexusflow_params', 'model_trainable_params',
                            'param_ratio'])
    assert 0 < float(fields['param_ratio']) < 1


@pytest.mark.parametrize('script', ['train_step.py', 'nexusflow_overhead.py'])
def test_heavy_script_help(script):
    result = run_script([osp.join('benchmarks', script), '--help'])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith('usage: ')
