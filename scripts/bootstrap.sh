#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment in .venv from the
# committed lock file. Needs only Python 3.11 on the machine; safe to run twice:
# it does nothing when .venv already matches requirements/lock.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
UV_VERSION="0.13.9"
VENV=".venv"
STAMP="$VENV/.brightpath-lock.sha256"

command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" - <<'PY' || { echo "bootstrap: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY

want="$(cat requirements/lock.txt setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi

echo "bootstrap: installing the locked environment into $VENV (first run takes a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
# The lock already holds the overrides (requirements/overrides.txt), so sync needs no resolver.
# --compile-bytecode: processes load cached bytecode from the start, also where PYTHONDONTWRITEBYTECODE
# is set (as on CI machines), instead of compiling TensorFlow's and MLflow's modules on every start.
"$VENV/bin/uv" pip sync --quiet --compile-bytecode --python "$VENV/bin/python" --require-hashes requirements/lock.txt
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e .
# TF-Agents 0.19 compares with literals (`x is ()`), which Python 3.11 reports as a SyntaxWarning each
# time it compiles those files; compile them once here, with that warning off, so runs load the cached
# bytecode quietly (brightpath.console filters the same warning where bytecode cannot be written).
site_packages="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$VENV/bin/python" -W ignore::SyntaxWarning -m compileall -q -j 0 "$site_packages/tf_agents" >/dev/null
echo "$want" > "$STAMP"
echo "bootstrap: ready ($VENV)" >&2
