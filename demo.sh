#!/usr/bin/env bash
# Command 1 of the README: set everything up, run the main job on the embedded default dataset (stages already
# done are skipped), then serve the explorer app on the catalog it filled (http://localhost:8501; Ctrl-C stops).
# AFFDIST_NO_APP=1 skips the app.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
if [[ "${AFFDIST_NO_APP:-0}" == "1" ]]; then
  exec .venv/bin/affdist demo "$@"
fi
exec .venv/bin/affdist demo --app "$@"
