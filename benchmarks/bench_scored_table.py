"""Loading a run's scored table at library scale: the catalog's DuckDB-side pivot vs the long join pivoted in
pandas (the app's Calibration and Variant pages read this table; a ``--full`` run has a million scored rows).

Run: ``.venv/bin/python benchmarks/bench_scored_table.py [--rows 1048576] [--methods 7]``.

Builds a throw-away catalog with ``rows`` random 16-mers as a library and ``methods`` methods scoring every
row (random scores), then times, in one run: ``duckdb_pivot`` (:func:`affdist_core.catalog.queries.scored_rows`)
and ``pandas_pivot`` (the long ``scores ⋈ measurements`` frame, ``methods × rows`` rows, pivoted by
:func:`affdist_core.calibrate.subsets.scored_table`), checks that both give the same table, and prints JSON
with both wall times, their ratio and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.calibrate.subsets import scored_table
from affdist_core.catalog import queries
from affdist_core.catalog.schema import insert_frame, open_catalog

LONG_SQL = ("SELECT s.id, s.method, s.motif_id, s.scoring, s.score, m.sequence, m.value AS measured FROM scores s "
            "JOIN measurements m ON m.library = s.library AND m.id = s.id WHERE s.run_id = ? AND s.library = ?")


def build_catalog(path: Path, rows: int, methods: int, seed: int = 0) -> None:
    """A catalog with library ``lib`` of ``rows`` random 16-mers, every row scored by ``methods`` methods."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("ACGT"))
    sequences = ["".join(row) for row in letters[rng.integers(0, 4, (rows, 16))]]
    ids = [f"s{i:07d}" for i in range(rows)]
    with open_catalog(path) as catalog, catalog.transaction() as con:
        insert_frame(con, "measurements", pd.DataFrame({"library": "lib", "id": ids, "sequence": sequences,
                                                        "value": rng.normal(size=rows)}))
        for k in range(methods):
            method, motif, scoring = (("affinity_distillation", None, "marginalization") if k == 0
                                      else (f"method{k}", f"motif{k}", "max"))
            insert_frame(con, "scores", pd.DataFrame({"run_id": "run", "library": "lib", "method": method,
                                                      "motif_id": motif, "scoring": scoring, "id": ids,
                                                      "score": rng.normal(size=rows)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_048_576)
    parser.add_argument("--methods", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.duckdb"
        started = time.perf_counter()
        build_catalog(path, args.rows, args.methods)
        build_s = time.perf_counter() - started
        with open_catalog(path) as catalog:
            con = catalog.connection
            started = time.perf_counter()
            wide = queries.scored_rows(con, "run", "lib")
            duckdb_s = time.perf_counter() - started
            peak_after_duckdb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            reference = scored_table(con.execute(LONG_SQL, ["run", "lib"]).df())
            pandas_s = time.perf_counter() - started
    pd.testing.assert_frame_equal(wide.rows, reference.rows)
    print(json.dumps({
        "rows": args.rows, "methods": args.methods, "build_catalog_s": round(build_s, 1),
        "duckdb_pivot_s": round(duckdb_s, 2), "pandas_pivot_s": round(pandas_s, 2),
        "pandas_vs_duckdb": round(pandas_s / duckdb_s, 2),
        "peak_rss_mb_after_duckdb_pivot": round(peak_after_duckdb),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
    }, indent=2))


if __name__ == "__main__":
    main()
