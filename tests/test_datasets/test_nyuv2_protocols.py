import numpy as np
import pytest

from nexusflow.datasets.nyuv2_protocols import (build_task_masks,
                                                load_task_masks)


def test_onelabel_one_task_per_image():
    masks = build_task_masks('onelabel', 795, seed=3)
    assert masks.shape == (795, 3)
    assert masks.dtype == bool
    assert (masks.sum(axis=1) == 1).all()
    assert masks.sum(axis=0).tolist() == [265, 265, 265]


def test_onelabel_deterministic_by_seed():
    first = build_task_masks('onelabel', 795, seed=3)
    again = build_task_masks('onelabel', 795, seed=3)
    other = build_task_masks('onelabel', 795, seed=4)
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_onelabel_uneven_count():
    masks = build_task_masks('onelabel', 10, seed=0)
    assert sorted(masks.sum(axis=0).tolist()) == [3, 3, 4]


def test_randomlabels_one_or_two_tasks():
    masks = build_task_masks('randomlabels', 795, seed=0)
    per_image = masks.sum(axis=1)
    assert set(per_image.tolist()) == {1, 2}
    # Every task is labelled somewhere, and each subset size is common.
    assert (masks.sum(axis=0) > 100).all()
    assert 250 < (per_image == 1).sum() < 545


def test_randomlabels_deterministic_by_seed():
    first = build_task_masks('randomlabels', 795, seed=7)
    again = build_task_masks('randomlabels', 795, seed=7)
    other = build_task_masks('randomlabels', 795, seed=8)
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()


def test_full_protocol_all_labelled():
    assert build_task_masks('full', 5).all()


def test_unknown_protocol_rejected():
    with pytest.raises(ValueError, match='halflabels'):
        build_task_masks('halflabels', 5)


@pytest.mark.parametrize('suffix', ['.npy', '.txt'])
def test_mask_file_round_trip(tmp_path, suffix):
    masks = build_task_masks('randomlabels', 795, seed=1)
    path = tmp_path / f'mask{suffix}'
    if suffix == '.npy':
        np.save(path, masks)
    else:
        np.savetxt(path, masks.astype(int), fmt='%d')
    loaded = build_task_masks('onelabel', 795, mask_file=str(path))
    np.testing.assert_array_equal(loaded, masks)


def test_mask_file_wrong_shape(tmp_path):
    path = tmp_path / 'mask.npy'
    np.save(path, np.ones((794, 3), dtype=bool))
    with pytest.raises(ValueError) as info:
        load_task_masks(str(path), 795, 3)
    assert str(path) in str(info.value)
    assert '(794, 3)' in str(info.value)


def test_mask_file_missing(tmp_path):
    path = tmp_path / 'absent.npy'
    with pytest.raises(FileNotFoundError, match='absent.npy'):
        load_task_masks(str(path), 795, 3)
