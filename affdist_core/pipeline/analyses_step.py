"""The analyses stage: dynamic range, backgrounds curve, calibration resampling, genomic matches, counts by split,
and every method per kind of library sequence.

Reads ``compare/`` and ``distill/`` and the model directory; writes ``analyses/``
(:class:`~affdist_core.common.names.RunDir`): ``dynamic_range.parquet``, ``genomic_matches.parquet``,
``categories.parquet`` and ``analyses.json``.

Categories (:mod:`affdist_core.compare.categories`) are judged on the held-out scored rows of each; a category
with fewer than :data:`CATEGORY_MIN_ROWS` of them (the tandem-repeat flanks, the 16-mers found in the genome, the
closest relatives of the tightest flank) is topped up with library rows no method has scored, drawn at random
(seed 0) up to that many: every method scores them here exactly as the run did (AD: the run's models, backgrounds
and read-out, :func:`~affdist_core.marginalize.variants.build_marginalizer`; motif methods: their reported motif
and scoring) and each is calibrated with the run's own line, so they are held out by construction. The headline
figures stay those of the random scored rows.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.common.names import (
    ANALYSES_FILE,
    CATEGORIES_FILE,
    CURVE_DELTAS_FILE,
    CURVE_FILE,
    DISTILL_SUMMARY_FILE,
    DYNAMIC_RANGE_FILE,
    GENOMIC_MATCHES_FILE,
    PREDICTIONS_FILE,
    SAMPLE_FILE,
    SCORES_FILE,
    ModelDir,
    RunDir,
)
from affdist_core.io.library import InVitroLibrary


def run_analyses(run_dir: Path, library: InVitroLibrary) -> dict:
    """Dynamic range, backgrounds curve, calibration resampling, genomic matches and counts by split; returns
    ``analyses.json``'s content."""
    from affdist_core.calibrate.calibration import CalibrationSample
    from affdist_core.compare.analyses import (
        CURVE_BACKGROUNDS,
        backgrounds_curve,
        calibration_resampling,
        counts_by_split,
        dynamic_range,
        genomic_matches,
        sample_on_rows,
    )
    from affdist_core.marginalize.results import MarginalizationResult

    paths = RunDir.at(run_dir)
    out = paths.analyses
    started = time.perf_counter()
    predictions = pd.read_parquet(paths.compare / PREDICTIONS_FILE).set_index("id")
    methods = [c for c in predictions.columns if c not in ("measured", "heldout")]
    histogram, sd_ratios = dynamic_range(predictions[methods], predictions["measured"], predictions["heldout"])
    write_parquet(out / DYNAMIC_RANGE_FILE, histogram)

    sample = CalibrationSample.from_dict(json.loads((paths.compare / SAMPLE_FILE).read_text()))
    raw = pd.read_parquet(paths.compare / SCORES_FILE).pivot(index="id", columns="method", values="score")
    resampling = calibration_resampling(raw[methods], predictions["measured"], len(sample.ids))
    curve = pd.read_parquet(paths.distill / CURVE_FILE)
    deltas = np.load(paths.distill / CURVE_DELTAS_FILE)
    result = MarginalizationResult(curve["sequence"].tolist(), curve["mean"].to_numpy(), curve["sd"].to_numpy(),
                                   deltas.shape[1], str(curve["background_id"].iloc[0]), deltas)
    measured = predictions.loc[curve["id"], "measured"].to_numpy()
    ns = [n for n in CURVE_BACKGROUNDS if n <= deltas.shape[1]]
    curve_models = json.loads((paths.distill / DISTILL_SUMMARY_FILE).read_text()).get("curve_models", 1)
    curve_points = [{**point, "n_models": curve_models} for point in
                    backgrounds_curve(result, curve["id"].tolist(), measured,
                                      sample_on_rows(sample, curve["id"].tolist()), ns)]

    frame = library.frame[["id", "sequence", "value"]].assign(id=lambda f: f["id"].astype(str))
    matches = genomic_matches(paths.model, frame, _model_log_counts(paths.model))
    write_parquet(out / GENOMIC_MATCHES_FILE, matches)
    match_summary = _match_summary(matches)
    counts = pd.read_parquet(ModelDir(paths.model).counts)
    categories = run_categories(paths, library, predictions, set(matches["id"]) if len(matches) else set())
    summary = {"dynamic_range": {"sd_ratio": sd_ratios,
                                 "measured_sd_heldout": float(predictions.loc[predictions["heldout"], "measured"]
                                                              .std(ddof=1))},
               "backgrounds_curve": curve_points, "calibration_resampling": resampling,
               "genomic_matches": match_summary,
               "counts_by_split": counts_by_split(counts), "categories": categories,
               "timings_s": {"analyses": time.perf_counter() - started}}
    write_json(out / ANALYSES_FILE, summary)
    return summary


CATEGORY_MIN_ROWS = 100
"""Held-out rows a category is topped up to (from unscored library rows) when it has fewer: a sampling floor."""


