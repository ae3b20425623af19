import pytest

from tiny_nuscenes import write_tiny_nuscenes


@pytest.fixture(scope='session')
def tiny_nuscenes_root(tmp_path_factory):
    """Dataroot of the three-scene nuScenes database in ``tiny_nuscenes``."""
    return write_tiny_nuscenes(str(tmp_path_factory.mktemp('tiny_nuscenes')))
