"""Helpers to run tools/*.py and tools/*.sh on the session's toy world."""
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NEXUSFLOW_CONFIG = osp.join(REPO_ROOT, 'configs', 'nexusflow',
                            'nexusflow_bev-track-map_r18-tiny_1xb2-toy-nus-partial.py')


def write_toy_config(path, data_root, infos, base_config=NEXUSFLOW_CONFIG, max_iters=2,
                     extra_lines=''):
    """Write a config that runs ``base_config`` on the fixture's toy world.

    It points data loaders and metrics at ``data_root``, runs loaders in the
    main process, saves a checkpoint every iteration and skips validation.
    """
    data_root = str(data_root).rstrip('/') + '/'
    text = f'''
_base_ = [{base_config!r}]
_toy_root = {data_root!r}
train_dataloader = dict(num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=_toy_root, ann_file={str(infos['train'])!r}))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=_toy_root, ann_file={str(infos['val'])!r}))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='NuScenesTrackMetric', data_root=_toy_root, version='v1.0-mini',
         class_names={{{{_base_.class_names}}}}, eval_classes='gt_present', class_range=25.0,
         partition={{{{_base_.partition}}}}),
    dict(type='MapIoUMetric', map_classes={{{{_base_.map_classes}}}},
         partition={{{{_base_.partition}}}}),
]
test_evaluator = val_evaluator
train_cfg = dict(max_iters={max_iters}, val_interval=100000)
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=10), logger=dict(interval=1))
'''
    with open(path, 'w') as f:
        f.write(text + textwrap.dedent(extra_lines))
    return str(path)


def run_tool(args, timeout=600, env=None):
    """Run ``args`` from the repository root; return the CompletedProcess.

    The command runs in its own process group, which is killed on timeout so
    that no torchrun worker outlives the test.
    """
    # The shell launchers call $PYTHON; point it (and PATH) at this interpreter.
    bin_dir = osp.dirname(sys.executable)
    full_env = dict(os.environ, OMP_NUM_THREADS='1', MPLBACKEND='Agg', PYTHON=sys.executable,
                    PATH=bin_dir + os.pathsep + os.environ.get('PATH', ''))
    full_env.update(env or {})
    proc = subprocess.Popen(args, cwd=REPO_ROOT, env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        raise AssertionError(f'{args} timed out after {timeout} s; output:\n{output[-5000:]}')
    result = subprocess.CompletedProcess(args, proc.returncode, output, None)
    assert result.returncode == 0, f'{args} failed ({result.returncode}):\n{output[-8000:]}'
    return result


def python_tool(script, *args):
    return [sys.executable, osp.join(REPO_ROOT, 'tools', script), *map(str, args)]
