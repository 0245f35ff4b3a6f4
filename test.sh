#!/usr/bin/env bash
# Command 2 of the README: set everything up (if needed), then run the test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
exec .venv/bin/python -m pytest -q --durations=15 "$@"
