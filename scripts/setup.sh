#!/usr/bin/env bash
# Creates .venv with the project installed (editable). Idempotent: a second run only checks.
# EXTRAS selects optional dependency groups, e.g. EXTRAS=dev or EXTRAS=dev,local.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
extras=${EXTRAS:-}
stamp=".venv/.installed-${extras:-base}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  # Old pip needs ~10 minutes to resolve langchain; a current one takes seconds.
  .venv/bin/python -m pip install -q -U pip
  .venv/bin/python -m pip install -q -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
