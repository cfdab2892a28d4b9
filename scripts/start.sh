#!/usr/bin/env bash
# Quick start: set everything up, build the search index, open the web interviewer (offline model, no API key).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/interviewer index
exec .venv/bin/interviewer ui --open "$@"
