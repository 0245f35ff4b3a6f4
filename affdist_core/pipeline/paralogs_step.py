"""The paralog analysis of a project (the seed's differential specificity, issue 26): for every pair of TFs whose
own runs scored libraries sharing sequences, every method's predicted ΔΔG_a − ΔΔG_b against the measured one
(:mod:`affdist_core.compare.differential`), on the shared sequences both runs held out.

A TF's own run is the run directory that trains its model on its first library (the one naming it first:
:meth:`~affdist_core.pipeline.project.Project.libraries_of`). Each method's predictions are the ones its run
calibrated on its own calibration rows (``compare/predictions.parquet``). The result is written to both runs'
``analyses/paralogs.json`` (one entry per other TF) with the shared rows in ``analyses/paralogs_<tf>.parquet``;
``report.json`` and the catalog pick it up when the runs are finished.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from affdist_core.common import names
from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.common.names import RunDir
from affdist_core.compare.differential import (
    DEFAULT_TAIL_FRACTION,
    differential_table,
    preference_matrices,
    shared_heldout,
)

log = logging.getLogger(__name__)

PARALOGS_FILE = "paralogs.json"


def paralogs_table_name(other_tf: str) -> str:
    """The shared rows' file (in ``analyses/``) of the comparison with ``other_tf``."""
    return f"paralogs_{other_tf.lower()}.parquet"


def scored_rows(run_dir: Path, library_frame: pd.DataFrame) -> pd.DataFrame:
    """One run's calibrated predictions (``compare/predictions.parquet``: ``id``, one column per method,
    ``measured``, ``heldout``) with each row's ``sequence`` from its library (``id``, ``sequence``)."""
    predictions = pd.read_parquet(RunDir.at(run_dir).compare / names.PREDICTIONS_FILE)
    sequences = library_frame.set_index("id")["sequence"]
    return predictions.assign(sequence=predictions["id"].map(sequences).to_numpy())


def paralog_comparison(rows_a: pd.DataFrame, rows_b: pd.DataFrame, tf_a: str, tf_b: str,
                       tail_fraction: float = DEFAULT_TAIL_FRACTION) -> tuple[dict, pd.DataFrame]:
    """The comparison of TF a's and TF b's scored rows (:func:`scored_rows`): ``(payload, shared rows)``.

    The payload: both TFs, ``n_shared`` (sequences both held out), ``same_calibration_rows`` (whether the two
    runs calibrated on the same sequences), ``tail_fraction``, ``methods`` (one record per method scored by
    both: :func:`~affdist_core.compare.differential.differential_metrics`) and ``preferences`` (base
    frequencies of the tails each TF prefers, measured and per method's prediction). The shared rows frame has
    ``sequence``, ``measured_a``, ``measured_b``, each method's ``<method>_a`` / ``<method>_b`` and the
    differences ``measured_diff`` and ``<method>_diff``."""
    methods = [c for c in rows_a.columns if c not in ("id", "sequence", "measured", "heldout")]
    table = differential_table(rows_a, rows_b, methods, tail_fraction)
    shared = shared_heldout(rows_a.drop(columns="id"), rows_b.drop(columns="id"))
    shared["measured_diff"] = shared["measured_a"] - shared["measured_b"]
    for method in table["method"]:
        shared[f"{method}_diff"] = shared[f"{method}_a"] - shared[f"{method}_b"]
    calibration = [set(rows["sequence"].str.upper()[~rows["heldout"].astype(bool)]) for rows in (rows_a, rows_b)]
    preferences = {}
    for source in ["measured", *table["method"]]:
        matrices = preference_matrices(shared["sequence"].tolist(), shared[f"{source}_diff"].to_numpy(),
                                       tail_fraction)
        preferences[source] = {tf_a: matrices["a"].round(4).tolist(), tf_b: matrices["b"].round(4).tolist()}
    payload = {"tf_a": tf_a, "tf_b": tf_b, "n_shared": int(len(shared)),
               "same_calibration_rows": calibration[0] == calibration[1], "tail_fraction": tail_fraction,
               "difference": f"{tf_a} − {tf_b} (positive: {tf_b} prefers the sequence)",
               "methods": _records(table), "preferences": preferences}
    return payload, shared


def _records(table: pd.DataFrame) -> list[dict]:
    """The table's rows as JSON-ready dicts (NaN → None, as ``to_json`` writes it)."""
    return json.loads(table.to_json(orient="records"))


def write_paralogs(own_runs: list[tuple[str, Path, pd.DataFrame]],
                   tail_fraction: float = DEFAULT_TAIL_FRACTION) -> dict[str, list[dict]]:
    """Compare every pair of TFs' own runs (``(tf, run dir, library frame)`` in project order) and write each
    run's ``analyses/paralogs.json`` (every other TF it shares held-out sequences with; an empty list when
    none) and the shared rows. Returns ``{tf: [payload, …]}``; a run whose compare stage has not written its
    predictions is skipped with a warning."""
    rows = {}
    for tf, run_dir, frame in own_runs:
        path = RunDir.at(run_dir).compare / names.PREDICTIONS_FILE
        if not path.exists():
            log.warning("paralogs: %s has no %s; it is left out of the paralog analysis", run_dir, path.name)
            continue
        rows[tf] = (run_dir, scored_rows(run_dir, frame))
    results: dict[str, list[dict]] = {tf: [] for tf in rows}
    tfs = list(rows)
    for i, tf_a in enumerate(tfs):
        for tf_b in tfs[i + 1:]:
            (dir_a, rows_a), (dir_b, rows_b) = rows[tf_a], rows[tf_b]
            payload, shared = paralog_comparison(rows_a, rows_b, tf_a, tf_b, tail_fraction)
            if payload["n_shared"] == 0:
                log.info("paralogs: %s and %s share no held-out scored sequence", tf_a, tf_b)
                continue
            for tf, run_dir, other, other_dir in ((tf_a, dir_a, tf_b, dir_b), (tf_b, dir_b, tf_a, dir_a)):
                table = RunDir.at(run_dir).analyses / paralogs_table_name(other)
                write_parquet(table, shared)
                results[tf].append({**payload, "run_a": dir_a.name, "run_b": dir_b.name,
                                    "table": table.name})
            finite = [m for m in payload["methods"] if m["rmse"] is not None]
            best = min(finite, key=lambda m: m["rmse"]) if finite else {"method": "none", "rmse": float("nan")}
            log.info("paralogs %s − %s: %d shared held-out sequences; lowest RMSE of the difference: %s %.4f",
                     tf_a, tf_b, payload["n_shared"], best["method"], best["rmse"])
    for tf, (run_dir, _) in rows.items():
        write_json(RunDir.at(run_dir).analyses / PARALOGS_FILE, results[tf])
    return results
