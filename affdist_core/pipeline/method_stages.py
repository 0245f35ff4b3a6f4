"""The method stages of a run, after the model is trained and interpreted: distill, baselines, compare, analyse.

Every stage reads and writes files under the run directory, so ``affdist demo`` can skip a finished stage and
resume an interrupted one:

``distill/``    ``scores.parquet`` (AD score, sd, N per scored library row), ``curve.parquet`` + ``curve_deltas.npy``
                (the backgrounds-curve rows scored on the whole background pool), ``backgrounds.parquet``
                (where each background came from), ``distill.json``;
``baselines/``  ``motifs.parquet``, ``baselines.json`` (:mod:`affdist_core.baselines.build`);
``compare/``    ``fits.parquet`` (every score column calibrated), ``predictions.parquet`` (each method's reported
                column, calibrated, every scored row), ``sample.json`` (the one calibration sample),
                ``comparison.json`` (per-method summary);
``analyses/``   ``dynamic_range.parquet``, ``genomic_matches.parquet``, ``analyses.json`` (backgrounds curve,
                sd ratios, counts by split, genomic-match correlations).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.io.library import InVitroLibrary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MethodSettings:
    """Sizes and seeds of the method stages.

    Attributes:
        n_scored: library rows scored (a fixed random subset), None = all rows.
        n_backgrounds: N backgrounds per AD score.
        n_models: BPNets trained with consecutive seeds whose mean scores AD (:mod:`affdist_core.model.ensemble`).
        background_pool: backgrounds drawn once; scores use the first ``n_backgrounds``, the curve all of them.
        curve_heldout_rows, curve_calibration_rows: held-out rows and calibration-sample rows (random subsets)
            scored on the whole pool for the backgrounds curve; its fits use those calibration rows.
        curve_models: ensemble members (the first ones; 1 = the primary model) whose mean scores the curve —
            the curve's cost is rows × pool × models, and one model shows how many backgrounds it needs.
        calibration_rows: calibration sample size; None = the paper's min(1000, 10 %) of the scored rows.
        top_k: motifs per method in the comparison.
        seed: seed of the subset, the backgrounds, the calibration sample and STREME.
        quick: smaller motif searches.
    """

    n_scored: int | None = 10_000
    n_backgrounds: int = 5
    n_models: int = 3
    background_pool: int = 100
    curve_heldout_rows: int = 300
    curve_calibration_rows: int = 300
    curve_models: int = 1
    calibration_rows: int | None = None
    top_k: int = 10
    seed: int = 0
    quick: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.n_backgrounds <= self.background_pool:
            raise ValueError(f"n_backgrounds: expected 1..background_pool ({self.background_pool}), got "
                             f"{self.n_backgrounds}")
        if isinstance(self.n_models, bool) or not isinstance(self.n_models, int) or self.n_models < 1:
            raise ValueError(f"n_models: expected a positive number of trained models, got {self.n_models!r}")
        if not 1 <= self.curve_models <= self.n_models:
            raise ValueError(f"curve_models: expected 1..n_models ({self.n_models}), got {self.curve_models}")


def _scored_rows(library: InVitroLibrary, settings: MethodSettings) -> pd.DataFrame:
    from affdist_core.marginalize.distill import library_subset

    frame = library.frame[["id", "sequence", "value"]].copy()
    frame["id"] = frame["id"].astype(str)
    return library_subset(frame, settings.n_scored, settings.seed)


def _sample(rows: pd.DataFrame, settings: MethodSettings):
    from affdist_core.calibrate.calibration import choose_calibration_sample

    return choose_calibration_sample(rows["id"].tolist(), n=settings.calibration_rows, random_state=settings.seed)


def run_distill(run_dir: Path, library: InVitroLibrary, settings: MethodSettings) -> dict:
    """AD scores of the scored rows and of the backgrounds-curve rows; returns ``distill.json``'s content."""
    from affdist_core.compare.analyses import curve_sample
    from affdist_core.marginalize.distill import distill_library
    from affdist_core.model.ensemble import ensemble_tag, load_members
    from affdist_core.marginalize.marginalizer import Marginalizer, backgrounds_from_model_dir

    model_dir, out = run_dir / "model", run_dir / "distill"
    started = time.perf_counter()
    rows = _scored_rows(library, settings)
    models = load_members(model_dir)
    if len(models) != settings.n_models:
        raise ValueError(f"{model_dir}: the ensemble has {len(models)} model(s) but the settings ask for "
                         f"{settings.n_models}; train the members first (affdist demo does)")
    pool = backgrounds_from_model_dir(model_dir, settings.background_pool, settings.seed)
    write_parquet(out / "backgrounds.parquet", pool.source.assign(background_id=pool.background_id))
    main = Marginalizer(models, pool.subset(settings.n_backgrounds))
    scores = distill_library(main, rows, out, model_tag=ensemble_tag(model_dir))
    scoring_s = time.perf_counter() - started

    started = time.perf_counter()
    curve_ids, _ = curve_sample(_sample(rows, settings), rows["id"].tolist(), settings.curve_heldout_rows,
                                settings.seed, n_calibration=settings.curve_calibration_rows)
    curve_rows = rows.set_index("id").loc[curve_ids].reset_index()
    curve_scorer = Marginalizer(models[: settings.curve_models], pool)
    result = curve_scorer.score(curve_rows["sequence"].tolist(), keep_deltas=True)
    np.save(out / "curve_deltas.npy", result.deltas)  # small: rows × pool float32
    write_parquet(out / "curve.parquet", result.to_frame().assign(id=curve_ids))
    summary = {"n_scored": len(scores), "n_library": len(library), "n_backgrounds": settings.n_backgrounds,
               "n_models": len(models),
               "background_pool": settings.background_pool, "background_id": main.backgrounds.background_id,
               "pool_background_id": pool.background_id, "n_curve_rows": len(curve_ids),
               "curve_models": settings.curve_models,
               "timings_s": {"score": scoring_s, "curve": time.perf_counter() - started},
               "settings": asdict(settings)}
    write_json(out / "distill.json", summary)
    return summary