def run_categories(paths: RunDir, library: InVitroLibrary, predictions: pd.DataFrame, in_genome: set[str]) -> dict:
    """Every method per kind of library sequence (module docstring); writes ``categories.parquet`` and returns
    ``{"best_other", "min_rows", "n_topup", "rows": [...]}`` (:func:`~affdist_core.compare.categories.category_metrics`,
    each row with ``n_topup``, its rows scored here)."""
    from affdist_core.compare.categories import best_other_method, category_metrics, library_categories, metrics_frame
    from affdist_core.common.names import COMPARISON_FILE

    frame = library.frame.assign(id=lambda f: f["id"].astype(str)).reset_index(drop=True)
    user = frame["category"] if frame["category"].notna().any() else None
    categories = library_categories(frame["sequence"].tolist(), frame["value"].to_numpy(),
                                    frame["id"].isin(in_genome).to_numpy(), user)
    summary = json.loads((paths.compare / COMPARISON_FILE).read_text())["methods"]
    methods = [m for m in predictions.columns if m not in ("measured", "heldout")]
    heldout = predictions[predictions["heldout"].astype(bool)]
    position = pd.Series(np.arange(len(frame)), index=frame["id"])
    scored = frame["id"].isin(set(predictions.index)).to_numpy()
    is_heldout = frame["id"].isin(set(heldout.index)).to_numpy()
    rng = np.random.default_rng(0)
    topup: set[int] = set()
    for _, group in categories.groupby(["family", "category"], sort=True):
        rows = group["row"].to_numpy()
        missing = CATEGORY_MIN_ROWS - int(is_heldout[rows].sum())
        candidates = np.setdiff1d(rows[~scored[rows]], np.fromiter(topup, dtype=np.int64, count=len(topup)))
        if missing > 0 and candidates.size:
            topup.update(rng.choice(candidates, size=min(missing, candidates.size), replace=False).tolist())
    extra = frame.iloc[sorted(topup)]
    extra_predictions = _score_rows(paths, extra, summary, methods) if len(extra) else pd.DataFrame(columns=methods)
    judged = pd.concat([heldout[methods], extra_predictions[methods]])
    measured = np.concatenate([heldout["measured"].to_numpy(dtype=np.float64), extra["value"].to_numpy(dtype=np.float64)])
    row_of = pd.Series(np.arange(len(judged)), index=position.loc[judged.index].to_numpy())
    judged_categories = categories[categories["row"].isin(row_of.index)].assign(row=lambda f: row_of.loc[f["row"]].to_numpy())
    best = best_other_method(summary)
    entries = category_metrics(judged.reset_index(drop=True), measured, judged_categories, best)
    n_scored_here = judged_categories.assign(extra=judged_categories["row"] >= len(heldout))
    topped = n_scored_here.groupby(["family", "category"])["extra"].sum()
    for entry in entries:
        entry["n_topup"] = int(topped.get((entry["family"], entry["category"]), 0))
    write_parquet(paths.analyses / CATEGORIES_FILE, metrics_frame(entries))
    return {"best_other": best, "min_rows": CATEGORY_MIN_ROWS, "n_topup": int(len(extra)), "rows": entries}


def _score_rows(paths: RunDir, rows: pd.DataFrame, summary: dict, methods: list[str]) -> pd.DataFrame:
    """Calibrated predictions of every method for library ``rows`` no method scored (index = their ids): AD from
    the run's models, backgrounds and read-out, each other method from the motif and scoring it reports, each
    with the run's calibration line."""
    from affdist_core.baselines.build import load_baselines
    from affdist_core.common.names import AD_METHOD, READOUTS_FILE
    from affdist_core.compare.compare import motif_scores
    from affdist_core.marginalize.backgrounds import run_backgrounds
    from affdist_core.marginalize.marginalizer import Marginalizer
    from affdist_core.marginalize.variants import readout_scorer
    from affdist_core.model.ensemble import load_members

    settings = json.loads((paths.distill / DISTILL_SUMMARY_FILE).read_text())["settings"]
    ids, sequences = rows["id"].tolist(), rows["sequence"].tolist()
    out = pd.DataFrame(index=pd.Index(ids, name="id"))
    if AD_METHOD in methods:
        _, scoring_set = run_backgrounds(paths.model, settings["background_pool"], settings["seed"],
                                         settings["n_backgrounds"])
        scorer = readout_scorer(Marginalizer(load_members(paths.model), scoring_set), paths.distill / READOUTS_FILE)
        raw = np.asarray(scorer.score(sequences, progress=False).mean, dtype=np.float64)
        entry = summary[AD_METHOD]
        out[AD_METHOD] = entry["slope"] * raw + entry["intercept"]
    others = [m for m in methods if m != AD_METHOD and m in summary]
    if others:
        table, _ = motif_scores(sequences, load_baselines(paths.baselines), ids, top_k=settings["top_k"])
        for method in others:
            entry = summary[method]
            out[method] = entry["slope"] * table[entry["column"]].to_numpy(dtype=np.float64) + entry["intercept"]
    return out


def _match_summary(matches: pd.DataFrame) -> dict:
    """Counts and Spearman correlations of the genomic matches (all, and in called peaks)."""
    out = {"n_matches": int(len(matches)), "n_distinct_sequences": int(matches["id"].nunique()) if len(matches) else 0}
    for name, rows in (("all", matches), ("in_peaks", matches[matches["in_peak"]] if len(matches) else matches)):
        if len(rows) < 3:
            continue
        out[name] = {
            "n": int(len(rows)),
            "observed_vs_invitro_spearman": float(rows["observed_log_counts"].corr(rows["value"], method="spearman")),
            "predicted_vs_invitro_spearman": float(rows["predicted_log_counts"].corr(rows["value"],
                                                                                      method="spearman")),
            "predicted_vs_observed_pearson": float(rows["predicted_log_counts"].corr(rows["observed_log_counts"])),
        }
    return out


def _model_log_counts(model_dir: Path):
    """``(onehot, **control) → (n,)`` total log counts predicted by the model in ``model_dir`` (loaded when
    called): what :func:`affdist_core.compare.analyses.genomic_matches` needs without loading Keras itself."""
    def predict(onehot: np.ndarray, **control: np.ndarray) -> np.ndarray:
        from affdist_core.model.bpnet import load_model, predict_outputs
        from affdist_core.model.evaluate import total_log_counts
        from affdist_core.model.inputs import LOGCOUNTS

        return total_log_counts(predict_outputs(load_model(ModelDir(model_dir).model), onehot, **control)[LOGCOUNTS])

    return predict
