"""Kinds of library sequence and every method's accuracy on each (issue 27; the seed's per-category figure).

A library's rows are grouped into *families* of categories, each a question users ask of a flank library:

=================== ================================================================================================
family              categories (a row is in at most one category of a family; families overlap)
=================== ================================================================================================
``genome``          ``in the genome`` (the 16-mer occurs on either strand of the run's genome) / ``not in the genome``
``tandem repeat``   both flanks are short tandem repeats: ``mono-nucleotide`` (AAAAA), ``di-nucleotide`` (ATATA),
                    ``tri-nucleotide`` (ACGAC) — the least periodic flank names it; rows with a non-repeat flank
                    are in no category of this family. The out-of-distribution set of the seed's augmentation study.
``distance``        Hamming distance over the flank positions from the tightest row (lowest measured value):
                    ``1 mismatch``, ``2 mismatches``, ``3 or more``
``composition``     G/C share of the flank positions: ``A/T-rich`` (≤ 30 %), ``G/C-rich`` (≥ 70 %), ``balanced``
``palindrome``      ``palindromic`` (the sequence equals its reverse complement) / ``not palindromic``
``library``         the library's own ``category`` column, when it has one
=================== ================================================================================================

The *flanks* are the positions outside the library's constant bases (its core, read from the library:
:func:`affdist_core.marginalize.linear_readout.constant_bases`), left and right of it; a library without
constant bases has one flank, the whole sequence, and no ``distance`` family is made when its rows differ in
length. A flank is a tandem repeat of period ``p`` (1–3) when every base equals the one ``p`` further on and the
flank holds at least ``p + 2`` bases (one unit and two more of its continuation). The thresholds are
definitions of the categories, stated here, not fitted to anything.

:func:`category_metrics` judges every method on the held-out rows of each category: n, Pearson, RMSE, and
RMSE(AD) − RMSE(the run's best other method) with its paired bootstrap over the category's rows, sorted by that
difference (the seed's layout).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from affdist_core.common.metrics import pearson, spearman
from affdist_core.common.names import AD_METHOD
from affdist_core.seq.alphabet import N_CODE, encode

FAMILIES = ("genome", "tandem repeat", "distance", "composition", "palindrome", "library")
REPEAT_NAMES = {1: "mono-nucleotide", 2: "di-nucleotide", 3: "tri-nucleotide"}
AT_RICH, GC_RICH = 0.30, 0.70
"""G/C share of the flank positions at or below which a row is ``A/T-rich``, at or above which ``G/C-rich``."""
CATEGORY_COLUMNS = ["row", "family", "category"]


def flank_positions(sequences: Sequence[str]) -> list[np.ndarray]:
    """The flanks of a library of equal-length ``sequences``: index arrays of the positions left and right of
    its constant bases (empty ones dropped), or the whole sequence when no base is constant."""
    from affdist_core.marginalize.linear_readout import constant_bases

    k = len(sequences[0])
    core, _ = constant_bases(sequences)
    if core.size == 0:
        return [np.arange(k)]
    flanks = [np.arange(0, core.min()), np.arange(core.max() + 1, k)]
    return [f for f in flanks if f.size]


def repeat_period(codes: np.ndarray) -> np.ndarray:
    """(n,) int: the smallest period ``p`` in 1–3 of each row of ``codes`` (n, m) — every base equals the one
    ``p`` further on, and ``m ≥ p + 2`` — or 0 when the row is no such tandem repeat."""
    n, m = codes.shape
    out = np.zeros(n, dtype=np.int64)
    for p in (3, 2, 1):  # the smallest period wins: later (smaller) p overwrite
        if m >= p + 2:
            out[(codes[:, p:] == codes[:, :-p]).all(axis=1)] = p
    return out


def _reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    rc = 3 - codes[:, ::-1]
    return np.where(codes[:, ::-1] == N_CODE, N_CODE, rc)


def library_categories(sequences: Sequence[str], values: np.ndarray, in_genome: np.ndarray | None = None,
                       user_categories: Sequence | None = None) -> pd.DataFrame:
    """Every row's categories (module docstring): long frame ``row`` (position in ``sequences``), ``family``,
    ``category``. ``in_genome``: (n,) bool, the rows found in the run's genome (no ``genome`` family when None);
    ``user_categories``: the library's own category per row (NA = none)."""
    seqs = [s.upper() for s in sequences]
    n = len(seqs)
    values = np.asarray(values, dtype=np.float64)
    frames: list[pd.DataFrame] = []

    def add(family: str, labels: np.ndarray) -> None:
        keep = pd.notna(labels)
        if keep.any():
            frames.append(pd.DataFrame({"row": np.flatnonzero(keep), "family": family,
                                        "category": np.asarray(labels, dtype=object)[keep]}))

    if in_genome is not None:
        add("genome", np.where(np.asarray(in_genome, dtype=bool), "in the genome", "not in the genome"))
    if n and len({len(s) for s in seqs}) == 1:
        k = len(seqs[0])
        codes = encode("".join(seqs)).reshape(n, k).astype(np.int64)
        flanks = flank_positions(seqs)
        periods = np.stack([repeat_period(codes[:, f]) for f in flanks], axis=1)
        worst = np.where((periods > 0).all(axis=1), periods.max(axis=1), 0)
        add("tandem repeat", np.array([REPEAT_NAMES.get(int(p)) for p in worst], dtype=object))
        variable = np.concatenate(flanks)
        tightest = int(np.nanargmin(values))
        distance = (codes[:, variable] != codes[tightest, variable]).sum(axis=1)
        add("distance", np.array([None if d == 0 else "1 mismatch" if d == 1 else "2 mismatches" if d == 2
                                  else "3 or more" for d in distance], dtype=object))
        flank_codes = codes[:, variable]
        gc = ((flank_codes == 1) | (flank_codes == 2)).mean(axis=1)
        add("composition", np.where(gc <= AT_RICH, "A/T-rich", np.where(gc >= GC_RICH, "G/C-rich", "balanced")))
        palindrome = (codes == _reverse_complement_codes(codes)).all(axis=1)
        add("palindrome", np.where(palindrome, "palindromic", "not palindromic"))
    if user_categories is not None:
        labels = pd.Series(list(user_categories), dtype=object)
        add("library", labels.where(labels.notna() & (labels.astype(str) != "nan")).to_numpy())
    if not frames:
        return pd.DataFrame(columns=CATEGORY_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CATEGORY_COLUMNS]


