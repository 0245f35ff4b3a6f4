"""The compare stage: every method's scores calibrated on one sample and judged on the same held-out rows.

Reads ``distill/scores.parquet`` and the baseline motifs; writes ``compare/`` (:class:`~affdist_core.common.names.RunDir`):
``fits.parquet``, ``predictions.parquet``, ``sample.json``, ``scores.parquet`` (each method's raw reported score)
and ``comparison.json``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.common.names import (
    AD_METHOD,
    COMPARISON_FILE,
    FITS_FILE,
    PREDICTIONS_FILE,
    SAMPLE_FILE,
    SCORES_FILE,
    RunDir,
)
from affdist_core.io.library import InVitroLibrary
from affdist_core.pipeline.method_stages import MethodSettings, calibration_sample, scored_rows


def run_compare(run_dir: Path, library: InVitroLibrary, settings: MethodSettings) -> dict:
    """Score the scored rows with every baseline motif, calibrate everything on one sample, summarise; returns
    ``comparison.json``'s content."""
    from affdist_core.baselines.build import load_baselines
    from affdist_core.compare.compare import compare_methods, member_metrics, motif_scores
    from affdist_core.marginalize.distill import member_columns
    from affdist_core.model.ensemble import member_dirs, training_seed

    paths = RunDir.at(run_dir)
    out = paths.compare
    started = time.perf_counter()
    rows = scored_rows(library, settings)
    scores = pd.read_parquet(paths.distill / SCORES_FILE)
    if scores["id"].tolist() != rows["id"].tolist():
        raise ValueError(f"{paths.distill}: scores are for other library rows; rerun the distill stage "
                         f"(affdist demo --force)")
    motifs = load_baselines(paths.baselines)
    ids = rows["id"].tolist()
    table, columns = motif_scores(rows["sequence"].tolist(), motifs, ids, top_k=settings.top_k)
    sample = calibration_sample(rows, settings)
    comparison = compare_methods(scores["score"].to_numpy(), table, columns, rows["value"].to_numpy(), ids, sample,
                                 motifs)
    write_parquet(out / FITS_FILE, comparison.fits)
    write_parquet(out / PREDICTIONS_FILE, comparison.predictions.assign(
        measured=rows["value"].to_numpy(), heldout=comparison.heldout.to_numpy()).reset_index())
    write_json(out / SAMPLE_FILE, sample.to_dict())
    write_parquet(out / SCORES_FILE, _reported_scores(table, scores["score"].to_numpy(), ids, comparison.summary))
    if AD_METHOD in comparison.summary:
        comparison.summary[AD_METHOD]["readouts"] = readout_metrics(scores, rows["value"].to_numpy(), ids, sample,
                                                                    paths.distill)
    summary = {"methods": comparison.summary, "n_scored": len(rows), "calibration": {
        "n_samples": sample.size, "seed": sample.seed, "rule": sample.rule}}
    members = member_columns(scores)
    if members:
        seeds = [training_seed(d) for d in member_dirs(paths.model)]
        summary["ensemble_members"] = member_metrics(scores[members], rows["value"].to_numpy(), ids, sample,
                                                     seeds if len(seeds) == len(members) else None)
    summary["timings_s"] = {"compare": time.perf_counter() - started}
    write_json(out / COMPARISON_FILE, summary)
    return summary


def readout_metrics(scores: pd.DataFrame, measured: np.ndarray, ids: list[str], sample, distill_dir: Path) -> dict:
    """Every AD read-out candidate the run has, calibrated on the comparison's sample and judged on the same
    held-out rows: ``{"picked": name, "choice": the distill stage's record, <candidate>: {pearson, spearman, rmse,
    cv_rmse_calibration, weights}}`` for each candidate of
    :data:`~affdist_core.calibrate.readout_choice.READOUTS` whose components the scores hold."""
    import json

    from affdist_core.calibrate.calibration import calibrate
    from affdist_core.calibrate.readout_choice import (
        COMPONENTS,
        ReadoutChoice,
        available_readouts,
        readout_weights,
        weighted_sum,
    )
    from affdist_core.common.names import READOUTS_FILE

    path = distill_dir / READOUTS_FILE
    if not path.is_file() or "score_counts" not in scores:
        return {"picked": "counts"}
    choice = ReadoutChoice.from_dict(json.loads(path.read_text())["choice"])
    out: dict = {"picked": choice.picked, "choice": choice.to_dict()}
    components = {name: scores[f"score_{name}"].to_numpy(dtype=np.float64)
                  for name in COMPONENTS if f"score_{name}" in scores}
    in_sample = sample.mask(ids)
    y = np.asarray(measured, dtype=np.float64)
    for name in available_readouts(components):
        # a combination's weights on the same calibration rows: the choice's when it picked it, refitted otherwise
        weights = choice.weights if name == choice.picked else readout_weights(
            name, {c: v[in_sample] for c, v in components.items()}, y[in_sample])
        values = weighted_sum(weights, components, name)
        fit, _ = calibrate(values, measured, ids, sample, method=name)
        out[name] = {"pearson": fit.pearson, "spearman": fit.spearman, "rmse": fit.rmse,
                     "cv_rmse_calibration": choice.cv_rmse.get(name),
                     "weights": {c: w for c, w in weights.items() if w}}
    return out


def _reported_scores(table: pd.DataFrame, ad: np.ndarray, ids: list[str], summary: dict) -> pd.DataFrame:
    """Long table ``id, method, motif_id, scoring, score`` of the uncalibrated score each method reports."""
    frames = []
    for method, entry in summary.items():
        values = ad if method == AD_METHOD else table[entry["column"]].to_numpy()
        frames.append(pd.DataFrame({"id": ids, "method": method, "motif_id": entry.get("motif_id"),
                                    "scoring": entry["scoring"], "score": np.asarray(values, dtype=np.float64)}))
    return pd.concat(frames, ignore_index=True)
