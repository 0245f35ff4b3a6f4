#!/usr/bin/env bash
# Screenshots of every page of the app on the default catalog (data_catalog/affdist.duckdb, built by
# `bash demo.sh`), taken by the real-browser tests (Playwright + /usr/bin/chromium) into docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export AFFDIST_BROWSER_CATALOG="${AFFDIST_BROWSER_CATALOG:-$PWD/data_catalog/affdist.duckdb}"
export AFFDIST_SCREENSHOTS="${AFFDIST_SCREENSHOTS:-$PWD/docs/screenshots}"
exec .venv/bin/python -m pytest -q tests/app/test_browser.py "$@"
