"""Linear calibration of any method's scores against measured in-vitro values.

Scores of Affinity Distillation and of the motif baselines are uncalibrated (arbitrary units and sign). Each is
mapped to the library's units by ordinary least squares, ``measured ≈ slope × score + intercept``, fitted on a
random *calibration sample* of the library and judged on the rows *not* in the sample (paper default sample:
``min(1000, 10 %)`` of the library). The same :class:`CalibrationSample` must be used for every method of a
comparison; :func:`calibrate_methods` guarantees that.

Rows are identified by their library ``id`` (unique strings), never by position, so a sample stays valid when
a table is re-ordered.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from affdist_core.common.checks import check_int
from affdist_core.common.metrics import pearson, spearman
from affdist_core.common.rng import RandomState, resolve_rng

logger = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 1000
"""Default calibration sample: at most this many rows …"""
DEFAULT_FRACTION = 0.10
"""… and at most this fraction of the rows (paper: min(1000, 10 %))."""
MIN_CALIBRATION_ROWS = 3
MAX_REPORTED = 5

#: Columns of the table returned by :func:`calibrate_methods`, in order.
FIT_COLUMNS = ("method", "slope", "intercept", "r2", "n_calibration", "n_heldout", "n_nan_calibration",
               "n_nan_heldout", "pearson", "spearman", "rmse", "sample_rule", "sample_seed", "sample_size")


@dataclass(frozen=True)
class CalibrationSample:
    """Which library rows calibrate the scores.

    Attributes:
        ids: ids of the calibration rows, a sorted tuple of unique str.
        seed: the integer seed the rows were drawn with (so the draw can be repeated), or None for
            ``rule="explicit"``.
        rule: how the rows were chosen: ``"min(1000, 10%)"`` (default), ``"n 500"``, ``"fraction 0.05"`` or
            ``"explicit"``.
        n_total: number of library rows the sample was drawn from.
    """

    ids: tuple[str, ...]
    seed: int | None
    rule: str
    n_total: int

    @property
    def size(self) -> int:
        """Number of calibration rows."""
        return len(self.ids)

    def mask(self, ids: Sequence[str]) -> np.ndarray:
        """Bool array (n,): True where ``ids[i]`` is a calibration row.

        Raises ValueError if some sample ids are not among ``ids`` (a sample drawn from another library).
        """
        index = _id_index(ids)
        mask = index.isin(self.ids)
        found = int(mask.sum())
        if found != len(self.ids):
            present = set(index[mask])
            missing = [i for i in self.ids if i not in present][:MAX_REPORTED]
            raise ValueError(
                f"sample: {len(self.ids) - found} of its {len(self.ids)} ids are not in ids (e.g. {missing}); "
                f"the sample was drawn from another library"
            )
        return np.asarray(mask, dtype=bool)

    def to_dict(self) -> dict:
        """JSON-native dict (for the catalog); :meth:`from_dict` inverts it."""
        out = asdict(self)
        out["ids"] = list(self.ids)
        return out

    @classmethod
    def from_dict(cls, data: Mapping) -> CalibrationSample:
        """Inverse of :meth:`to_dict`."""
        return cls(ids=tuple(sorted(str(i) for i in data["ids"])), seed=data["seed"], rule=str(data["rule"]),
                   n_total=int(data["n_total"]))


def _id_index(ids: Sequence[str], what: str = "ids") -> pd.Index:
    """ids as a pandas Index of str; ValueError if empty, non-str or not unique."""
    if isinstance(ids, str):
        raise ValueError(f"{what}: expected a sequence of ids, got a single string {ids!r}")
    index = pd.Index(np.asarray(ids, dtype=object), dtype=object)
    if len(index) == 0:
        raise ValueError(f"{what}: expected at least one id, got none")
    if pd.api.types.infer_dtype(index, skipna=False) != "string":
        raise ValueError(f"{what}: ids must be strings (library 'id' column), got {index[:3].tolist()} …")
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:MAX_REPORTED].tolist()
        raise ValueError(f"{what}: ids must be unique, repeated: {dup}")
    return index


def _seed_from(random_state: RandomState) -> int:
    """An int seed to record: the seed itself, or one drawn from a Generator / from the OS for None."""
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63))
    resolve_rng(random_state)  # validates (non-negative int)
    return int(random_state)


def choose_calibration_sample(
    ids: Sequence[str],
    *,
    n: int | None = None,
    fraction: float | None = None,
    explicit_ids: Sequence[str] | None = None,
    random_state: RandomState = 0,
) -> CalibrationSample:
    """Choose the calibration rows of a library.

    Parameters
    ----------
    ids
        The library's row ids (unique str), shape (N,).
    n
        Sample exactly ``n`` rows.
    fraction
        Sample ``floor(fraction × N)`` rows, ``0 < fraction < 1``.
    explicit_ids
        Use exactly these rows (all must be in ``ids``; no randomness, ``seed`` None).
    random_state
        Seed (non-negative int, default 0), a Generator (an int seed is drawn from it) or None (an OS-random
        seed). The int seed used is recorded in the result, so every sample can be drawn again.

    At most one of ``n``, ``fraction``, ``explicit_ids`` may be given; default ``min(1000, floor(N / 10))``.
    Rows are drawn uniformly without replacement from the *sorted* ids, so the sample depends on the set of
    ids and the seed, not on the row order.

    Raises
    ------
    ValueError
        Conflicting options; ``explicit_ids`` not in ``ids`` (up to 5 named) or repeated; fewer than 3
        calibration rows; no held-out row left.
    """
    index = _id_index(ids)
    total = len(index)
    given = [name for name, v in (("n", n), ("fraction", fraction), ("explicit_ids", explicit_ids)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of n, fraction, explicit_ids; got {given}")

    if explicit_ids is not None:
        if isinstance(explicit_ids, str):
            raise ValueError("explicit_ids: expected a sequence of ids, got a single string")
        wanted = pd.Index(list(explicit_ids), dtype=object)
        if not wanted.is_unique:
            dup = wanted[wanted.duplicated()].unique()[:MAX_REPORTED].tolist()
            raise ValueError(f"explicit_ids: ids must be unique, repeated: {dup}")
        missing = wanted[~wanted.isin(index)]
        if len(missing):
            raise ValueError(
                f"explicit_ids: {len(missing)} id(s) are not in the library, e.g. "
                f"{missing[:MAX_REPORTED].tolist()}"
            )
        chosen = sorted(str(i) for i in wanted)
        _check_size(len(chosen), total, "explicit_ids")
        return CalibrationSample(ids=tuple(chosen), seed=None, rule="explicit", n_total=total)

    if n is not None:
        n = check_int("n", n, 0)
        size, rule = n, f"n {n}"
    elif fraction is not None:
        if not isinstance(fraction, (int, float, np.floating)) or not 0 < float(fraction) < 1:
            raise ValueError(f"fraction: expected a number in (0, 1), got {fraction!r}")
        size, rule = math.floor(float(fraction) * total + 1e-9), f"fraction {float(fraction):g}"
    else:
        size = min(DEFAULT_MAX_ROWS, math.floor(DEFAULT_FRACTION * total + 1e-9))
        rule = f"min({DEFAULT_MAX_ROWS}, {DEFAULT_FRACTION:.0%})"
    _check_size(size, total, given[0] if given else "the default rule " + rule)
    seed = _seed_from(random_state)
    rng = np.random.default_rng(seed)
    ordered = np.sort(index.to_numpy(dtype=object))
    chosen = ordered[np.sort(rng.choice(total, size=size, replace=False))]
    return CalibrationSample(ids=tuple(str(i) for i in chosen), seed=seed, rule=rule, n_total=total)


def _check_size(size: int, total: int, what: str) -> None:
    if size < MIN_CALIBRATION_ROWS:
        raise ValueError(
            f"{what}: gives {size} calibration row(s) of {total}; at least {MIN_CALIBRATION_ROWS} are needed "
            f"(pass n= or fraction= for a small library)"
        )
    if size >= total:
        raise ValueError(
            f"{what}: gives {size} calibration rows of {total}; at least 1 row must be held out for the metrics"
        )


@dataclass(frozen=True)
class CalibrationFit:
    """A linear calibration ``measured ≈ slope × score + intercept`` and how well it predicts held-out rows.

    Attributes:
        method: name of the scored method (e.g. ``"affdist"``, ``"jaspar_MA0357.1_sum"``).
        slope, intercept: the least-squares line, in library units per score unit / library units.
        r2: coefficient of determination on the calibration rows (nan if their measured values are constant).
        n_calibration: calibration rows used in the fit (finite score).
        n_heldout: held-out rows used for the metrics (finite score).
        n_nan_calibration, n_nan_heldout: rows dropped because their score is NaN.
        pearson, spearman: correlation of predictions and measured values on the held-out rows, under the
            package's rule (:mod:`affdist_core.common.metrics`: nan if fewer than 3 rows or a constant side).
        rmse: root-mean-square error on the held-out rows, in the library's units.
        sample: the calibration sample used.
    """

    method: str
    slope: float
    intercept: float
    r2: float
    n_calibration: int
    n_heldout: int
    n_nan_calibration: int
    n_nan_heldout: int
    pearson: float
    spearman: float
    rmse: float
    sample: CalibrationSample

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated values ``slope × scores + intercept``, float64, same shape (NaN stays NaN)."""
        return self.slope * np.asarray(scores, dtype=np.float64) + self.intercept

    def to_row(self) -> dict:
        """One flat dict (keys :data:`FIT_COLUMNS`): the fit fields plus the sample's rule, seed and size."""
        row = {k: v for k, v in asdict(self).items() if k != "sample"}
        row.update(sample_rule=self.sample.rule, sample_seed=self.sample.seed, sample_size=self.sample.size)
        return {k: row[k] for k in FIT_COLUMNS}


