"""``report.json``: the headline numbers of a run, in the shape the issue tracker and the app rely on.

Shape (fields may be added, these names are kept)::

    {"tf", "library", "units", "n_library", "n_scored", "n_backgrounds", "n_models",
     "calibration": {"n_samples", "seed", "rule"},
     "model": {"train"|"valid"|"test": {"counts_pearson", "counts_spearman", "profile_jsd", ...}},
     "methods": {"affinity_distillation": {"pearson", "spearman", "rmse", "sd_ratio", ...},
                 "streme"|"weeder"|"modisco"|"jaspar": {..., "scoring": "sum"|"max", "top_k_rmse_mean",
                                                        "top_k_rmse_sd", "k", "motif_id", "consensus"}},
     "backgrounds_curve": [{"n", "rmse", "sd", ...}, ...],
     "genomic_matches": {...}, "dynamic_range": {...}, "calibration_resampling": {...},
     "ensemble_members": [{"member", "seed", "pearson", "spearman", "rmse", "sd_ratio"}, ...] (K > 1 models),
     "training": [{"seed", "epochs_run", "best_epoch", "best_val_loss", "stop_reason",
                   "wall_time_guard": {"max_minutes", "hit"}}, ...] (every model, the primary first),
     "timings_s": {"simulate", "train", "evaluate", "interpret", "marginalize", "baselines", "compare",
                   "analyses", "total"}}

RMSE is in the library's units (BET-seq: RT), on held-out library rows (not in the calibration sample).
``timings_s`` gives the wall time of each stage when it last ran (a resumed run keeps the earlier times).
"""

from __future__ import annotations

from pathlib import Path

from affdist_core.common.atomic import write_json

MODEL_METRICS = ("counts_pearson", "counts_spearman", "profile_jsd", "profile_jsd_uniform", "profile_jsd_shuffled",
                 "n_windows")


def build_report(*, tf: str, library_name: str, units: str, n_library: int, metrics: dict, distill: dict,
                 comparison: dict, analyses: dict, timings: dict, training: list[dict] | None = None,
                 paralogs: list[dict] | None = None) -> dict:
    """Assemble the report dict from the stage summaries (see the module docstring)."""
    return {
        "tf": tf,
        "library": library_name,
        "units": units,
        "n_library": n_library,
        "n_scored": comparison["n_scored"],
        "n_backgrounds": distill["n_backgrounds"],
        "n_models": distill.get("n_models", 1),
        "calibration": comparison["calibration"],
        "model": {split: {k: m[k] for k in MODEL_METRICS if k in m} for split, m in metrics.items()},
        "methods": comparison["methods"],
        "backgrounds_curve": analyses["backgrounds_curve"],
        "dynamic_range": analyses["dynamic_range"],
        "calibration_resampling": analyses.get("calibration_resampling"),
        "ensemble_members": comparison.get("ensemble_members"),
        "training": training,
        "genomic_matches": analyses["genomic_matches"],
        "counts_by_split": analyses["counts_by_split"],
        **({} if paralogs is None else {"paralogs": paralogs}),
        "timings_s": {**{k: round(float(v), 2) for k, v in timings.items()},
                      "total": round(float(sum(timings.values())), 2)},
    }


def write_report(path: str | Path, report: dict) -> Path:
    """Atomically write ``report.json``."""
    return write_json(path, report)
