"""Display tables and metrics computed from catalog query results, for the explorer's browse pages.

Every function here is a pure function of DataFrames / payloads returned by :mod:`affdist_core.catalog.queries`
(which holds every SQL query) and returns small DataFrames / dicts ready to plot. Nothing here touches the
catalog.

Conventions: metrics are computed on the **held-out** rows (library rows scored by the run and not in its
calibration sample), in the library's units; correlations follow the package's one rule
(:mod:`affdist_core.common.metrics`: non-finite rows dropped, nan with fewer than 3 rows or a constant side,
Spearman on average ranks as :func:`scipy.stats.spearmanr`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from affdist_core.common.checks import check_int
from affdist_core.common.metrics import pearson, spearman
from affdist_core.common.names import AD_METHOD

log = logging.getLogger(__name__)

MAX_TOP_K = 10
METRICS = ("rmse", "pearson", "spearman")
ALL_ROWS = "(all)"
"""The ``category`` label :func:`metrics_by_category` gives the metrics over every held-out row."""


def _check_top_k(top_k: int) -> int:
    top_k = check_int("top_k", top_k, 1)
    if top_k > MAX_TOP_K:
        raise ValueError(f"top_k: expected an integer in 1..{MAX_TOP_K}, got {top_k!r}")
    return top_k


# ----------------------------------------------------------------------------------------------------------
# analyses


def backgrounds_curve_frame(payload: list[dict] | None) -> pd.DataFrame:
    """The ``backgrounds_curve`` payload as a table sorted by ``n``: columns ``n, rmse, pearson, spearman, sd,
    sem, pred_sd`` (float; ``sd``/``sem`` nan for n = 1). Empty (same columns) for None."""
    columns = ["n", "rmse", "pearson", "spearman", "sd", "sem", "pred_sd"]
    frame = pd.DataFrame(payload or [], columns=columns)
    frame = frame.astype({c: np.float64 for c in columns[1:]}).astype({"n": np.int64})
    return frame.sort_values("n", kind="stable").reset_index(drop=True)


def backgrounds_curve_models(payload: list[dict] | None) -> int | None:
    """How many ensemble models (the first ones) scored the backgrounds curve; None when the payload does not
    say (runs before ensembles: one model)."""
    counts = {int(point["n_models"]) for point in payload or [] if point.get("n_models") is not None}
    return counts.pop() if len(counts) == 1 else None


RESAMPLING_COLUMNS = ["method", "rmse_mean", "rmse_sd", "lowest_rmse_fraction", "pearson_mean", "pearson_sd",
                      "sd_ratio_mean", "sd_ratio_sd", "highest_sd_ratio_fraction"]


def calibration_resampling_frame(payload: dict | None) -> pd.DataFrame:
    """The ``calibration_resampling`` payload (:func:`affdist_core.compare.analyses.calibration_resampling`) as one row
    per method, AD first, then by mean RMSE: columns :data:`RESAMPLING_COLUMNS`. Empty (same columns) for
    None (runs from before the analysis existed)."""
    methods = (payload or {}).get("methods", {})
    frame = pd.DataFrame([{"method": m, **v} for m, v in methods.items()], columns=RESAMPLING_COLUMNS)
    frame = frame.astype({c: np.float64 for c in RESAMPLING_COLUMNS[1:]})
    order = np.lexsort((frame["rmse_mean"].fillna(np.inf).to_numpy(), (frame["method"] != AD_METHOD).to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


MEMBER_COLUMNS = ["model", "seed", "pearson", "spearman", "rmse", "sd_ratio"]


def ensemble_members_frame(members: list | None, ensemble: dict | None) -> pd.DataFrame:
    """Each ensemble member's own held-out metrics (the ``ensemble_members`` payload,
    :func:`affdist_core.compare.compare.member_metrics`) and, last, the ensemble's (``ensemble``: AD's entry of the
    comparison): columns :data:`MEMBER_COLUMNS`. Empty for None (a single model, or a run from before)."""
    rows = [{"model": f"member {m['member']}" + (" (primary)" if m["member"] == 0 else ""), **m}
            for m in members or []]
    if rows and ensemble:
        rows.append({"model": "ensemble mean (AD)", "seed": None,
                     **{k: ensemble[k] for k in MEMBER_COLUMNS[2:]}})
    frame = pd.DataFrame(rows, columns=MEMBER_COLUMNS)
    return frame.astype({"seed": "Int64", **{c: np.float64 for c in MEMBER_COLUMNS[2:]}})


READOUT_COLUMNS = ["read-out", "reported", "pearson", "spearman", "rmse", "cv_rmse_calibration", "weights"]
#: The numeric columns of :data:`READOUT_COLUMNS`.
READOUT_METRICS = ["pearson", "spearman", "rmse", "cv_rmse_calibration"]
READOUT_LABELS = {"counts": "counts (marginalization's Δ log counts)",
                  "linear": "linear (mean per-base response at the model's sites)",
                  "combined": "combined (least-squares mix of both)",
                  "split": "split (response at sites with the library's core and without, mixed)",
                  "counts_split": "counts + split (least-squares mix of the three)"}


def _weights_text(weights: dict | None) -> str:
    return ", ".join(f"{name} {w:+.3g}" for name, w in (weights or {}).items())


def readouts_frame(ad_entry: dict | None) -> pd.DataFrame:
    """AD's read-outs with their held-out metrics (the ``readouts`` of AD's comparison entry,
    :func:`affdist_core.pipeline.compare_step.readout_metrics`): columns :data:`READOUT_COLUMNS`, ``reported``
    True for the one the run chose, ``weights`` each component's weight in words. Empty for a run from before
    read-outs were chosen."""
    readouts = (ad_entry or {}).get("readouts") or {}
    rows = [{"read-out": READOUT_LABELS[name], "reported": name == readouts.get("picked"),
             **{k: readouts[name].get(k) for k in READOUT_METRICS},
             "weights": _weights_text(readouts[name].get("weights"))}
            for name in READOUT_LABELS if isinstance(readouts.get(name), dict)]
    return pd.DataFrame(rows, columns=READOUT_COLUMNS).astype({c: np.float64 for c in READOUT_METRICS})


# ----------------------------------------------------------------------------------------------------------
# metrics


def heldout_metrics(predicted: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    """``n, rmse, pearson, spearman`` of (n,) predictions against (n,) measured values (rows with a NaN
    prediction dropped; correlations nan with fewer than 3 rows or a constant side; rmse nan with none)."""
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(measured, dtype=np.float64)
    ok = np.isfinite(p) & np.isfinite(y)
    p, y = p[ok], y[ok]
    rmse = float(np.sqrt(np.mean((p - y) ** 2))) if len(p) else float("nan")
    return {"n": int(len(p)), "rmse": rmse, "pearson": pearson(p, y), "spearman": spearman(p, y)}


# ----------------------------------------------------------------------------------------------------------
# methods


HEADLINE_COLUMNS = ["tf", "library", "run_id", "n_heldout", "n_models", "ad_pearson", "ad_rmse",
                    "ad_one_model_pearson", "ad_one_model_rmse", "best_motif_method", "best_motif", "motif_pearson",
                    "motif_rmse", "rmse_ratio", "winner", "units", "test_counts_pearson"]


def headline_table(inputs: pd.DataFrame) -> pd.DataFrame:
    """One row per TF × library (:func:`affdist_core.catalog.queries.headline_inputs`): AD's held-out Pearson and
    RMSE next to the best motif method's (lowest held-out RMSE among the non-AD methods of the run's comparison,
    with the motif and scoring it reports), ``rmse_ratio`` = AD RMSE / motif RMSE (< 1: AD closer to the
    measurements) and ``winner`` (``"AD"``, the motif method's name, ``"tie"`` for equal RMSE, or ``""`` when
    either side is missing). ``n_models``: the BPNets AD averages; ``ad_one_model_*``: the primary model's own
    AD (member 0 of the ``members`` payload; the AD row itself when there is one model) — the equal-budget
    comparison with MoDISco, which reads that one model. Columns :data:`HEADLINE_COLUMNS`."""
    rows = []
    for row in inputs.itertuples():
        methods = row.comparison if isinstance(row.comparison, Mapping) else {}
        ad = methods.get(AD_METHOD, {})
        motifs = {name: entry for name, entry in methods.items()
                  if name != AD_METHOD and np.isfinite(entry.get("rmse", np.nan))}
        best = min(motifs, key=lambda name: motifs[name]["rmse"]) if motifs else None
        entry = motifs.get(best, {})
        ad_rmse, motif_rmse = float(ad.get("rmse", np.nan)), float(entry.get("rmse", np.nan))
        if np.isfinite(ad_rmse) and np.isfinite(motif_rmse):
            winner = "AD" if ad_rmse < motif_rmse else best if motif_rmse < ad_rmse else "tie"
            ratio = ad_rmse / motif_rmse if motif_rmse > 0 else np.nan
        else:
            winner, ratio = "", np.nan
        label = entry.get("consensus") or entry.get("motif_id") or ""
        members = row.members if isinstance(row.members, list) and row.members else None
        single = members[0] if members else ad
        rows.append({
            "tf": row.tf, "library": row.library, "run_id": row.run_id, "n_heldout": ad.get("n_heldout"),
            "n_models": len(members) if members else (1 if ad else None),
            "ad_pearson": float(ad.get("pearson", np.nan)), "ad_rmse": ad_rmse,
            "ad_one_model_pearson": float(single.get("pearson", np.nan)),
            "ad_one_model_rmse": float(single.get("rmse", np.nan)),
            "best_motif_method": best or "", "best_motif": f"{label} ({entry['scoring']})" if best else "",
            "motif_pearson": float(entry.get("pearson", np.nan)), "motif_rmse": motif_rmse, "rmse_ratio": ratio,
            "winner": winner, "units": row.units, "test_counts_pearson": float(row.test_counts_pearson)})
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS).astype({"n_heldout": "Int64", "n_models": "Int64"})


def reported_choices(fits: pd.DataFrame, comparison: Mapping[str, dict] | None) -> pd.DataFrame:
    """The motif and scoring each method reports: the ones the run's ``comparison`` analysis names, or (without
    it) the rule of :func:`affdist_core.compare.compare.compare_methods` — the rank-1 motif, with the reduction whose
    calibration R² is higher. Columns ``method, motif_id, scoring``; AD has ``motif_id`` None and scoring
    ``"marginalization"``."""
    rows = []
    for method, group in fits.groupby("method", sort=False):
        entry = (comparison or {}).get(method)
        if entry is not None:
            rows.append({"method": method, "motif_id": entry.get("motif_id"), "scoring": entry["scoring"]})
            continue
        top = group[group["rank"] == group["rank"].min()]
        if method == AD_METHOD or top["motif_id"].isna().all():
            best = top.iloc[0]
        else:
            best = top.loc[top["r2"].fillna(-np.inf).idxmax()]
        rows.append({"method": method, "motif_id": best["motif_id"], "scoring": best["scoring"]})
    return pd.DataFrame(rows, columns=["method", "motif_id", "scoring"])


def method_metrics(fits: pd.DataFrame, choices: pd.DataFrame, top_k: int = MAX_TOP_K) -> pd.DataFrame:
    """Held-out RMSE, Pearson and Spearman per method: of the reported motif, and mean ± sd over the top
    ``top_k`` motifs (1 ≤ top_k ≤ 10) scored the reported way.

    Args:
        fits: from :func:`affdist_core.catalog.queries.calibration_fits`.
        choices: from :func:`reported_choices`.
        top_k: how many of each method's best-ranked motifs to average (fewer when the method has fewer).

    Returns:
        One row per method, AD first then by RMSE: ``method, motif_id, consensus, scoring, n_heldout, rmse,
        pearson, spearman, k, rmse_mean, rmse_sd, pearson_mean, pearson_sd, spearman_mean, spearman_sd``
        (means/sd ignore nan; sd uses ddof = 1 and is 0 for k = 1).
    """
    top_k = _check_top_k(top_k)
    rows = []
    for choice in choices.itertuples(index=False):
        same = fits[(fits["method"] == choice.method) & (fits["scoring"] == choice.scoring)].sort_values("rank")
        if same.empty:
            continue
        if choice.motif_id is None or (isinstance(choice.motif_id, float) and math.isnan(choice.motif_id)):
            reported = same.iloc[0]
        else:
            match = same[same["motif_id"] == choice.motif_id]
            reported = match.iloc[0] if len(match) else same.iloc[0]
        top = same.head(top_k)
        row = {"method": choice.method, "motif_id": reported["motif_id"], "consensus": reported["consensus"],
               "scoring": choice.scoring, "n_heldout": int(reported["n_heldout"]),
               **{m: float(reported[m]) for m in METRICS}, "k": int(len(top))}
        for m in METRICS:
            values = top[m].to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            row[f"{m}_mean"] = float(finite.mean()) if finite.size else float("nan")
            row[f"{m}_sd"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        rows.append(row)
    columns = ["method", "motif_id", "consensus", "scoring", "n_heldout", *METRICS, "k",
               *(f"{m}_{s}" for m in METRICS for s in ("mean", "sd"))]
    out = pd.DataFrame(rows, columns=columns)
    order = out.assign(_ad=out["method"] != AD_METHOD).sort_values(["_ad", "rmse"], kind="stable").index
    return out.loc[order].reset_index(drop=True)


def metrics_by_category(predictions: pd.DataFrame) -> pd.DataFrame:
    """Held-out metrics per method and category (rows of :func:`affdist_core.catalog.queries.calibrated_predictions`).

    Returns ``method, category, n, rmse, pearson, spearman``: first :data:`ALL_ROWS` (every held-out row — equal
    to the stored calibration metrics), then each non-null category in sorted order.
    """
    held = predictions[predictions["heldout"].astype(bool)]
    rows = []
    for method, group in held.groupby("method", sort=False):
        parts = [(ALL_ROWS, group)] + sorted(
            ((str(c), g) for c, g in group.dropna(subset=["category"]).groupby("category")), key=lambda t: t[0])
        for category, part in parts:
            rows.append({"method": method, "category": category,
                         **heldout_metrics(part["predicted"].to_numpy(), part["measured"].to_numpy())})
    return pd.DataFrame(rows, columns=["method", "category", "n", *METRICS])


# ----------------------------------------------------------------------------------------------------------
# motifs


def matrix_frame(matrix: np.ndarray) -> pd.DataFrame:
    """A (w, 4) matrix as a table ``position`` (1-based), ``A, C, G, T`` (for display and download)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != 4:
        raise ValueError(f"matrix: expected shape (w, 4), got {matrix.shape}")
    frame = pd.DataFrame(matrix, columns=list("ACGT"))
    frame.insert(0, "position", np.arange(1, len(frame) + 1))
    return frame