def _aligned(values, ids: pd.Index, what: str) -> np.ndarray:
    """values (array-like aligned with ids, or a Series indexed by ids) → float64 (n,)."""
    if isinstance(values, pd.Series) and not values.index.equals(ids) \
            and pd.api.types.infer_dtype(values.index, skipna=False) == "string":
        if not values.index.is_unique:
            raise ValueError(f"{what}: the Series index (ids) has repeated entries")
        position = values.index.get_indexer(ids)
        missing = ids[position < 0]
        if len(missing):
            raise ValueError(f"{what}: Series index lacks {len(missing)} id(s), e.g. {missing[:5].tolist()}")
        values = values.to_numpy()[position]
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: expected numbers, got {type(values).__name__} ({exc})") from None
    if arr.shape != (len(ids),):
        raise ValueError(f"{what}: expected shape ({len(ids)},) to match ids, got {arr.shape}")
    return arr


def calibrate(
    scores,
    measured,
    ids: Sequence[str],
    sample: CalibrationSample,
    *,
    method: str | None = None,
) -> tuple[CalibrationFit, np.ndarray]:
    """Fit ``measured ≈ slope × score + intercept`` on the sample rows and predict every row.

    Parameters
    ----------
    scores
        Scores of one method, shape (n,), aligned with ``ids`` by position (array-like, or a Series with a
        non-string index), or a Series indexed by the ids (string index; re-ordered to ``ids``).
        NaN scores are allowed: those rows are dropped from the fit and the metrics (counted and logged) and
        predicted as NaN.
    measured
        Measured values, shape (n,), finite, aligned like ``scores``.
    ids
        Row ids (unique str), shape (n,); must contain every id of ``sample``.
    sample
        The calibration rows (:func:`choose_calibration_sample`).
    method
        Name used in messages and in the fit; default the Series name of ``scores`` or ``"score"``.

    Returns
    -------
    (fit, predictions)
        The :class:`CalibrationFit` (metrics on rows *not* in the sample) and float64 predictions (n,).

    Raises
    ------
    ValueError
        Misaligned inputs, non-finite measured values, a sample from another library, fewer than 3 calibration
        rows with a score, or constant scores on the calibration rows.
    """
    if method is None:
        method = str(scores.name) if isinstance(scores, pd.Series) and scores.name is not None else "score"
    index, y, in_sample = _prepare(measured, ids, sample)
    return _fit(scores, index, y, in_sample, sample, method)


