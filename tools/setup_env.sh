#!/usr/bin/env bash
# Create .venv with the pinned NexusFlow stack (torch, mmcv with ops, mmdet,
# mmdet3d, nuscenes-devkit) and install this repository into it in editable mode.
#
# Environment variables:
#   VENV         where to create the environment. Defaults to .venv.
#   PYTHON       interpreter used to create it. Defaults to python3 (3.11 tested).
#   TORCH_SPEC   pip requirement for torch. Defaults to torch==2.13.0. On a CUDA
#                node pass e.g. "torch==2.13.0 --index-url <your CUDA wheel index>".
#   MMCV_WHEELS  folder searched for a prebuilt mmcv 2.1.0 wheel. Defaults to
#                ../shared/wheels. When no wheel there fits, mmcv is built from
#                source (about 9 minutes on 2 cores). Set FORCE_CUDA=1 on a GPU
#                node so that the build compiles the CUDA ops.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MMCV_WHEELS="${MMCV_WHEELS:-$repo_root/../shared/wheels}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup_env] creating $VENV with $($PYTHON --version)"
    "$PYTHON" -m venv "$VENV"
fi
pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check "$@"; }

# mmcv 2.1.0's setup.py imports pkg_resources, which setuptools>=70 removed.
pip_install "setuptools<70" wheel
# shellcheck disable=SC2086
pip_install $TORCH_SPEC
pip_install "numpy>=1.24,<2"

if "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null; then
    echo "[setup_env] mmcv 2.1.0 with ops is already installed"
else
    find_links=()
    if [ -d "$MMCV_WHEELS" ]; then
        find_links=(--find-links "$MMCV_WHEELS")
        echo "[setup_env] looking for a prebuilt mmcv wheel in $MMCV_WHEELS"
    fi
    # torch pulls in setuptools>=77, but a source build of mmcv needs one below 70.
    # pip reports the conflict with torch's requirement, and the build works anyway.
    pip_install "setuptools<70"
    # pip takes the prebuilt wheel only when its tags fit this interpreter;
    # otherwise it builds the source release against the installed torch.
    MMCV_WITH_OPS=1 pip_install --no-build-isolation "${find_links[@]}" mmcv==2.1.0
    # Installing torch again restores the setuptools version that torch requires.
    # shellcheck disable=SC2086
    pip_install $TORCH_SPEC
fi

# Everything but mmdet3d with dependencies, then mmdet3d alone: its declared
# dependencies pull in open3d (~900 MB) for the viewer, which we do not use.
grep -v '^mmdet3d' requirements/runtime.txt > "$VENV/runtime-no-mmdet3d.txt"
pip_install -r "$VENV/runtime-no-mmdet3d.txt" -r requirements/tests.txt
pip_install --no-deps "$(grep '^mmdet3d' requirements/runtime.txt)"
pip_install --no-deps --no-build-isolation -e .

"$VENV/bin/python" - <<'PY'
import mmcv, mmdet, mmdet3d, mmengine, torch, nuscenes
from mmcv.ops import MultiScaleDeformableAttention  # noqa: F401
print(f'[setup_env] torch {torch.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, '
      f'mmdet3d {mmdet3d.__version__}, CUDA available: {torch.cuda.is_available()}')
PY
echo "[setup_env] done. Activate with: source $VENV/bin/activate"
