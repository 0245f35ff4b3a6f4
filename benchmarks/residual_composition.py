"""Does a method mistake flank A/T content for affinity? Correlation of each method's held-out residual
(calibrated prediction − measured ΔΔG) with the flank's A/T content, per finished run directory.

A world whose accessibility follows A/T content (the simulator's ``at_tracts`` mechanism, yeast's rule) puts
more reads on A/T-rich sites whatever their affinity; a method that reads those reads as binding predicts A/T
flanks too tight (a negative correlation). Two counts per method: A/T bases among the library's flank positions
(the 16-mer minus its central core), and A/T at the two positions next to the core.

    .venv/bin/python benchmarks/residual_composition.py runs/default runs/panel/yeast-at-tracts/seed1/pho4-betseq_pho4

Reads ``compare/predictions.parquet`` (held-out rows, calibrated predictions) and the run's library (the
built-in ``betseq_pho4`` unless ``--library``); prints one line per run and method.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.io.library import resolve_library

METHODS = ("affinity_distillation", "modisco", "jaspar", "weeder", "streme")


def residual_correlations(predictions: pd.DataFrame, sequences: pd.Series, core_start: int = 5,
                          core_length: int = 6) -> pd.DataFrame:
    """Per method: ``n``, ``rmse``, ``r_at`` (residual vs A/T count of the flank positions) and ``r_at_core``
    (vs A/T at the two positions next to the core), over the held-out rows of ``predictions``; ``sequences``
    maps row id → sequence."""
    held = predictions[predictions["heldout"]]
    seqs = sequences.loc[held["id"].astype(str)].to_numpy()
    end = core_start + core_length
    flank_at = np.array([sum(c in "AT" for c in s[:core_start] + s[end:]) for s in seqs], dtype=float)
    core_at = np.array([(s[core_start - 1] in "AT") + (s[end] in "AT") for s in seqs], dtype=float)
    rows = []
    for method in METHODS:
        if method not in held:
            continue
        residual = held[method].to_numpy() - held["measured"].to_numpy()
        ok = np.isfinite(residual)
        rows.append({"method": method, "n": int(ok.sum()), "rmse": float(np.sqrt(np.mean(residual[ok] ** 2))),
                     "r_at": float(np.corrcoef(residual[ok], flank_at[ok])[0, 1]),
                     "r_at_core": float(np.corrcoef(residual[ok], core_at[ok])[0, 1])})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories")
    parser.add_argument("--library", default="betseq_pho4", help="the runs' library (built-in name or file)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sequences = resolve_library(args.library).frame.set_index("id")["sequence"]
    for run in args.runs:
        table = residual_correlations(pd.read_parquet(run / "compare" / "predictions.parquet"), sequences)
        print(f"{run}:")
        for row in table.itertuples():
            print(f"  {row.method:22s} n {row.n:5d}  RMSE {row.rmse:.4f}  r(resid, flank A/T) {row.r_at:+.3f}  "
                  f"r(resid, A/T next to core) {row.r_at_core:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