def _prepare(measured, ids: Sequence[str], sample: CalibrationSample) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Validate the inputs every method shares, once: (id index, measured float64 (n,), sample mask (n,))."""
    if not isinstance(sample, CalibrationSample):
        raise ValueError(f"sample: expected a CalibrationSample, got {type(sample).__name__}")
    index = _id_index(ids)
    y = _aligned(measured, index, "measured")
    bad_y = ~np.isfinite(y)
    if bad_y.any():
        raise ValueError(f"measured: all values must be finite, found {int(bad_y.sum())} non-finite "
                         f"(e.g. at ids {index[bad_y][:5].tolist()})")
    return index, y, sample.mask(index)


def _fit(scores, index: pd.Index, y: np.ndarray, in_sample: np.ndarray, sample: CalibrationSample,
         method: str) -> tuple[CalibrationFit, np.ndarray]:
    """The least-squares fit and held-out metrics of one method (inputs from :func:`_prepare`)."""
    x = _aligned(scores, index, f"scores of method {method}")
    if np.isinf(x).any():
        raise ValueError(f"scores of method {method}: {int(np.isinf(x).sum())} infinite value(s); use NaN for "
                         f"rows that could not be scored")
    finite = np.isfinite(x)
    fit_rows, held_rows = in_sample & finite, ~in_sample & finite
    n_nan_cal, n_nan_held = int((in_sample & ~finite).sum()), int((~in_sample & ~finite).sum())
    if n_nan_cal or n_nan_held:
        logger.warning("calibrate %s: %d calibration and %d held-out row(s) have a NaN score; dropped from the fit "
                       "and the metrics", method, n_nan_cal, n_nan_held)
    if int(fit_rows.sum()) < MIN_CALIBRATION_ROWS:
        raise ValueError(f"scores of method {method}: only {int(fit_rows.sum())} calibration row(s) have a score; "
                         f"at least {MIN_CALIBRATION_ROWS} are needed")
    xs, ys = x[fit_rows], y[fit_rows]
    if np.all(xs == xs[0]):
        raise ValueError(f"scores of method {method} are constant; cannot calibrate")
    xm, ym = xs.mean(), ys.mean()
    xc, yc = xs - xm, ys - ym
    sxx = float(xc @ xc)
    if not sxx > 0:
        raise ValueError(f"scores of method {method} are constant; cannot calibrate")
    slope = float(xc @ yc) / sxx
    intercept = float(ym - slope * xm)
    sst = float(yc @ yc)
    resid = ys - (slope * xs + intercept)
    r2 = 1.0 - float(resid @ resid) / sst if sst > 0 else float("nan")

    predictions = slope * x + intercept
    ph, yh = predictions[held_rows], y[held_rows]
    n_held = int(held_rows.sum())
    rmse = math.sqrt(float(np.mean((ph - yh) ** 2))) if n_held else float("nan")
    fit = CalibrationFit(
        method=method, slope=slope, intercept=intercept, r2=r2, n_calibration=int(fit_rows.sum()),
        n_heldout=n_held, n_nan_calibration=n_nan_cal, n_nan_heldout=n_nan_held,
        pearson=pearson(ph, yh), spearman=spearman(ph, yh), rmse=rmse, sample=sample,
    )
    logger.info("calibrate %s: slope %.4g intercept %.4g r2 %.3f (n=%d); held-out n=%d pearson %.3f "
                "spearman %.3f rmse %.4g", method, slope, intercept, r2, fit.n_calibration, n_held,
                fit.pearson, fit.spearman, rmse)
    return fit, predictions


def calibrate_methods(
    score_table: pd.DataFrame,
    measured,
    ids: Sequence[str],
    sample: CalibrationSample,
    *,
    return_predictions: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Calibrate every method (one column of ``score_table`` each) on the same ``sample``.

    Parameters
    ----------
    score_table
        DataFrame (n, m), one float column per method, rows aligned with ``ids`` (or indexed by the ids).
    measured, ids, sample
        As in :func:`calibrate`; the one ``sample`` is used for every method.
    return_predictions
        Also return a DataFrame (n, m) of calibrated predictions: rows in the order of ``ids`` and indexed by
        them, the columns of ``score_table``.

    Returns
    -------
    DataFrame with one row per method and columns :data:`FIT_COLUMNS` (and the predictions if asked).
    """
    if not isinstance(score_table, pd.DataFrame):
        raise ValueError(f"score_table: expected a DataFrame (one column per method), got "
                         f"{type(score_table).__name__}")
    if score_table.shape[1] == 0:
        raise ValueError("score_table: has no columns; expected one column of scores per method")
    if not score_table.columns.is_unique:
        raise ValueError(f"score_table: method columns must be unique, got {list(score_table.columns)}")
    index, y, in_sample = _prepare(measured, ids, sample)
    rows, predictions = [], {}
    for column in score_table.columns:
        fit, pred = _fit(score_table[column], index, y, in_sample, sample, str(column))
        if fit.sample is not sample:  # one sample for every method: the comparison is meaningless otherwise
            raise AssertionError("calibrate_methods: a method was calibrated on a different sample")
        rows.append(fit.to_row())
        predictions[column] = pred
    table = pd.DataFrame(rows, columns=list(FIT_COLUMNS))
    if return_predictions:
        return table, pd.DataFrame(predictions, index=pd.Index(index, name="id"), columns=score_table.columns)
    return table