def run_baselines(run_dir: Path, jaspar_id: str | None, settings: MethodSettings,
                  external: dict | None = None) -> dict:
    """The motif baselines (:func:`affdist_core.baselines.build.build_baselines`); returns ``baselines.json``."""
    from affdist_core.baselines.build import build_baselines

    build_baselines(run_dir / "model", run_dir / "baselines", jaspar_id=jaspar_id, external=external,
                    random_state=settings.seed, quick=settings.quick)
    return json.loads((run_dir / "baselines" / "baselines.json").read_text())


def run_compare(run_dir: Path, library: InVitroLibrary, settings: MethodSettings) -> dict:
    """Score the scored rows with every baseline motif, calibrate everything on one sample, summarise."""
    from affdist_core.baselines.build import load_baselines
    from affdist_core.compare.compare import compare_methods, member_metrics, motif_scores
    from affdist_core.marginalize.distill import member_columns
    from affdist_core.model.ensemble import member_dirs, training_seed

    out = run_dir / "compare"
    started = time.perf_counter()
    rows = _scored_rows(library, settings)
    scores = pd.read_parquet(run_dir / "distill" / "scores.parquet")
    if scores["id"].tolist() != rows["id"].tolist():
        raise ValueError(f"{run_dir / 'distill'}: scores are for other library rows; rerun the distill stage "
                         f"(affdist demo --force)")
    motifs = load_baselines(run_dir / "baselines")
    ids = rows["id"].tolist()
    table, columns = motif_scores(rows["sequence"].tolist(), motifs, ids, top_k=settings.top_k)
    sample = _sample(rows, settings)
    comparison = compare_methods(scores["score"].to_numpy(), table, columns, rows["value"].to_numpy(), ids, sample,
                                 motifs)
    write_parquet(out / "fits.parquet", comparison.fits)
    write_parquet(out / "predictions.parquet", comparison.predictions.assign(
        measured=rows["value"].to_numpy(), heldout=comparison.heldout.to_numpy()).reset_index())
    write_json(out / "sample.json", sample.to_dict())
    write_parquet(out / "scores.parquet", _reported_scores(table, scores["score"].to_numpy(), ids,
                                                           comparison.summary))
    summary = {"methods": comparison.summary, "n_scored": len(rows), "calibration": {
        "n_samples": sample.size, "seed": sample.seed, "rule": sample.rule}}
    members = member_columns(scores)
    if members:
        seeds = [training_seed(d) for d in member_dirs(run_dir / "model")]
        summary["ensemble_members"] = member_metrics(scores[members], rows["value"].to_numpy(), ids, sample,
                                                     seeds if len(seeds) == len(members) else None)
    summary["timings_s"] = {"compare": time.perf_counter() - started}
    write_json(out / "comparison.json", summary)
    return summary


