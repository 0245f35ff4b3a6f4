"""Filling the catalog from a run directory (simulation or a user's files, model, evaluation, interpretation,
the method stages): ``affdist demo`` and ``affdist run`` write the same rows.

Everything of one run is written in a single transaction (:meth:`affdist_core.catalog.schema.Catalog.transaction`),
after the rows of an earlier run with the same id are deleted, so re-running replaces, never duplicates.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.catalog.schema import Catalog, insert_frame, record_run
from affdist_core.common import names
from affdist_core.common.names import AD_METHOD, ModelDir, RunDir
from affdist_core.io.library import InVitroLibrary
from affdist_core.seq.motif import load_motifs

log = logging.getLogger(__name__)

_RUN_TABLES = ("runs", "motifs", "analyses", "artifacts", "scores", "calibrations")
_MODEL_TABLES = ("models", "model_members", "model_metrics", "model_counts")


def write_demo_run(
    catalog: Catalog,
    run_id: str,
    run_dir: Path,
    tf: str,
    core: str,
    jaspar_id: str | None,
    library: InVitroLibrary,
    timings: dict[str, float],
    started_at: datetime,
    *,
    command: str = "affdist demo",
    config: dict | None = None,
    seeds: dict | None = None,
) -> None:
    """Record a run: TF, library + measurements, model (params, metrics, counts), motifs, artifacts and,
    when the method stages ran (``report.json`` exists), backgrounds, scores, the calibration sample, every
    calibration fit and the analyses.

    A simulated run (``data/simulation.json``) records the simulation config, seed and summary; a run on a
    user's files records ``config`` (e.g. the resolved project entry) and ``seeds``, and its files' paths as
    artifacts (from the model's data spec).
    """
    run = RunDir.at(run_dir)
    model_dir = run.model
    model = ModelDir.at(model_dir)
    simulation_path = run.data / names.SIMULATION_FILE
    simulation = json.loads(simulation_path.read_text()) if simulation_path.exists() else None
    if simulation is not None:
        config = {"simulation": simulation["config"], **(config or {})}
        seeds = {"simulation": simulation["config"]["seed"], **(seeds or {})}
    model_id = f"{run_id}:bpnet"
    with catalog.transaction() as con:
        for table in _RUN_TABLES:
            con.execute(f'DELETE FROM "{table}" WHERE run_id = ?', [run_id])
        for table in _MODEL_TABLES:
            con.execute(f'DELETE FROM "{table}" WHERE model_id = ?', [model_id])
        record_run(con, run_id, command, config or {}, seeds or {}, timings, started_at)
        con.execute("INSERT OR REPLACE INTO tfs VALUES (?, ?, ?)", [tf, core, jaspar_id])
        _write_library(con, library, tf)
        con.execute(
            "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?)",
            [model_id, tf, run_id, str(model_dir), model.params.read_text(), model.data_spec.read_text(),
             model.training.read_text()],
        )
        _write_members(con, model_id, model_dir)
        metrics = json.loads(model.metrics.read_text())
        insert_frame(con, "model_metrics", pd.DataFrame(
            [(model_id, split, name, float(value)) for split, values in metrics.items()
             for name, value in values.items()],
            columns=["model_id", "split", "metric", "value"]))
        counts = pd.read_parquet(model.counts)
        insert_frame(con, "model_counts", counts.assign(model_id=model_id)[
            ["model_id", "split", "chrom", "centre", "name", "observed_log_counts", "predicted_log_counts"]])
        baselines = run.baselines / names.MOTIFS_FILE
        _write_motifs(con, run_id, tf, baselines if baselines.exists() else model.interpret / names.MOTIFS_FILE)
        if run.report.exists():
            _write_methods(con, run_id, run_dir, library.name, model_id)
        insert_frame(con, "artifacts", _artifacts(run_id, run, model, simulated=simulation is not None))
        if simulation is not None:
            insert_frame(con, "analyses", pd.DataFrame({
                "run_id": [run_id], "library": [library.name], "name": ["simulation_summary"],
                "payload": [json.dumps(simulation["summary"], default=str)], "table_path": [None]}))
    log.info("catalog %s: run %s recorded", catalog.path, run_id)


def _artifacts(run_id: str, run: RunDir, model: ModelDir, simulated: bool) -> pd.DataFrame:
    """The run's files: contributions, and the genome, strand tracks and peaks (the simulation's, with its
    truth table, or the user's files named by the model's data spec)."""
    kinds = ["genome", "plus_bigwig", "minus_bigwig", "peaks"]
    descriptions = ["genome FASTA", "+ strand 5′ counts", "− strand 5′ counts", "peaks"]
    if simulated:
        paths = [str(run.data / name) for name in
                 (names.GENOME_FASTA_FILE, names.PLUS_BIGWIG_FILE, names.MINUS_BIGWIG_FILE, names.PEAKS_FILE,
                  names.SITES_FILE)]
        kinds, descriptions = kinds + ["sites"], descriptions[:3] + ["called peaks", "simulation truth"]
    else:
        spec = json.loads(model.data_spec.read_text())
        paths = [spec[key] for key in ("genome_fasta", "plus_bigwig", "minus_bigwig", "peaks")]
    return pd.DataFrame({
        "run_id": run_id, "kind": ["contributions"] + kinds,
        "path": [str(model.interpret / names.CONTRIBUTIONS_FILE)] + paths,
        "description": ["DeepSHAP hypothetical contributions of held-out peaks"] + descriptions})


def _write_members(con, model_id: str, model_dir: Path) -> None:
    """One ``model_members`` row per network the model's AD scores average (the primary alone when there is no
    ensemble)."""
    from affdist_core.model.ensemble import member_dirs, training_seed

    rows = [{"model_id": model_id, "member": index, "seed": training_seed(directory), "model_dir": str(directory),
             "training": ModelDir.at(directory).training.read_text()}
            for index, directory in enumerate(member_dirs(model_dir))]
    insert_frame(con, "model_members", pd.DataFrame(rows))


def _write_library(con, library: InVitroLibrary, tf: str) -> None:
    """Insert the library and its measurements unless the same library (name and row count) is there."""
    existing = con.execute("SELECT n_rows FROM libraries WHERE library = ?", [library.name]).fetchone()
    if existing is not None and existing[0] == len(library):
        return
    con.execute("DELETE FROM measurements WHERE library = ?", [library.name])
    con.execute("DELETE FROM libraries WHERE library = ?", [library.name])
    con.execute("INSERT INTO libraries VALUES (?, ?, ?, ?, ?, ?)",
                [library.name, tf, library.source, library.value_name, library.units, len(library)])
    frame = library.frame
    insert_frame(con, "measurements", pd.DataFrame({
        "library": library.name, "id": frame["id"].astype(str), "sequence": frame["sequence"].astype(str),
        "value": frame["value"].astype(np.float64),
        "category": frame["category"].astype(object).where(frame["category"].notna(), None),
    }))


def _write_motifs(con, run_id: str, tf: str, path: Path) -> None:
    if not path.exists():
        return
    rows = []
    for motif in load_motifs(path):
        rows.append({
            # the comparison's method name (baselines record it; e.g. modisco_ensemble, an external set's name)
            "motif_id": motif.motif_id, "run_id": run_id, "tf": tf,
            "method": motif.provenance.get("baseline", motif.method),
            "consensus": motif.consensus, "width": motif.width, "pwm": motif.pwm.tolist(),
            "cwm": None if motif.cwm is None else motif.cwm.tolist(),
            "hcwm": None if motif.hcwm is None else motif.hcwm.tolist(),
            "n_sites": motif.n_sites, "score": motif.score, "provenance": json.dumps(motif.provenance),
        })
    if rows:
        insert_frame(con, "motifs", pd.DataFrame(rows))


def _write_methods(con, run_id: str, run_dir: Path, library: str, model_id: str) -> None:
    """Backgrounds, scores, calibration sample and fits, analyses and their files, from the method stages."""
    run = RunDir.at(run_dir)
    distill = json.loads((run.distill / names.DISTILL_SUMMARY_FILE).read_text())
    settings = distill["settings"]
    for background_id, n in ((distill["background_id"], distill["n_backgrounds"]),
                             (distill["pool_background_id"], distill["background_pool"])):
        con.execute("INSERT OR REPLACE INTO background_sets VALUES (?, ?, ?, ?, ?)",
                    [background_id, model_id, n, settings["seed"], str(run.distill / names.BACKGROUNDS_FILE)])
    reported = pd.read_parquet(run.compare / names.SCORES_FILE)
    ad = pd.read_parquet(run.distill / names.SCORES_FILE)[["id", "sd", "n_backgrounds", "background_id"]]
    reported = reported.merge(ad, on="id", how="left")
    is_ad = reported["method"] == AD_METHOD
    for column in ("sd", "n_backgrounds", "background_id"):
        reported.loc[~is_ad, column] = None
    insert_frame(con, "scores", reported.assign(run_id=run_id, library=library))
    sample = json.loads((run.compare / names.SAMPLE_FILE).read_text())
    sample_id = f"{run_id}:calibration"
    con.execute("DELETE FROM calibration_samples WHERE sample_id = ?", [sample_id])
    con.execute("INSERT INTO calibration_samples VALUES (?, ?, ?, ?, ?)",
                [sample_id, library, sample["rule"], sample["seed"], sample["ids"]])
    fits = pd.read_parquet(run.compare / names.FITS_FILE)
    insert_frame(con, "calibrations", fits.assign(run_id=run_id, library=library, sample_id=sample_id)[
        ["run_id", "library", "method", "motif_id", "scoring", "sample_id", "slope", "intercept", "r2",
         "n_calibration", "n_heldout", "pearson", "spearman", "rmse"]])
    report = json.loads(run.report.read_text())
    analyses = [("report", report, None), ("comparison", report["methods"], None),
                ("backgrounds_curve", report["backgrounds_curve"], None),
                ("calibration_resampling", report.get("calibration_resampling"), None),
                ("dynamic_range", report["dynamic_range"], run.analyses / names.DYNAMIC_RANGE_FILE),
                ("genomic_matches", report["genomic_matches"], run.analyses / names.GENOMIC_MATCHES_FILE),
                ("counts_by_split", report["counts_by_split"], None),
                ("ensemble_members", report.get("ensemble_members"), None),
                ("predictions", {"n_scored": report["n_scored"]}, run.compare / names.PREDICTIONS_FILE)]
    for comparison in report.get("paralogs") or ():  # one row per other TF, its shared rows' table
        analyses.append(("paralogs", comparison, run.analyses / comparison["table"]))
    analyses = [a for a in analyses if a[1] is not None]  # runs from before an analysis existed lack it
    insert_frame(con, "analyses", pd.DataFrame({
        "run_id": run_id, "library": library, "name": [a[0] for a in analyses],
        "payload": [json.dumps(a[1], default=str) for a in analyses],
        "table_path": [None if a[2] is None else str(a[2]) for a in analyses]}))
    insert_frame(con, "artifacts", pd.DataFrame({
        "run_id": run_id, "kind": ["ad_scores", "curve_deltas", "report"],
        "path": [str(run.distill / names.SCORES_FILE), str(run.distill / names.CURVE_DELTAS_FILE),
                 str(run.report)],
        "description": ["AD score, sd and N of every scored library row",
                        "per-background Δ log counts of the backgrounds-curve rows (rows × pool) float32",
                        "the run's report.json"]}))
