"""2-process training and testing with tools/dist_train.sh and tools/dist_test.sh (gloo on CPU)."""
import json
import math
import os.path as osp
from collections import defaultdict

import pytest

from toy_run import REPO_ROOT, python_tool, run_tool, write_toy_config

AUDIT_HOOK = '''
custom_hooks = [
    dict(type='NexusFlowHook', lambda_align=1.0, begin_iter=0, warmup_iters=2,
         flow=dict(type='NexusFlow', tasks=('map', 'track'), in_channels=dict(map=64, track=64),
                   reduced_dim=32, num_couplings=2, hidden_dim=64)),
    dict(type='PartitionAuditHook'),
]
'''
PARTITION = dict(map=['singapore-onenorth'], track=['boston-seaport'])


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory, toy_nuscenes_root, toy_nuscenes_infos):
    folder = tmp_path_factory.mktemp('dist')
    config = write_toy_config(folder / 'toy_dist.py', toy_nuscenes_root, toy_nuscenes_infos,
                              max_iters=3, extra_lines=AUDIT_HOOK)
    work_dir = folder / 'work'
    result = run_tool(['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, '2',
                       '--work-dir', str(work_dir)], timeout=900)
    audits = []
    for rank in range(2):
        with open(work_dir / 'audit' / f'rank{rank}.json') as f:
            audits.append(json.load(f))
    return config, work_dir, audits, result.stdout


def test_ranks_end_with_identical_parameters(dist_run):
    _, _, audits, log = dist_run
    assert [a['world_size'] for a in audits] == [2, 2]
    assert audits[0]['parameter_digest'] == audits[1]['parameter_digest']
    assert 'gloo process group' in log


def test_ranks_see_disjoint_samples_within_each_epoch(dist_run):
    _, _, audits, _ = dist_run
    tokens_by_epoch = defaultdict(list)
    for audit in audits:
        assert len(audit['samples']) == 3 * 2  # 3 iterations x batch 2 per rank
        per_rank = defaultdict(set)
        for record in audit['samples']:
            per_rank[record['epoch']].add(record['token'])
        for epoch, tokens in per_rank.items():
            tokens_by_epoch[epoch].append(tokens)
    for epoch, (rank0, rank1) in tokens_by_epoch.items():
        assert not rank0 & rank1, f'epoch {epoch}: both ranks trained on {sorted(rank0 & rank1)}'


def test_supervision_matches_city_role(dist_run):
    _, _, audits, _ = dist_run
    for audit in audits:
        for record in audit['samples']:
            for task, cities in PARTITION.items():
                assert record['task_mask'][task] == (record['city'] in cities), record


def test_nexusflow_parameters_trained_and_saved(dist_run):
    import torch
    _, work_dir, _, _ = dist_run
    checkpoint = torch.load(work_dir / 'iter_3.pth', map_location='cpu', weights_only=False)
    assert any(k.startswith('nexusflow.') for k in checkpoint['state_dict'])


def test_dist_test_matches_single_process(dist_run, tmp_path):
    config, work_dir, _, _ = dist_run
    checkpoint = str(work_dir / 'iter_3.pth')
    single_dir, dist_dir = tmp_path / 'single', tmp_path / 'dist'
    run_tool(python_tool('test.py', config, checkpoint, '--work-dir', single_dir))
    run_tool(['bash', osp.join(REPO_ROOT, 'tools', 'dist_test.sh'), config, checkpoint, '2',
              '--work-dir', str(dist_dir)], timeout=900)
    with open(single_dir / 'test_metrics.json') as f:
        single = json.load(f)
    with open(dist_dir / 'test_metrics.json') as f:
        distributed = json.load(f)
    assert set(single) == set(distributed)
    assert single['map/num_samples'] == distributed['map/num_samples']
    for key, value in single.items():
        other = distributed[key]
        both_nan = isinstance(value, float) and math.isnan(value) and math.isnan(other)
        assert both_nan or other == pytest.approx(value, abs=1e-6), key
