"""Interactive recalibration: refit every method's calibration on a calibration subset the user chooses.

A run's ``scores`` table holds, per scored library row, the uncalibrated score each method *reports*
(Affinity Distillation: the marginalization mean; each motif method: its top motif with the scoring chosen in
the comparison, sum or max). This module

* pivots them into one wide table (:func:`scored_table`: one row per scored library row, one column per
  method, plus the sequence and the measured value; the catalog reads it with
  :func:`affdist_core.catalog.queries.scored_rows`, the stored sample and fits with
  :func:`~affdist_core.catalog.queries.stored_sample` and :func:`~affdist_core.catalog.queries.stored_fits`);
* chooses a new calibration subset from selection rules (:class:`SubsetRule`, :func:`choose_subset`): a
  sequence pattern (IUPAC code string or regex), a range of measured values, an uploaded id list, then a
  seeded random sample of the rows that pass (an uploaded id list is read by
  :func:`affdist_core.io.user_text.parse_id_list`);
* refits every method on that subset with :func:`affdist_core.calibrate.calibration.calibrate` (:func:`refit`) and
  sets the new held-out metrics beside the stored ones (:func:`compare_with_stored`);
* aggregates large scatter data for plotting (:func:`binned_density`, :func:`sample_points`).

Held-out metrics are always computed on the scored rows *not* in the subset, as in the stored comparison, so
a subset selected by pattern or range is judged on every other scored row.

Errors in a selection raise :class:`SubsetError` (a ``ValueError``) whose message names the problem and the fix.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from affdist_core.calibrate.calibration import MIN_CALIBRATION_ROWS, CalibrationSample, calibrate, choose_calibration_sample
from affdist_core.common.names import AD_METHOD
from affdist_core.io.user_text import UserInputError

log = logging.getLogger(__name__)

MIN_HELDOUT_ROWS = 3
METRICS = ("pearson", "spearman", "rmse")
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "[AG]", "Y": "[CT]", "S": "[CG]", "W": "[AT]", "K": "[GT]", "M": "[AC]",
    "B": "[CGT]", "D": "[AGT]", "H": "[ACT]", "V": "[ACG]", "N": "[ACGT]",
}
FIT_FIELDS = ("slope", "intercept", "r2", "n_calibration", "n_heldout", "pearson", "spearman", "rmse")


class SubsetError(UserInputError):
    """A calibration-subset selection that cannot be used; the message says what is wrong and how to fix it."""


# ------------------------------------------------------------------------------------------------ the scored table


@dataclass(frozen=True)
class ScoredTable:
    """The scored rows of one run and library, one column of uncalibrated scores per reported method.

    Attributes:
        rows: DataFrame indexed by ``id`` (str, sorted), columns ``sequence`` (str), ``measured`` (float64, the
            library's units) and one float64 column per method (named as in :attr:`methods`), NaN where a method
            gave no score.
        methods: DataFrame, one row per reported method in display order (AD first, then by name): ``column``
            (the column of :attr:`rows`), ``method``, ``motif_id`` (None for AD), ``scoring``.
    """

    rows: pd.DataFrame
    methods: pd.DataFrame

    @property
    def ids(self) -> list[str]:
        """Scored row ids, (n,) str."""
        return self.rows.index.tolist()

    @property
    def columns(self) -> list[str]:
        """Method columns of :attr:`rows`, in display order."""
        return self.methods["column"].tolist()

    def __len__(self) -> int:
        return len(self.rows)


def empty_scored_table() -> ScoredTable:
    """A :class:`ScoredTable` with no rows and no methods."""
    return ScoredTable(pd.DataFrame(columns=["sequence", "measured"], index=pd.Index([], name="id")),
                       pd.DataFrame(columns=["column", "method", "motif_id", "scoring"]))


def method_columns(entries: pd.DataFrame) -> pd.DataFrame:
    """The method columns of a :class:`ScoredTable` from its distinct ``method, motif_id, scoring`` entries: a
    method with several entries gets one column per entry, named ``method|motif_id|scoring``, otherwise the
    method's name; AD first, then by name. Returns :attr:`ScoredTable.methods`."""
    methods = entries[["method", "motif_id", "scoring"]].drop_duplicates().reset_index(drop=True)
    methods["motif_id"] = methods["motif_id"].astype(object).where(methods["motif_id"].notna(), None)
    repeated = methods["method"].duplicated(keep=False)
    methods["column"] = [f"{r.method}|{r.motif_id}|{r.scoring}" if rep else r.method
                         for r, rep in zip(methods.itertuples(), repeated)]
    methods = methods.assign(_ad=methods["method"] != AD_METHOD).sort_values(["_ad", "column"]).drop(columns="_ad")
    return methods[["column", "method", "motif_id", "scoring"]].reset_index(drop=True)


def scored_table(long: pd.DataFrame) -> ScoredTable:
    """Pivot the long ``scores ⋈ measurements`` frame (columns ``id, method, motif_id, scoring, score,
    sequence, measured``) into a :class:`ScoredTable` (columns as :func:`method_columns`). The catalog builds
    the same table in DuckDB (:func:`affdist_core.catalog.queries.scored_rows`); this is the in-memory path."""
    if long.empty:
        return empty_scored_table()
    long = long.assign(id=long["id"].astype(str), motif_id=long["motif_id"].astype(object).where(
        long["motif_id"].notna(), None))
    methods = method_columns(long)
    key = long["method"] + "|" + long["motif_id"].fillna("").astype(str) + "|" + long["scoring"].astype(str)
    names = dict(zip(methods["method"] + "|" + methods["motif_id"].fillna("").astype(str) + "|" + methods["scoring"],
                     methods["column"]))
    wide = long.assign(column=key.map(names)).pivot_table(index="id", columns="column", values="score",
                                                          aggfunc="first", dropna=False)
    info = long.drop_duplicates("id").set_index("id")[["sequence", "measured"]]
    rows = info.join(wide, how="left").sort_index()
    rows.index.name = "id"
    rows["measured"] = rows["measured"].astype(np.float64)
    for column in methods["column"]:
        rows[column] = rows[column].astype(np.float64) if column in rows else np.nan
    return ScoredTable(rows[["sequence", "measured", *methods["column"]]], methods)


# ------------------------------------------------------------------------------------------------ selection


def iupac_regex(pattern: str, length: int | None = None) -> str:
    """A regular expression for an IUPAC code string (``ACGTRYSWKMBDHVN``, any case; ``U`` = ``T``).

    With ``length`` (the library's sequence length) a pattern of exactly that length must match the whole
    sequence (``^…$``); a shorter one may match anywhere on the given strand. Raises :class:`SubsetError`
    for other characters or a pattern longer than ``length``.
    """
    text = pattern.strip().upper()
    if not text:
        raise SubsetError("pattern: empty; type an IUPAC code string such as NNNNNCACGTGNNNNN, or clear the filter")
    bad = sorted({c for c in text if c not in IUPAC})
    if bad:
        raise SubsetError(f"pattern {pattern!r}: {', '.join(repr(c) for c in bad)} are not IUPAC codes; use only "
                          f"A C G T R Y S W K M B D H V N, or choose 'regex' for a regular expression")
    if length is not None and len(text) > length:
        raise SubsetError(f"pattern {pattern!r} is {len(text)} bp but the library's sequences are {length} bp; "
                          f"shorten it (a shorter pattern may match anywhere)")
    body = "".join(IUPAC[c] for c in text)
    return f"^{body}$" if length is not None and len(text) == length else body


def pattern_mask(sequences: pd.Series, pattern: str, kind: str = "iupac") -> np.ndarray:
    """Bool (n,): which ``sequences`` match ``pattern``; ``kind`` ``"iupac"`` (:func:`iupac_regex`; anchored
    when as long as the sequences) or ``"regex"`` (``re.search``, case-insensitive)."""
    if kind not in ("iupac", "regex"):
        raise SubsetError(f"pattern kind: expected 'iupac' or 'regex', got {kind!r}")
    seqs = sequences.astype(str).str.upper()
    lengths = seqs.str.len()
    if kind == "iupac":
        length = int(lengths.max()) if len(seqs) and lengths.nunique() == 1 else None
        regex = iupac_regex(pattern, length)
    else:
        if not pattern.strip():
            raise SubsetError("pattern: empty regex; type one (e.g. CACGTG[AT]) or clear the filter")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SubsetError(f"pattern {pattern!r}: not a valid regular expression ({exc}); fix it, or choose "
                              f"'IUPAC' for a code string such as NNNNNCACGTGNNNNN") from None
        regex = pattern
    return seqs.str.contains(regex, regex=True, flags=re.IGNORECASE).to_numpy(dtype=bool)


@dataclass(frozen=True)
class SubsetRule:
    """How to choose the calibration subset from the scored rows.

    Filters (all optional, combined with AND): ``pattern`` (a sequence pattern, ``pattern_kind`` ``"iupac"`` or
    ``"regex"``), ``value_range`` (inclusive ``(low, high)`` of measured values), ``ids`` (explicit library
    ids). Then ``n`` rows are drawn from the rows that pass, uniformly with seed ``seed``
    (:func:`affdist_core.calibrate.calibration.choose_calibration_sample`); ``n`` None (or ≥ the rows that pass) takes
    them all.
    """

    n: int | None = None
    seed: int = 0
    pattern: str | None = None
    pattern_kind: str = "iupac"
    value_range: tuple[float, float] | None = None
    ids: tuple[str, ...] | None = None

    @property
    def has_filter(self) -> bool:
        """Whether any filter (pattern, range, ids) is set."""
        return bool(self.pattern) or self.value_range is not None or self.ids is not None

    def describe(self) -> str:
        """A short rule text, e.g. ``"iupac NNNNNCACGTGNNNNN ∩ measured in [0, 1] → n 200, seed 3"``."""
        parts = []
        if self.pattern:
            parts.append(f"{self.pattern_kind} {self.pattern}")
        if self.value_range is not None:
            parts.append(f"measured in [{self.value_range[0]:.4g}, {self.value_range[1]:.4g}]")
        if self.ids is not None:
            parts.append(f"{len(self.ids)} listed ids")
        draw = "all" if self.n is None else f"n {self.n}, seed {self.seed}"
        return (" ∩ ".join(parts) + " → " if parts else "") + draw


def select_pool(rows: pd.DataFrame, rule: SubsetRule, library_ids: set[str] | None = None) -> pd.Index:
    """Ids of the scored rows (``rows``: indexed by id, columns ``sequence``, ``measured``) that pass every
    filter of ``rule``, in ``rows``' order.

    ``library_ids``: for an id list, the listed ids that are rows of the library (from
    :func:`affdist_core.catalog.queries.library_ids_present`); ids outside it are reported as not in the library, listed library ids that
    were not scored as unscored. Without it every listed id that was not scored is reported as not scored.

    Raises :class:`SubsetError`: a pattern matching no row, a range with low > high or keeping fewer than 3
    rows, listed ids not in the library / not scored / repeated, or fewer than 3 rows passing all filters.
    """
    keep = np.ones(len(rows), dtype=bool)
    n = len(rows)
    if rule.pattern:
        matched = pattern_mask(rows["sequence"], rule.pattern, rule.pattern_kind)
        if not matched.any():
            example = rows["sequence"].iloc[0] if n else ""
            raise SubsetError(
                f"pattern {rule.pattern!r} ({rule.pattern_kind}) matches none of the {n} scored sequences "
                f"(e.g. {example}); loosen it" + (" (N matches any base; a pattern as long as the sequences "
                                                  "must match all of it)" if rule.pattern_kind == "iupac" else ""))
        keep &= matched
    if rule.value_range is not None:
        low, high = (float(v) for v in rule.value_range)
        if low > high:
            raise SubsetError(f"measured range: minimum {low:.4g} is above maximum {high:.4g}; swap them")
        measured = rows["measured"].to_numpy(dtype=np.float64)
        in_range = (measured >= low) & (measured <= high)
        if in_range.sum() < MIN_CALIBRATION_ROWS:
            raise SubsetError(
                f"measured range [{low:.4g}, {high:.4g}] keeps {int(in_range.sum())} scored row(s); at least "
                f"{MIN_CALIBRATION_ROWS} are needed to fit a line; widen it (scored rows span "
                f"[{measured.min():.4g}, {measured.max():.4g}])")
        keep &= in_range
    if rule.ids is not None:
        keep &= _listed_mask(rows.index, rule.ids, library_ids)
    if keep.sum() < MIN_CALIBRATION_ROWS:
        raise SubsetError(
            f"the selection ({rule.describe()}) keeps {int(keep.sum())} of the {n} scored rows; at least "
            f"{MIN_CALIBRATION_ROWS} are needed to fit a line; loosen or remove a filter")
    return rows.index[keep]


def _listed_mask(index: pd.Index, ids: tuple[str, ...], library_ids: set[str] | None) -> np.ndarray:
    listed = pd.Index([str(i) for i in ids], dtype=object)
    if len(listed) == 0:
        raise SubsetError("id list: empty; upload a .txt with one library id per line or a CSV with an 'id' column")
    if not listed.is_unique:
        dup = listed[listed.duplicated()].unique()[:5].tolist()
        raise SubsetError(f"id list: {int(listed.duplicated().sum())} repeated id(s), e.g. {dup}; list each id "
                          f"once")
    scored = listed.isin(index)
    if library_ids is not None:
        outside = listed[~scored & ~listed.isin(list(library_ids))]
        if len(outside):
            raise SubsetError(
                f"id list: {len(outside)} of {len(listed)} id(s) are not in the library, e.g. "
                f"{outside[:5].tolist()}; use the library's 'id' column (e.g. {index[0] if len(index) else '?'})")
    unscored = listed[~scored]
    if len(unscored):
        raise SubsetError(
            f"id list: {len(unscored)} of {len(listed)} id(s) were not scored by this run (e.g. "
            f"{unscored[:5].tolist()}); only the run's {len(index)} scored rows can calibrate; remove them")
    return np.asarray(index.isin(listed), dtype=bool)


def choose_subset(rows: pd.DataFrame, rule: SubsetRule, library_ids: set[str] | None = None) -> CalibrationSample:
    """The calibration sample for ``rule``: :func:`select_pool`, then ``rule.n`` of those rows drawn with
    ``rule.seed`` by :func:`~affdist_core.calibrate.calibration.choose_calibration_sample` (all of them when ``n`` is None
    or ≥ the pool). The sample's ``n_total`` is the number of scored rows; its rule text is
    :meth:`SubsetRule.describe` (``"min(1000, 10%)"``-style text is kept when no filter is set).

    Raises :class:`SubsetError` for a bad selection, ``n`` < 3, or fewer than 3 rows left held out.
    """
    total = len(rows)
    if rule.n is not None and (isinstance(rule.n, bool) or int(rule.n) < MIN_CALIBRATION_ROWS):
        raise SubsetError(f"sample size: {rule.n} is too small; at least {MIN_CALIBRATION_ROWS} rows are needed "
                          f"to fit a line")
    pool = select_pool(rows, rule, library_ids)
    if rule.n is None or int(rule.n) >= len(pool):
        ids, seed = sorted(str(i) for i in pool), None
    else:
        drawn = choose_calibration_sample(pool.tolist(), n=int(rule.n), random_state=int(rule.seed))
        ids, seed = list(drawn.ids), drawn.seed
    heldout = total - len(ids)
    if heldout < MIN_HELDOUT_ROWS:
        raise SubsetError(
            f"the subset uses {len(ids)} of the {total} scored rows, leaving {heldout} held out; at least "
            f"{MIN_HELDOUT_ROWS} must be held out for the metrics; use a smaller sample size or a narrower filter")
    return CalibrationSample(ids=tuple(ids), seed=seed, rule=rule.describe(), n_total=total)


# ------------------------------------------------------------------------------------------------ refitting


def refit(table: ScoredTable, sample: CalibrationSample) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibrate every method of ``table`` on ``sample`` with :func:`~affdist_core.calibrate.calibration.calibrate`.

    Returns ``(fits, predictions)``: ``fits`` has one row per method (``column, method, motif_id, scoring``,
    :data:`FIT_FIELDS`, ``note``; a method whose scores cannot be calibrated on the sample, e.g. constant
    there, gets NaN fields and the reason in ``note``); ``predictions`` is (n, methods) float64 calibrated
    values indexed by id (NaN for a method that failed).
    """
    ids = table.ids
    measured = table.rows["measured"].to_numpy(dtype=np.float64)
    records, predictions = [], {}
    for method in table.methods.itertuples(index=False):
        base = {"column": method.column, "method": method.method, "motif_id": method.motif_id,
                "scoring": method.scoring}
        try:
            fit, pred = calibrate(table.rows[method.column].to_numpy(), measured, ids, sample, method=method.column)
        except ValueError as exc:
            log.info("refit %s: %s", method.column, exc)
            records.append({**base, **{f: np.nan for f in FIT_FIELDS}, "note": str(exc)})
            predictions[method.column] = np.full(len(ids), np.nan)
            continue
        records.append({**base, **{f: getattr(fit, f) for f in FIT_FIELDS}, "note": ""})
        predictions[method.column] = pred
    fits = pd.DataFrame(records, columns=["column", "method", "motif_id", "scoring", *FIT_FIELDS, "note"])
    return fits, pd.DataFrame(predictions, index=table.rows.index, columns=table.columns)


def compare_with_stored(fits: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """Per method: the stored and the refitted held-out metrics side by side.

    ``fits`` from :func:`refit`; ``stored`` from :func:`affdist_core.catalog.queries.stored_fits`. Returns columns ``method, motif_id,
    scoring``, then for each of ``slope, r2, pearson, spearman, rmse``: ``{m}_stored``, ``{m}_new``, and
    ``{m}_change`` (new − stored) for the three held-out metrics; plus ``n_calibration_new``, ``note``.
    """
    key = ["method", "motif_id", "scoring"]
    left = fits.assign(motif_id=fits["motif_id"].fillna(""))
    right = stored.assign(motif_id=stored["motif_id"].fillna("")) if len(stored) else \
        pd.DataFrame(columns=key + list(FIT_FIELDS))
    merged = left.merge(right[key + list(FIT_FIELDS)], on=key, how="left", suffixes=("_new", "_stored"))
    out = merged[key].copy()
    out["motif_id"] = out["motif_id"].replace("", None)
    for field in ("slope", "r2", *METRICS):
        out[f"{field}_stored"] = merged[f"{field}_stored"].astype(np.float64)
        out[f"{field}_new"] = merged[f"{field}_new"].astype(np.float64)
        if field in METRICS:
            out[f"{field}_change"] = out[f"{field}_new"] - out[f"{field}_stored"]
    out["n_calibration_new"] = merged["n_calibration_new"]
    out["note"] = merged["note"]
    return out


def metrics_long(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_with_stored`'s table in long form for bar charts: ``method, metric, calibration``
    (``"stored"``/``"new"``), ``value``."""
    parts = []
    for metric in METRICS:
        for which in ("stored", "new"):
            parts.append(pd.DataFrame({"method": comparison["method"], "metric": metric, "calibration": which,
                                       "value": comparison[f"{metric}_{which}"]}))
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------------------------ plotting data


def binned_density(x: np.ndarray, y: np.ndarray, bins: int = 60) -> pd.DataFrame:
    """2-D histogram of the finite (x, y) pairs, so a plot never ships every point: a long DataFrame of
    ``bins × bins`` rows ``x, y`` (bin centres, x-major) and ``count`` (int64, zeros included; the counts sum
    to the number of finite pairs). Empty when no pair is finite."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return pd.DataFrame({"x": np.array([], dtype=np.float64), "y": np.array([], dtype=np.float64),
                             "count": np.array([], dtype=np.int64)})
    counts, xe, ye = np.histogram2d(x[ok], y[ok], bins=bins)
    xc, yc = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
    return pd.DataFrame({"x": np.repeat(xc, bins), "y": np.tile(yc, bins),
                         "count": counts.ravel().astype(np.int64)})


def sample_points(frame: pd.DataFrame, max_points: int = 2000, random_state: int = 0) -> pd.DataFrame:
    """``frame`` itself when it has at most ``max_points`` rows, else a seeded uniform sample of that many."""
    if len(frame) <= max_points:
        return frame
    return frame.sample(n=max_points, random_state=random_state).sort_index()


def default_rule(stored: CalibrationSample | None, n_scored: int) -> SubsetRule:
    """The rule that reproduces the stored sample (its size and seed, no filter); without a stored sample the
    paper's min(1000, 10 %) with seed 0."""
    if stored is not None and stored.seed is not None:
        return SubsetRule(n=stored.size, seed=int(stored.seed))
    return SubsetRule(n=max(MIN_CALIBRATION_ROWS, min(1000, math.floor(0.1 * n_scored))), seed=0)
