"""Method comparison: every method's scores calibrated on one sample and judged on the same held-out rows.

Methods are Affinity Distillation (one score per row: the marginalization mean) and the motif baselines
(``streme``, ``weeder``, ``modisco``, ``jaspar``, or any external motif file), each a ranked list of motifs.
Every motif scores every row on both strands, reduced per row by the **sum** and by the **max** of its window
scores (:mod:`affdist_core.baselines.pwm_scoring`); PWMs score as log-odds against a uniform background, MoDISco motifs
score with their contribution-weight matrix (CWM), as the seed does. A motif wider than the library's
sequences is first cut to the sequence length, keeping its most informative window (PWM information content,
or total |CWM| for MoDISco), since a longer motif has no window to score.

All score columns are calibrated with :func:`affdist_core.calibrate.calibration.calibrate_methods` on **one**
calibration sample. For each motif method the table reports

* the **top motif** (the method's own rank 1) with the scoring chosen for the method — ``sum`` or ``max``,
  whichever fits the calibration rows better (higher R² of the top motif; the held-out rows are never used to
  choose);
* the mean ± sd of the held-out RMSE over the method's top ``k`` motifs (k ≤ 10) with that scoring.

``sd_ratio`` is sd(calibrated predictions) / sd(measured) on the held-out rows: the dynamic range a method
recovers (for a linear calibration it equals |Pearson| up to sampling).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from affdist_core.common.names import AD_METHOD
from affdist_core.calibrate.calibration import FIT_COLUMNS, CalibrationSample, calibrate, calibrate_methods
from affdist_core.seq.motif import Motif
from affdist_core.baselines.pwm_scoring import score_table

log = logging.getLogger(__name__)

REDUCES = ("sum", "max")
DEFAULT_TOP_K = 10


def motif_use(motif: Motif) -> str:
    """The matrix a motif scores with: ``"cwm"`` for MoDISco motifs that carry one, else ``"pwm"``."""
    return "cwm" if motif.method == "modisco" and motif.cwm is not None else "pwm"


def _information(motif: Motif) -> np.ndarray:
    """(w,) per-position weight used to choose a window: information content (bits) or total |CWM|."""
    if motif_use(motif) == "cwm":
        return np.abs(motif.cwm).sum(axis=1)
    p = np.clip(motif.pwm, 1e-9, 1.0)
    return 2.0 + (p * np.log2(p)).sum(axis=1)


def fit_to_length(motif: Motif, length: int) -> Motif:
    """``motif`` unchanged if it fits in ``length`` bp, else its most informative window of width ``length``
    (provenance gains ``cut_to``: [start, end) in the original motif)."""
    if motif.width <= length:
        return motif
    weight = np.convolve(_information(motif), np.ones(length), mode="valid")
    start = int(np.argmax(weight))
    cut = (lambda m: None if m is None else m[start : start + length])
    return replace(motif, pwm=cut(motif.pwm), cwm=cut(motif.cwm), hcwm=cut(motif.hcwm),
                   provenance={**motif.provenance, "cut_to": [start, start + length]})


@dataclass(frozen=True)
class MotifColumn:
    """One score column of a motif method: which method, motif (rank 1 = best) and reduction."""

    column: str
    method: str
    motif_id: str
    rank: int
    scoring: str


def motif_scores(sequences: Sequence[str], motifs_by_method: Mapping[str, Sequence[Motif]], ids: Sequence[str],
                 top_k: int = DEFAULT_TOP_K) -> tuple[pd.DataFrame, list[MotifColumn]]:
    """Score ``sequences`` with the top ``top_k`` motifs of every method, sum and max.

    Returns a DataFrame indexed by ``ids`` with one column ``"{method}|{motif_id}|{scoring}"`` per (motif,
    reduction), and the description of each column.
    """
    lengths = {len(s) for s in sequences}
    shortest = min(lengths) if lengths else 0
    index = pd.Index(ids, name="id")
    frames, columns = [], []
    for method, motifs in motifs_by_method.items():
        ranked = list(motifs)[:top_k]
        # rank-named copies: one scan call per matrix kind encodes the sequences once for all the method's motifs
        fitted = [replace(fit_to_length(m, shortest), motif_id=f"rank{rank}") for rank, m in enumerate(ranked, 1)]
        scored = {use: score_table(sequences, [f for f in fitted if motif_use(f) == use], uses=(use,),
                                   reduces=REDUCES, index=index)
                  for use in {motif_use(f) for f in fitted}}
        for rank, (motif, fit) in enumerate(zip(ranked, fitted), start=1):
            use = motif_use(fit)
            for reduce in REDUCES:
                name = f"{method}|{motif.motif_id}|{reduce}"
                frames.append(scored[use][f"{fit.motif_id}:{use}:{reduce}"].rename(name))
                columns.append(MotifColumn(name, method, motif.motif_id, rank, reduce))
    table = pd.concat(frames, axis=1) if frames else pd.DataFrame(index=index)
    return table, columns


@dataclass
class Comparison:
    """Result of :func:`compare_methods`.

    Attributes:
        fits: one row per score column (:data:`affdist_core.calibrate.calibration.FIT_COLUMNS` plus ``column, method,
            motif_id, rank, scoring``).
        summary: per method, the report entry (pearson, spearman, rmse, sd_ratio of the top motif with the
            chosen scoring; ``top_k_rmse_mean``/``_sd``; ``k``; ``motif_id``, ``consensus``).
        predictions: calibrated predictions of each method's reported column, indexed by id (one column per
            method).
        heldout: bool Series indexed by id, True for rows not in the calibration sample.
    """

    fits: pd.DataFrame
    summary: dict[str, dict]
    predictions: pd.DataFrame
    heldout: pd.Series


def sd_ratio(pred: np.ndarray, measured: np.ndarray) -> float:
    """sd(pred) / sd(measured) over the rows with a finite prediction (nan with fewer than 2): dynamic range."""
    ok = np.isfinite(pred)
    if ok.sum() < 2:
        return float("nan")
    return float(np.std(pred[ok], ddof=1) / np.std(measured[ok], ddof=1))


def compare_methods(
    ad_scores: pd.Series | None,
    motif_table: pd.DataFrame,
    motif_columns: Sequence[MotifColumn],
    measured: np.ndarray,
    ids: Sequence[str],
    sample: CalibrationSample,
    motifs_by_method: Mapping[str, Sequence[Motif]] | None = None,
) -> Comparison:
    """Calibrate AD and every motif column on ``sample``; summarise per method (see the module docstring).

    Args:
        ad_scores: AD marginalization means aligned with ``ids`` (or None to compare motifs only).
        motif_table, motif_columns: from :func:`motif_scores` on the same ``ids``.
        measured: (n,) measured values aligned with ``ids``.
        ids: (n,) library ids of the scored rows.
        sample: the one calibration sample (ids ⊂ ``ids``).
        motifs_by_method: to report each top motif's consensus.
    """
    table = motif_table.copy()
    if ad_scores is not None:
        table.insert(0, AD_METHOD, np.asarray(ad_scores, dtype=np.float64))
    table.index = pd.Index(ids, name="id")
    in_sample = sample.mask(ids)
    constant = [c for c in table.columns if uninformative(table[c].to_numpy()[in_sample])]
    informative = table.drop(columns=constant)
    if informative.shape[1]:
        fits, predictions = calibrate_methods(informative, measured, ids, sample, return_predictions=True)
    else:
        fits, predictions = pd.DataFrame(columns=list(FIT_COLUMNS)), pd.DataFrame(index=table.index)
    if constant:
        log.warning("compare: %d score column(s) are constant on the calibration rows (the motif cannot tell the "
                    "library's sequences apart); they predict the calibration mean: %s", len(constant),
                    ", ".join(constant[:5]) + (" …" if len(constant) > 5 else ""))
        rows, preds = zip(*(_mean_prediction(c, np.asarray(measured, dtype=np.float64), in_sample, sample)
                            for c in constant))
        fits = pd.concat([fits, pd.DataFrame(list(rows))], ignore_index=True)
        predictions = pd.concat([predictions, pd.DataFrame(dict(zip(constant, preds)), index=predictions.index)],
                                axis=1)
    describe = {c.column: c for c in motif_columns}
    fits["column"] = fits["method"]
    fits["method"] = [describe[c].method if c in describe else AD_METHOD for c in fits["column"]]
    fits["motif_id"] = [describe[c].motif_id if c in describe else None for c in fits["column"]]
    fits["rank"] = [describe[c].rank if c in describe else 1 for c in fits["column"]]
    fits["scoring"] = [describe[c].scoring if c in describe else "marginalization" for c in fits["column"]]
    heldout = pd.Series(~sample.mask(ids), index=pd.Index(ids, name="id"), name="heldout")
    y = np.asarray(measured, dtype=np.float64)
    summary, chosen = {}, {}
    for method, rows in fits.groupby("method", sort=False):
        if method == AD_METHOD:
            best = rows.iloc[0]
            entry = {"scoring": "marginalization"}
        else:
            top = rows[rows["rank"] == 1].set_index("scoring")
            scoring = max(REDUCES, key=lambda s: np.nan_to_num(top.loc[s, "r2"], nan=-np.inf))
            same = rows[rows["scoring"] == scoring].sort_values("rank")
            best = same.iloc[0]
            rmses = same["rmse"].to_numpy(dtype=np.float64)
            motif = _find(motifs_by_method, method, best["motif_id"])
            entry = {"scoring": scoring, "motif_id": best["motif_id"],
                     "consensus": motif.consensus if motif is not None else None,
                     "top_k_rmse_mean": float(np.nanmean(rmses)),
                     "top_k_rmse_sd": float(np.nanstd(rmses, ddof=1)) if len(rmses) > 1 else 0.0,
                     "k": int(len(rmses))}
        pred = predictions[best["column"]].to_numpy()
        h = heldout.to_numpy()
        entry.update(column=str(best["column"]), pearson=float(best["pearson"]), spearman=float(best["spearman"]), rmse=float(best["rmse"]),
                     sd_ratio=sd_ratio(pred[h], y[h]), slope=float(best["slope"]),
                     intercept=float(best["intercept"]), r2_calibration=float(best["r2"]),
                     n_heldout=int(best["n_heldout"]))
        summary[method] = entry
        chosen[method] = predictions[best["column"]]
    if AD_METHOD in chosen:
        _add_paired_differences(summary, chosen, y, heldout.to_numpy())
    return Comparison(fits, summary, pd.DataFrame(chosen), heldout)


def _add_paired_differences(summary: dict, chosen: dict, y: np.ndarray, heldout: np.ndarray) -> None:
    """Give every other method's entry ``ad_minus_rmse``: RMSE(AD) − RMSE(method) on the held-out rows with its
    paired bootstrap over those rows (:func:`~affdist_core.calibrate.bootstrap.paired_rmse_difference`; seed 0)."""
    from affdist_core.calibrate.bootstrap import paired_rmse_difference

    ad = chosen[AD_METHOD].to_numpy()[heldout]
    for method, pred in chosen.items():
        if method != AD_METHOD and np.isfinite(ad).sum() >= 3:
            summary[method]["ad_minus_rmse"] = paired_rmse_difference(ad, pred.to_numpy()[heldout], y[heldout])


def member_metrics(member_scores: pd.DataFrame, measured: np.ndarray, ids: Sequence[str],
                   sample: CalibrationSample, seeds: Sequence[int] | None = None) -> list[dict]:
    """Each ensemble member's own AD score calibrated on the comparison's ``sample`` and judged on the same
    held-out rows: one dict per column of ``member_scores`` (n, K) with ``member`` (k), ``seed`` (if given),
    ``pearson``, ``spearman``, ``rmse`` and ``sd_ratio`` — what a single model of the ensemble would have
    reported."""
    y = np.asarray(measured, dtype=np.float64)
    held = ~sample.mask(ids)
    out = []
    for k, column in enumerate(member_scores.columns):
        fit, pred = calibrate(member_scores[column].to_numpy(dtype=np.float64), y, ids, sample, method=str(column))
        out.append({"member": k, **({"seed": int(seeds[k])} if seeds is not None else {}),
                    "pearson": fit.pearson, "spearman": fit.spearman, "rmse": fit.rmse,
                    "sd_ratio": sd_ratio(pred[held], y[held])})
    return out


def uninformative(calibration_scores: np.ndarray) -> bool:
    """True when a score cannot be calibrated on these rows: fewer than 3 finite values, or all equal."""
    finite = calibration_scores[np.isfinite(calibration_scores)]
    return finite.size < 3 or bool(np.all(finite == finite[0]))


def _mean_prediction(column: str, y: np.ndarray, in_sample: np.ndarray, sample: CalibrationSample
                     ) -> tuple[dict, np.ndarray]:
    """The fit row and predictions of a score that cannot be calibrated: every row gets the calibration mean."""
    mean = float(y[in_sample].mean())
    held = y[~in_sample]
    row = {"method": column, "slope": 0.0, "intercept": mean, "r2": 0.0, "n_calibration": int(in_sample.sum()),
           "n_heldout": int(held.size), "n_nan_calibration": 0, "n_nan_heldout": 0, "pearson": float("nan"),
           "spearman": float("nan"), "rmse": float(np.sqrt(np.mean((held - mean) ** 2))),
           "sample_rule": sample.rule, "sample_seed": sample.seed, "sample_size": sample.size}
    return row, np.full(y.size, mean)


def _find(motifs_by_method, method: str, motif_id: str) -> Motif | None:
    for motif in (motifs_by_method or {}).get(method, []):
        if motif.motif_id == motif_id:
            return motif
    return None
