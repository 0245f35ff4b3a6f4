"""Scaling of library distillation over Dask workers (:mod:`affdist_core.marginalize.dask_distill`).

Run: ``.venv/bin/python benchmarks/bench_dask.py --model-dir runs/default/<run>/model [--rows 20000]
[--backgrounds 5] [--pool-size 100] [--chunk-rows 2000]``.

Scores the same ``rows`` random 16-mers with a trained model directory (its ensemble members and its
background pool, as the demo's distill stage draws them) three ways, in one run:

* ``single_process``: :func:`~affdist_core.marginalize.distill.distill_library` in this process (TensorFlow on
  every core);
* ``dask_1_worker`` / ``dask_2_workers``: :func:`~affdist_core.marginalize.dask_distill.distill_library_dask` on a
  fresh LocalCluster of 1 or 2 worker processes (one TensorFlow thread each), cluster start, model loading and
  background caching included — what a user waits for.

Prints JSON: each way's wall time and scored rows per second, ``scaling_2_vs_1`` (1-worker wall / 2-worker
wall) and ``dask_2_vs_single``, and ``identical`` (the three merged score files are equal bit for bit after
sorting by id). Absolute times depend on the machine's load (``load_average`` is printed); the ratios come from
one run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.marginalize.dask_distill import MarginalizerRecipe, distill_library_dask
from affdist_core.marginalize.distill import distill_library
from affdist_core.seq.alphabet import decode


def random_library(rows: int, length: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` random ``length``-mers with ids ``q0 … q{rows-1}``."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"q{i}" for i in range(rows)],
                         "sequence": [decode(rng.integers(0, 4, length)) for _ in range(rows)]})


def timed(fn) -> tuple[float, pd.DataFrame]:
    started = time.perf_counter()
    scores = fn()
    return time.perf_counter() - started, scores.sort_values("id").reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, required=True, help="a trained model directory (a run's model/)")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--query-length", type=int, default=16)
    parser.add_argument("--backgrounds", type=int, default=5)
    parser.add_argument("--pool-size", type=int, default=100)
    parser.add_argument("--chunk-rows", type=int, default=2_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    recipe = MarginalizerRecipe(str(args.model_dir), args.backgrounds, args.pool_size, seed=0)
    frame = random_library(args.rows, args.query_length)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        single_s, single = timed(lambda: distill_library(recipe.build(), frame, tmp / "single",
                                                         chunk_rows=args.chunk_rows, progress=False))
        one_s, one = timed(lambda: distill_library_dask(recipe, frame, tmp / "dask1", chunk_rows=args.chunk_rows,
                                                        workers=1))
        two_s, two = timed(lambda: distill_library_dask(recipe, frame, tmp / "dask2", chunk_rows=args.chunk_rows,
                                                        workers=2))
    identical = bool(single.equals(one) and single.equals(two))
    result = {
        "model_dir": str(args.model_dir),
        "models": recipe.n_models(),
        "rows": args.rows,
        "backgrounds": args.backgrounds,
        "chunk_rows": args.chunk_rows,
        "single_process": {"wall_s": round(single_s, 1), "rows_per_s": round(args.rows / single_s, 1)},
        "dask_1_worker": {"wall_s": round(one_s, 1), "rows_per_s": round(args.rows / one_s, 1)},
        "dask_2_workers": {"wall_s": round(two_s, 1), "rows_per_s": round(args.rows / two_s, 1)},
        "scaling_2_vs_1": round(one_s / two_s, 2),
        "dask_2_vs_single": round(single_s / two_s, 2),
        "identical": identical,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    if not identical:
        raise SystemExit("the Dask runs' scores differ from the single-process run's")


if __name__ == "__main__":
    main()
