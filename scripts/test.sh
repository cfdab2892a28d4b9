#!/usr/bin/env bash
# Quick start: set up the test environment and run every test CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=dev,local bash scripts/setup.sh
# The UI tests drive Debian's Chromium through Playwright (no browser download); CJK fonts for the screenshots.
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
exec .venv/bin/python -m pytest -q "$@"
