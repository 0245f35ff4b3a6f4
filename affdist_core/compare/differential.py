"""Differential specificity of two paralogous TFs (the seed's yeast paralog analysis, Pho4 vs Cbf1).

For the sequences measured for both TFs, the measured difference ``d = ΔΔG_a − ΔΔG_b`` (positive: the
sequence costs TF a more than TF b, so TF b prefers it) against each method's predicted difference
``d̂ = ŷ_a − ŷ_b``, where ``ŷ_a`` and ``ŷ_b`` are the method's predictions calibrated per TF on that TF's
calibration rows (:mod:`affdist_core.compare.compare`). Only rows held out by both calibrations are judged.

:func:`differential_metrics` gives Pearson, Spearman and RMSE of ``d̂`` against ``d``, and the sign agreement
on the flanks where the paralogs disagree most: the ``tail_fraction`` of rows with the lowest ``d`` (TF a
prefers them) and the same fraction with the highest ``d`` (TF b prefers them), each tail holding
``max(1, floor(tail_fraction × n))`` rows. :func:`preference_matrices` gives the base frequencies of each tail
(what each TF prefers), the input of a flank logo.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from affdist_core.common.metrics import pearson, spearman

DEFAULT_TAIL_FRACTION = 0.05
BASES = "ACGT"


def tail_indices(difference: np.ndarray, tail_fraction: float = DEFAULT_TAIL_FRACTION) -> tuple[np.ndarray,
                                                                                              np.ndarray]:
    """Row indices of the lowest and of the highest ``tail_fraction`` of ``difference`` (finite rows only;
    ties broken by row order, a stable sort), each of ``max(1, floor(tail_fraction × n_finite))`` rows."""
    if not 0 < tail_fraction <= 0.5:
        raise ValueError(f"tail_fraction: expected a number in (0, 0.5], got {tail_fraction!r}")
    difference = np.asarray(difference, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(difference))
    if len(finite) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    k = max(1, int(np.floor(tail_fraction * len(finite))))
    order = finite[np.argsort(difference[finite], kind="stable")]
    return order[:k], order[-k:]


def differential_metrics(measured_a: np.ndarray, measured_b: np.ndarray, predicted_a: np.ndarray,
                         predicted_b: np.ndarray, tail_fraction: float = DEFAULT_TAIL_FRACTION) -> dict:
    """Metrics of a predicted difference against the measured one, all arrays (n,) aligned by row.

    Returns ``n`` (rows with all four values finite), ``pearson``, ``spearman``, ``rmse`` (of d̂ − d, in the
    values' units), ``sign_agreement`` (fraction of the two tails' rows where sign(d̂) = sign(d)),
    ``sign_agreement_a`` / ``sign_agreement_b`` (the tail TF a prefers, d lowest / TF b prefers, d highest)
    and ``n_tail`` (rows per tail)."""
    arrays = [np.asarray(v, dtype=np.float64).reshape(-1) for v in (measured_a, measured_b, predicted_a,
                                                                    predicted_b)]
    if len({len(v) for v in arrays}) != 1:
        raise ValueError(f"differential: expected four arrays of one length, got {[len(v) for v in arrays]}")
    ok = np.logical_and.reduce([np.isfinite(v) for v in arrays])
    ma, mb, pa, pb = (v[ok] for v in arrays)
    measured, predicted = ma - mb, pa - pb
    low, high = tail_indices(measured, tail_fraction)
    agree = np.sign(predicted) == np.sign(measured)
    tails = np.r_[low, high]
    return {
        "n": int(ok.sum()),
        "pearson": pearson(predicted, measured),
        "spearman": spearman(predicted, measured),
        "rmse": float(np.sqrt(np.mean((predicted - measured) ** 2))) if len(measured) else float("nan"),
        "sign_agreement": float(agree[tails].mean()) if len(tails) else float("nan"),
        "sign_agreement_a": float(agree[low].mean()) if len(low) else float("nan"),
        "sign_agreement_b": float(agree[high].mean()) if len(high) else float("nan"),
        "n_tail": int(len(low)),
    }


def differential_table(rows_a: pd.DataFrame, rows_b: pd.DataFrame, methods: Sequence[str],
                       tail_fraction: float = DEFAULT_TAIL_FRACTION) -> pd.DataFrame:
    """One row per method present in both TFs' tables: :func:`differential_metrics` on the sequences both
    tables hold and both hold out.

    ``rows_a``, ``rows_b``: one row per scored sequence of each TF's run, columns ``sequence``, ``measured``,
    ``heldout`` (bool) and one column of calibrated predictions per method. Sequences are matched
    case-insensitively; a sequence repeated within a table is an error (the difference would be ambiguous)."""
    joined = shared_heldout(rows_a, rows_b)
    out = []
    for method in methods:
        if f"{method}_a" not in joined or f"{method}_b" not in joined:
            continue
        metrics = differential_metrics(joined["measured_a"], joined["measured_b"], joined[f"{method}_a"],
                                       joined[f"{method}_b"], tail_fraction)
        out.append({"method": method, **metrics})
    return pd.DataFrame(out, columns=["method", "n", "pearson", "spearman", "rmse", "sign_agreement",
                                      "sign_agreement_a", "sign_agreement_b", "n_tail"])


def shared_heldout(rows_a: pd.DataFrame, rows_b: pd.DataFrame) -> pd.DataFrame:
    """The sequences of both tables held out by both, one row each: ``sequence``, and every other column with
    the suffix ``_a`` or ``_b`` (``measured_a``, ``AD_a``, …), in ``rows_a``'s order."""
    frames = []
    for name, rows in (("a", rows_a), ("b", rows_b)):
        missing = {"sequence", "measured", "heldout"} - set(rows.columns)
        if missing:
            raise ValueError(f"differential: table {name} lacks columns {sorted(missing)}")
        keyed = rows.assign(sequence=rows["sequence"].str.upper())
        repeated = keyed["sequence"][keyed["sequence"].duplicated()]
        if len(repeated):
            raise ValueError(f"differential: table {name} holds sequence {repeated.iloc[0]} more than once")
        frames.append(keyed[keyed["heldout"].astype(bool)].drop(columns="heldout").set_index("sequence")
                      .add_suffix(f"_{name}"))
    return frames[0].join(frames[1], how="inner").reset_index()


def preference_matrices(sequences: Sequence[str], difference: np.ndarray,
                        tail_fraction: float = DEFAULT_TAIL_FRACTION) -> dict[str, np.ndarray]:
    """Base frequencies (L, 4; columns A, C, G, T; rows sum to 1) of the sequences each TF prefers: ``"a"``,
    the tail with the lowest ``difference`` (= ΔΔG_a − ΔΔG_b, so TF a binds them relatively tighter), and
    ``"b"``, the tail with the highest. Sequences: equal length, A/C/G/T (others are not counted)."""
    sequences = [s.upper() for s in sequences]
    lengths = {len(s) for s in sequences}
    if len(lengths) > 1:
        raise ValueError(f"preference_matrices: sequences of several lengths {sorted(lengths)}")
    low, high = tail_indices(difference, tail_fraction)
    length = lengths.pop() if lengths else 0
    out = {}
    for name, rows in (("a", low), ("b", high)):
        counts = np.zeros((length, 4))
        for i in rows:
            for j, base in enumerate(sequences[i]):
                k = BASES.find(base)
                if k >= 0:
                    counts[j, k] += 1
        totals = counts.sum(axis=1, keepdims=True)
        out[name] = np.divide(counts, totals, out=np.full_like(counts, 0.25), where=totals > 0)
    return out
