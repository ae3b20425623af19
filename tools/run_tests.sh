#!/usr/bin/env bash
# Run the whole test suite in the .venv made by tools/setup_env.sh.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh tests/test_flows -x`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "No environment at $VENV: run 'bash tools/setup_env.sh' first." >&2
    exit 1
fi
export MPLBACKEND=Agg
# Subprocesses started by the tests (tools/*.sh) find the environment's python first.
export PATH="$(cd "$VENV/bin" && pwd):$PATH"
# Without arguments pytest runs the testpaths of pytest.ini (tests/).
exec "$VENV/bin/python" -m pytest -ra "$@"
