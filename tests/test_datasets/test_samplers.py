"""DomainPartitionedSampler and SceneSequentialSampler on synthetic sample records."""
from collections import Counter

import pytest

from nexusflow.datasets import samplers
from nexusflow.datasets.nuscenes_partial_dataset import SampleRecord
from nexusflow.datasets.samplers import (DomainPartitionedSampler,
                                         SceneSequentialSampler,
                                         batch_task_schedule)


class RecordsDataset:
    """Just the attributes the samplers read."""

    def __init__(self, records):
        self.sample_records = records

    def __len__(self):
        return len(self.sample_records)


def make_records(scenes_per_city, frames_per_scene, tasks_by_city):
    records = []
    for city, num_scenes in scenes_per_city.items():
        for s in range(num_scenes):
            for f in range(frames_per_scene):
                mask = {t: city in cities for t, cities in tasks_by_city.items()}
                records.append(SampleRecord(f'{city}-{s}', f, city, mask))
    return records


SPLIT = dict(map=['singapore-onenorth'], track=['boston-seaport'])


@pytest.fixture
def city_dataset():
    return RecordsDataset(make_records(
        {'boston-seaport': 6, 'singapore-onenorth': 4}, 10, SPLIT))


def build_on_rank(monkeypatch, dataset, rank, world_size, **kwargs):
    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (rank, world_size))
    return DomainPartitionedSampler(dataset, seed=3, **kwargs)


def test_ranks_disjoint_equal_and_cover_pool(monkeypatch, city_dataset):
    ranks = [build_on_rank(monkeypatch, city_dataset, r, 2, batch_size=2)
             for r in range(2)]
    orders = [list(s) for s in ranks]
    assert len(orders[0]) == len(orders[1]) == len(ranks[0]) > 0
    assert not set(orders[0]) & set(orders[1])
    assert len(set(orders[0])) == len(orders[0])
    # The map pool (40 onenorth samples) runs out first: 40 map slots over
    # 2 ranks x 1 slot per batch = 20 iterations, so all of it is used.
    used = set(orders[0]) | set(orders[1])
    onenorth = {i for i, r in enumerate(city_dataset.sample_records)
                if r.city == 'singapore-onenorth'}
    assert onenorth <= used
    assert len(ranks[0]) == 20 * 2


def test_batches_follow_task_ratio(monkeypatch, city_dataset):
    sampler = build_on_rank(monkeypatch, city_dataset, 0, 1, batch_size=4,
                            task_ratio=dict(map=0.25, track=0.75))
    records = city_dataset.sample_records
    order = list(sampler)
    for start in range(0, len(order), 4):
        cities = Counter(records[i].city for i in order[start:start + 4])
        assert cities == {'singapore-onenorth': 1, 'boston-seaport': 3}


def test_single_sample_batches_alternate_tasks():
    schedule = batch_task_schedule(dict(map=0.5, track=0.5), 1, 6)
    flat = [b[0] for b in schedule]
    assert Counter(flat) == {'map': 3, 'track': 3}
    assert all(a != b for a, b in zip(flat, flat[1:]))


def test_order_is_function_of_seed_and_epoch(monkeypatch, city_dataset):
    first = build_on_rank(monkeypatch, city_dataset, 0, 2, batch_size=2)
    second = build_on_rank(monkeypatch, city_dataset, 0, 2, batch_size=2)
    first.set_epoch(5)
    second.set_epoch(5)
    assert list(first) == list(second)
    second.set_epoch(6)
    assert list(first) != list(second)
    # Iterating twice (a resumed run replays the epoch) gives the same order.
    assert list(first) == list(first)


def test_oracle_partition_splits_shared_samples(monkeypatch):
    dataset = RecordsDataset(make_records(
        {'boston-seaport': 3, 'singapore-onenorth': 3}, 4,
        dict(map=['boston-seaport', 'singapore-onenorth'],
             track=['boston-seaport', 'singapore-onenorth'])))
    sampler = build_on_rank(monkeypatch, dataset, 0, 1, batch_size=2)
    assert sorted(len(p) for p in sampler.pools.values()) == [12, 12]
    assert sorted(sampler) == list(range(24))


def test_sampler_rejects_unknown_task(monkeypatch, city_dataset):
    with pytest.raises(ValueError, match='depth'):
        build_on_rank(monkeypatch, city_dataset, 0, 1, batch_size=2,
                      task_ratio=dict(map=0.5, depth=0.5))


def test_scene_sampler_whole_scenes_in_order(monkeypatch):
    records = make_records({'boston-seaport': 3, 'singapore-onenorth': 2}, 4, SPLIT)
    # Shuffle the dataset order of frames inside each scene.
    records = records[::-1]
    dataset = RecordsDataset(records)
    per_rank = []
    for rank in range(2):
        monkeypatch.setattr(samplers, 'get_dist_info', lambda r=rank: (r, 2))
        per_rank.append(list(SceneSequentialSampler(dataset)))
    assert sorted(per_rank[0] + per_rank[1]) == list(range(len(records)))
    for order in per_rank:
        scenes = [records[i].scene_token for i in order]
        # Each scene appears as one contiguous run with frames 0, 1, 2, 3.
        runs = [s for k, s in enumerate(scenes) if k == 0 or scenes[k - 1] != s]
        assert len(runs) == len(set(runs))
        assert [records[i].frame_idx for i in order] == [0, 1, 2, 3] * len(runs)
    assert not {records[i].scene_token for i in per_rank[0]} & \
        {records[i].scene_token for i in per_rank[1]}
