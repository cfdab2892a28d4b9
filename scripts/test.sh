#!/usr/bin/env bash
# Quick start: set up the test environment and run every test CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=dev,local bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