def _reported_scores(table: pd.DataFrame, ad: np.ndarray, ids: list[str], summary: dict) -> pd.DataFrame:
    """Long table ``id, method, motif_id, scoring, score`` of the uncalibrated score each method reports."""
    from affdist_core.compare.compare import AD_METHOD

    frames = []
    for method, entry in summary.items():
        values = ad if method == AD_METHOD else table[entry["column"]].to_numpy()
        frames.append(pd.DataFrame({"id": ids, "method": method, "motif_id": entry.get("motif_id"),
                                    "scoring": entry["scoring"], "score": np.asarray(values, dtype=np.float64)}))
    return pd.concat(frames, ignore_index=True)


def run_analyses(run_dir: Path, library: InVitroLibrary, settings: MethodSettings) -> dict:
    """Dynamic range, backgrounds curve, calibration resampling, genomic matches and counts by split; returns
    ``analyses.json``."""
    from affdist_core.compare.analyses import CURVE_BACKGROUNDS, backgrounds_curve, calibration_resampling, counts_by_split
    from affdist_core.compare.analyses import dynamic_range, genomic_matches, sample_on_rows
    from affdist_core.calibrate.calibration import CalibrationSample
    from affdist_core.marginalize.marginalizer import MarginalizationResult

    out = run_dir / "analyses"
    started = time.perf_counter()
    predictions = pd.read_parquet(run_dir / "compare" / "predictions.parquet").set_index("id")
    methods = [c for c in predictions.columns if c not in ("measured", "heldout")]
    histogram, sd_ratios = dynamic_range(predictions[methods], predictions["measured"], predictions["heldout"])
    write_parquet(out / "dynamic_range.parquet", histogram)

    sample = CalibrationSample.from_dict(json.loads((run_dir / "compare" / "sample.json").read_text()))
    raw = pd.read_parquet(run_dir / "compare" / "scores.parquet").pivot(index="id", columns="method", values="score")
    resampling = calibration_resampling(raw[methods], predictions["measured"], len(sample.ids))
    curve = pd.read_parquet(run_dir / "distill" / "curve.parquet")
    deltas = np.load(run_dir / "distill" / "curve_deltas.npy")
    result = MarginalizationResult(curve["sequence"].tolist(), curve["mean"].to_numpy(), curve["sd"].to_numpy(),
                                   deltas.shape[1], str(curve["background_id"].iloc[0]), deltas)
    measured = predictions.loc[curve["id"], "measured"].to_numpy()
    ns = [n for n in CURVE_BACKGROUNDS if n <= deltas.shape[1]]
    curve_models = json.loads((run_dir / "distill" / "distill.json").read_text()).get("curve_models", 1)
    curve_points = [{**point, "n_models": curve_models} for point in
                    backgrounds_curve(result, curve["id"].tolist(), measured,
                                      sample_on_rows(sample, curve["id"].tolist()), ns)]

    frame = library.frame[["id", "sequence", "value"]].assign(id=lambda f: f["id"].astype(str))
    matches = genomic_matches(run_dir / "model", frame)
    write_parquet(out / "genomic_matches.parquet", matches)
    match_summary = _match_summary(matches)
    counts = pd.read_parquet(run_dir / "model" / "counts.parquet")
    summary = {"dynamic_range": {"sd_ratio": sd_ratios,
                                 "measured_sd_heldout": float(predictions.loc[predictions["heldout"], "measured"]
                                                              .std(ddof=1))},
               "backgrounds_curve": curve_points, "calibration_resampling": resampling,
               "genomic_matches": match_summary,
               "counts_by_split": counts_by_split(counts),
               "timings_s": {"analyses": time.perf_counter() - started}}
    write_json(out / "analyses.json", summary)
    return summary


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
