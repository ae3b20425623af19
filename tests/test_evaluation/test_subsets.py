import pytest

from nexusflow.evaluation.subsets import build_subsets, supervised_cities
from nexusflow.evaluation.token_keyed_metric import merge_results_by_token

CITIES = {'t0': 'boston-seaport', 't1': 'singapore-onenorth', 't2': 'boston-seaport',
          't3': 'singapore-queenstown'}


def test_supervised_cities_forms():
    cities = set(CITIES.values())
    assert supervised_cities(dict(map='all'), 'map', cities) == cities
    assert supervised_cities(dict(map='none'), 'map', cities) == set()
    assert supervised_cities(dict(map=['boston-seaport']), 'map', cities) == {'boston-seaport'}


def test_supervised_cities_bad_input():
    with pytest.raises(KeyError, match='track'):
        supervised_cities(dict(map='all'), 'track', [])
    with pytest.raises(ValueError, match='boston'):
        supervised_cities(dict(map='boston-seaport'), 'map', [])


def test_build_subsets_members():
    subsets = build_subsets(CITIES, dict(track=['boston-seaport', 'singapore-onenorth']),
                            'track')
    assert subsets[''] == ('t0', 't1', 't2', 't3')
    assert subsets['@boston-seaport'] == ('t0', 't2')
    assert subsets['@singapore-queenstown'] == ('t3',)
    assert subsets['@supervised'] == ('t0', 't1', 't2')
    assert subsets['@unsupervised'] == ('t3',)


def test_build_subsets_drops_empty_role():
    subsets = build_subsets(CITIES, dict(track='all'), 'track')
    assert '@supervised' in subsets
    assert '@unsupervised' not in subsets
    assert '@supervised' not in build_subsets(CITIES)


def test_merge_uneven_ranks_with_duplicate():
    rank0 = [dict(token='a', v=0), dict(token='b', v=1), dict(token='c', v=2)]
    rank1 = [dict(token='d', v=3), dict(token='a', v=9)]
    merged = merge_results_by_token([rank0, rank1])
    assert [r['token'] for r in merged] == ['a', 'b', 'c', 'd']
    assert merged[0]['v'] == 0


def test_merge_rejects_missing_token():
    with pytest.raises(KeyError, match='rank 1'):
        merge_results_by_token([[dict(token='a')], [dict(v=1)]])