def category_metrics(predictions: pd.DataFrame, measured: np.ndarray, categories: pd.DataFrame,
                     best_other: str | None, n_boot: int = 1000) -> list[dict]:
    """Every method on each category's rows.

    Args:
        predictions: (n, methods) calibrated predictions of the held-out rows, one column per method.
        measured: (n,) measured values of the same rows.
        categories: :func:`library_categories` of those rows (``row`` indexes ``predictions``' rows).
        best_other: the method AD is set against (the run's lowest held-out RMSE among the others), or None.
        n_boot: paired bootstrap resamples of RMSE(AD) − RMSE(best_other) (seed 0).

    Returns one dict per family × category: ``family, category, n, methods: {method: {pearson, spearman,
    rmse}}`` and, with AD and ``best_other`` present and n ≥ 3, ``ad_minus_best`` (the paired difference,
    :func:`~affdist_core.calibrate.bootstrap.paired_rmse_difference`), sorted by that difference (categories
    without one last), ties by family and name.
    """
    from affdist_core.calibrate.bootstrap import paired_rmse_difference

    y = np.asarray(measured, dtype=np.float64)
    out = []
    for (family, category), group in categories.groupby(["family", "category"], sort=True):
        rows = group["row"].to_numpy()
        entry: dict = {"family": family, "category": category, "n": int(len(rows)), "methods": {}}
        for method in predictions.columns:
            pred = predictions[method].to_numpy(dtype=np.float64)[rows]
            ok = np.isfinite(pred) & np.isfinite(y[rows])
            entry["methods"][method] = {
                "pearson": pearson(pred[ok], y[rows][ok]) if ok.sum() >= 3 else float("nan"),
                "spearman": spearman(pred[ok], y[rows][ok]) if ok.sum() >= 3 else float("nan"),
                "rmse": float(np.sqrt(np.mean((pred[ok] - y[rows][ok]) ** 2))) if ok.any() else float("nan")}
        if best_other and AD_METHOD in predictions and best_other in predictions and len(rows) >= 3:
            try:
                entry["ad_minus_best"] = {"method": best_other, **paired_rmse_difference(
                    predictions[AD_METHOD].to_numpy()[rows], predictions[best_other].to_numpy()[rows], y[rows],
                    n_boot=n_boot)}
            except ValueError:
                pass
        out.append(entry)
    return sorted(out, key=lambda e: (e.get("ad_minus_best", {}).get("diff", np.inf), e["family"], e["category"]))


def best_other_method(summary: Mapping[str, Mapping]) -> str | None:
    """The method with the lowest held-out RMSE other than AD (the Overview's "best motif method")."""
    others = {m: e["rmse"] for m, e in summary.items()
              if m != AD_METHOD and np.isfinite(e.get("rmse", np.nan))}
    return min(others, key=others.get) if others else None


def metrics_frame(entries: list[dict]) -> pd.DataFrame:
    """:func:`category_metrics` as a long table: ``family, category, n, method, pearson, spearman, rmse,
    ad_minus_best, ci_low, ci_high`` (the last three repeated on each method's row of the category)."""
    rows = []
    for order, e in enumerate(entries):
        diff = e.get("ad_minus_best", {})
        for method, m in e["methods"].items():
            rows.append({"order": order, "family": e["family"], "category": e["category"], "n": e["n"],
                         "method": method, **m, "ad_minus_best": diff.get("diff", np.nan),
                         "ci_low": diff.get("ci95", [np.nan, np.nan])[0],
                         "ci_high": diff.get("ci95", [np.nan, np.nan])[1]})
    return pd.DataFrame(rows, columns=["order", "family", "category", "n", "method", "pearson", "spearman", "rmse",
                                       "ad_minus_best", "ci_low", "ci_high"])
