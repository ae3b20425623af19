"""Shared pytest fixtures."""
import pytest

# Size of the session-wide toy nuScenes world: per city scenes, keyframes per scene.
TOY_SCENES_PER_CITY = 2
TOY_FRAMES_PER_SCENE = 5


@pytest.fixture(scope='session')
def toy_nuscenes_root(tmp_path_factory):
    """Generate a tiny toy nuScenes dataset once per session; return its dataroot Path.

    Two cities (``boston-seaport``, ``singapore-onenorth``), two scenes each, five
    keyframes per scene, 160 x 90 images, version ``v1.0-mini``, seed 0. Custom splits
    in ``v1.0-mini/splits.json``: ``toy_train``, ``toy_val`` and ``toy_train_<city>``,
    ``toy_val_<city>``.
    """
    from nexusflow.datasets.toy_world import generate_toy_nuscenes
    root = tmp_path_factory.mktemp('toy_nuscenes')
    return generate_toy_nuscenes(root, version='v1.0-mini', seed=0,
                                 num_scenes=TOY_SCENES_PER_CITY,
                                 num_frames=TOY_FRAMES_PER_SCENE, img_scale=0.1)


@pytest.fixture(scope='session')
def toy_nuscenes_infos(toy_nuscenes_root):
    """Convert the toy world with tools/create_data.py's code path; return the info paths.

    Returns ``dict(train=<path>, val=<path>)`` of ``nexusflow_infos_<split>.pkl``
    written into the toy dataroot (the layout the toy configs expect).
    """
    from nexusflow.datasets.converters.nuscenes_converter import create_nuscenes_infos
    return create_nuscenes_infos(str(toy_nuscenes_root), version='v1.0-mini',
                                 out_dir=str(toy_nuscenes_root))
