#!/usr/bin/env bash
# Command 1 of the README: set everything up, then run the main job on the embedded default dataset.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
exec .venv/bin/affdist demo "$@"
