"""City partitions and the task masks they define."""
import pytest

from nexusflow.datasets.partition import (check_tasks_supervised,
                                          resolve_partition,
                                          task_mask_for_city)

CITIES = ['boston-seaport', 'singapore-onenorth']


def test_partition_shorthands():
    resolved = resolve_partition(dict(map='all', track='none'), CITIES)
    assert resolved == dict(map=set(CITIES), track=set())


def test_task_mask_per_city():
    resolved = resolve_partition(
        dict(map=['singapore-onenorth'], track=['boston-seaport']), CITIES)
    assert task_mask_for_city('singapore-onenorth', resolved) == dict(map=True, track=False)
    assert task_mask_for_city('boston-seaport', resolved) == dict(map=False, track=True)


def test_unknown_city_lists_present_cities():
    with pytest.raises(ValueError, match='boston-seaport') as error:
        resolve_partition(dict(map=['singapore-onenorht']), CITIES)
    assert 'singapore-onenorht' in str(error.value)


def test_absent_nuscenes_city_is_allowed():
    resolved = resolve_partition(dict(map=['singapore-queenstown']), CITIES)
    assert task_mask_for_city('singapore-onenorth', resolved) == dict(map=False)


def test_bad_shorthand_rejected():
    with pytest.raises(ValueError, match="'some'"):
        resolve_partition(dict(map='some'), CITIES)


def test_unsupervised_task_rejected():
    masks = [dict(map=True, track=False)] * 3
    with pytest.raises(ValueError, match="track"):
        check_tasks_supervised(masks, ['map', 'track'], 'infos.pkl')
    check_tasks_supervised(masks, ['map'], 'infos.pkl')
