#!/usr/bin/env bash
# Acceptance check of `affdist run` on a user's files: the files of a finished `affdist demo` (default
# runs/default) handed over as a user's own (examples/demo_as_user.toml: no [simulate] section), run, and the
# two report.json compared; exits 1 unless they are equal but for the timings.
#   bash scripts/demo_as_user_files.sh [DEMO_RUN_DIR] [OUT_DIR]      (about 22 min on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
demo="$(realpath "${1:-runs/default}")"
out="$(realpath -m "${2:-runs/demo_as_user}")"
if [[ ! -f "$demo/report.json" ]]; then
  echo "$demo has no report.json: run the demo first (bash demo.sh)" >&2
  exit 2
fi
mkdir -p "$out/files"
for f in genome.fa plus.bw minus.bw control_plus.bw control_minus.bw peaks.narrowPeak; do
  cp "$demo/data/$f" "$out/files/$f"
done
cp examples/demo_as_user.toml "$out/project.toml"
.venv/bin/python - "$out/files/pho4_betseq.parquet" <<'PY'
import sys
from affdist_core.io.library import resolve_library
library = resolve_library("betseq_pho4")
library.frame.rename(columns={"id": "flank", "value": "ddG"})[["flank", "sequence", "ddG"]].to_parquet(
    sys.argv[1], index=False)
PY
.venv/bin/affdist run "$out/project.toml"
.venv/bin/python - "$demo/report.json" "$out/runs/pho4-betseq_pho4/report.json" <<'PY'
import json, sys
demo, user = (json.load(open(p)) for p in sys.argv[1:3])
for name, entry in demo["methods"].items():
    other = user["methods"][name]
    print(f"{name:22s} demo r {entry['pearson']:.6f} RMSE {entry['rmse']:.6f} | user's files r "
          f"{other['pearson']:.6f} RMSE {other['rmse']:.6f}")
differ = [k for k in demo if k != "timings_s" and demo[k] != user.get(k)]
print("report.json equal but for the timings:", not differ, *(["(differ: " + ", ".join(differ) + ")"] if differ else []))
sys.exit(1 if differ else 0)
PY