# ----------------------------------------------------------------------------------------------------------
# genomic matches


def genomic_match_correlations(matches: pd.DataFrame) -> dict[str, float]:
    """Correlations of genomic matches (rows of the ``genomic_matches`` table), defined as in the run summary:
    ``n``, ``observed_vs_invitro_spearman`` (observed log counts vs in-vitro value), ``predicted_vs_invitro_
    spearman`` (model's predicted log counts vs in-vitro value) and ``predicted_vs_observed_pearson``; the
    package's correlation rule (nan with fewer than 3 finite rows or a constant side)."""
    out = {"n": int(len(matches))}
    pairs = {"observed_vs_invitro_spearman": ("observed_log_counts", "value", spearman),
             "predicted_vs_invitro_spearman": ("predicted_log_counts", "value", spearman),
             "predicted_vs_observed_pearson": ("predicted_log_counts", "observed_log_counts", pearson)}
    for name, (a, b, rule) in pairs.items():
        out[name] = rule(matches[a].to_numpy(dtype=np.float64), matches[b].to_numpy(dtype=np.float64))
    return out


# ----------------------------------------------------------------------------------------------------------
# paralogs


def density_grid(density: pd.DataFrame, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cells of :func:`affdist_core.catalog.queries.shared_density` as a full grid for a heatmap: (x centres (bins,), y centres (bins,),
    counts (bins_y, bins_x) int64 with zeros for empty cells)."""
    z = np.zeros((bins, bins), dtype=np.int64)
    if density.empty:
        return np.zeros(bins), np.zeros(bins), z
    z[density["y_bin"].to_numpy(), density["x_bin"].to_numpy()] = density["count"].to_numpy()
    wx = float((density["x_right"] - density["x_left"]).iloc[0])
    wy = float((density["y_right"] - density["y_left"]).iloc[0])
    x0 = float(density["x_left"].iloc[0] - density["x_bin"].iloc[0] * wx)
    y0 = float(density["y_left"].iloc[0] - density["y_bin"].iloc[0] * wy)
    return x0 + (np.arange(bins) + 0.5) * wx, y0 + (np.arange(bins) + 0.5) * wy, z


