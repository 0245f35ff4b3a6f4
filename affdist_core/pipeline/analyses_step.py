"""The analyses stage: dynamic range, backgrounds curve, calibration resampling, genomic matches, counts by split.

Reads ``compare/`` and ``distill/`` and the model directory; writes ``analyses/``
(:class:`~affdist_core.common.names.RunDir`): ``dynamic_range.parquet``, ``genomic_matches.parquet`` and
``analyses.json``.
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
    summary = {"dynamic_range": {"sd_ratio": sd_ratios,
                                 "measured_sd_heldout": float(predictions.loc[predictions["heldout"], "measured"]
                                                              .std(ddof=1))},
               "backgrounds_curve": curve_points, "calibration_resampling": resampling,
               "genomic_matches": match_summary,
               "counts_by_split": counts_by_split(counts),
               "timings_s": {"analyses": time.perf_counter() - started}}
    write_json(out / ANALYSES_FILE, summary)
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


def _model_log_counts(model_dir: Path):
    """``(onehot, **control) → (n,)`` total log counts predicted by the model in ``model_dir`` (loaded when
    called): what :func:`affdist_core.compare.analyses.genomic_matches` needs without loading Keras itself."""
    def predict(onehot: np.ndarray, **control: np.ndarray) -> np.ndarray:
        from affdist_core.model.bpnet import load_model, predict_outputs
        from affdist_core.model.evaluate import total_log_counts
        from affdist_core.model.inputs import LOGCOUNTS

        return total_log_counts(predict_outputs(load_model(ModelDir(model_dir).model), onehot, **control)[LOGCOUNTS])

    return predict
