"""A writable copy of a nuScenes dataroot that contains our own custom splits.

The devkit's evaluators (nuscenes-devkit 1.2) take a split name and, for a name
that is not an official split, read its scene names from
``<dataroot>/<version>/splits.json``. The real dataroot may be read-only, so
this class builds a temporary dataroot of symbolic links to the real tables,
maps and sensor files and writes its own ``splits.json`` there. A
``NuScenes`` object loaded from it reads the new ``splits.json`` each time an
evaluator is built, so one loaded database serves every subset.
"""
import json
import os
import os.path as osp
import tempfile
from typing import Mapping, Optional, Sequence

SPLITS_FILE = 'splits.json'


class CustomSplitRoot:
    """Temporary dataroot mirroring a real one, with a replaceable splits.json.

    Args:
        data_root: The real nuScenes dataroot (contains ``<version>/``).
        version: The table folder, e.g. ``'v1.0-trainval'``.
        work_dir: Folder in which to create the temporary dataroot. Defaults
            to the system's temporary folder.

    Raises:
        FileNotFoundError: If ``<data_root>/<version>`` does not exist.
    """

    def __init__(self, data_root: str, version: str,
                 work_dir: Optional[str] = None) -> None:
        table_root = osp.join(data_root, version)
        if not osp.isdir(table_root):
            raise FileNotFoundError(
                f'nuScenes table folder {table_root} not found; check the '
                'metric\'s data_root and version.')
        self.version = version
        self._tmp = tempfile.TemporaryDirectory(prefix='nexusflow_nusc_', dir=work_dir)
        self.data_root = self._tmp.name

        real_root = osp.abspath(data_root)
        for name in os.listdir(real_root):
            if name != version:
                os.symlink(osp.join(real_root, name), osp.join(self.data_root, name))
        os.makedirs(osp.join(self.data_root, version))
        real_tables = osp.join(real_root, version)
        for name in os.listdir(real_tables):
            if name != SPLITS_FILE:
                os.symlink(osp.join(real_tables, name),
                           osp.join(self.data_root, version, name))

    @property
    def splits_path(self) -> str:
        """Path of the splits.json that the devkit reads."""
        return osp.join(self.data_root, self.version, SPLITS_FILE)

    def write_splits(self, splits: Mapping[str, Sequence[str]]) -> None:
        """Replace the custom splits with ``split name -> scene names``."""
        with open(self.splits_path, 'w') as f:
            json.dump({name: list(scenes) for name, scenes in splits.items()}, f)

    def cleanup(self) -> None:
        """Delete the temporary dataroot (the real one is untouched)."""
        self._tmp.cleanup()
