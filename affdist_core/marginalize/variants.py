"""Predicted ΔΔG of user sequences and variants: parse and validate input, marginalize, calibrate, quantify
uncertainty.

Input (:func:`parse_text`, :func:`parse_upload`, :func:`parse_pair`) becomes :class:`VariantQueries`: either
single sequences (``kind="single"``, columns ``name, sequence``) or reference/alternative pairs
(``kind="pair"``, columns ``name, ref, alt``). Accepted:

* pasted text: FASTA, or one sequence per line (``#`` lines and blank lines ignored), or ``ref alt`` pairs
  (two sequences per line, separated by whitespace, a comma, a tab or ``>``);
* an uploaded file (at most :data:`MAX_FILE_BYTES`): FASTA (``.fa .fasta .fna .fas``), text (``.txt``, as
  pasted text), or CSV/TSV (``.csv .tsv``) with a ``sequence`` column, or ``ref`` and ``alt`` columns for
  pairs, and optionally a ``name`` or ``id`` column;
* a single reference/alternative pair.

:func:`validate_queries` checks everything once (empty input, more than :data:`MAX_SEQUENCES` sequences, empty
sequences, characters other than A/C/G/T, sequences longer than the model input) and raises
:class:`VariantInputError` naming the rows and saying what is accepted.

Prediction (:func:`predict_ddg`): each distinct sequence is marginalized once by a scorer (a
:class:`~affdist_core.marginalize.marginalizer.Marginalizer`, or anything with ``seq_len``, ``n_backgrounds`` and
``score(seqs, keep_deltas=True, progress=False)``), then calibrated with a :class:`LinearCalibration`:
``ΔΔG = slope × score + intercept``. Uncertainty, in the library's units:

* across backgrounds: ``sd_j(Δ_j) / √N × |slope|`` (the standard error of the mean score, scaled); for a pair
  the per-background *paired* difference ``Δ_j(alt) − Δ_j(ref)`` is used (same backgrounds, so their shared
  variation cancels): ``sd_j(Δ_j(alt) − Δ_j(ref)) / √N × |slope|``;
* across calibration resamples: the calibration rows are bootstrapped (``n_boot`` resamples with
  replacement, default 200), the line refitted each time, and the sd (ddof 1) of the resulting predictions
  reported — for a pair ``sd_b(slope_b × (score_alt − score_ref))``;
* ``sd_total`` = the square root of the sum of both variances.

The model and backgrounds of a run are rebuilt by :func:`build_marginalizer` exactly as
:func:`affdist_core.pipeline.method_stages.run_distill` built them (same pool size, seed and N), and checked against the
background id recorded with the run's scores. Keras is imported only there, so parsing stays light.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd

from affdist_core.calibrate.calibration import CalibrationSample, calibrate
from affdist_core.calibrate.subsets import csv_delimiter
from affdist_core.common.rng import RandomState, resolve_rng

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 2_000_000
"""Largest upload accepted (bytes)."""
MAX_SEQUENCES = 10_000
"""Most sequences accepted in one request (a pair counts as two)."""
DEFAULT_BOOTSTRAP = 200
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
CSV_SUFFIXES = (".csv", ".tsv")
TEXT_SUFFIXES = (".txt",)
ACCEPTED = (
    "Accepted: sequences of A, C, G, T (any case), one per line or FASTA; a CSV/TSV with a 'sequence' column, or "
    "'ref' and 'alt' columns for variant pairs (optional 'name' or 'id'); at most "
    f"{MAX_SEQUENCES:,} sequences and {MAX_FILE_BYTES / 1e6:.0f} MB."
)
_MAX_REPORTED = 5
_PAIR_SPLIT = re.compile(r"\s*[\s,>]\s*")


class VariantInputError(ValueError):
    """Input that cannot be scored; the message says what is wrong and what is accepted."""


# ------------------------------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class VariantQueries:
    """Parsed queries.

    Attributes:
        kind: ``"single"`` (``frame`` columns ``name, sequence``) or ``"pair"`` (``name, ref, alt``).
        frame: one row per query, str columns, sequences upper-case after :func:`validate_queries`.
    """

    kind: str
    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def sequence_columns(self) -> list[str]:
        """The frame's sequence columns: ``["sequence"]`` or ``["ref", "alt"]``."""
        return ["sequence"] if self.kind == "single" else ["ref", "alt"]

    @property
    def n_sequences(self) -> int:
        """Number of sequences (a pair counts two)."""
        return len(self.frame) * len(self.sequence_columns)

    def distinct_sequences(self) -> list[str]:
        """The distinct sequences to score, in first-seen order."""
        values = self.frame[self.sequence_columns].to_numpy().ravel(order="C")
        return list(dict.fromkeys(str(v) for v in values))


def _error(problem: str) -> VariantInputError:
    return VariantInputError(f"{problem}. {ACCEPTED}")


def _singles(names: list[str], seqs: list[str]) -> VariantQueries:
    return VariantQueries("single", pd.DataFrame({"name": names, "sequence": seqs}, dtype=object))


def _pairs(names: list[str], refs: list[str], alts: list[str]) -> VariantQueries:
    return VariantQueries("pair", pd.DataFrame({"name": names, "ref": refs, "alt": alts}, dtype=object))


def parse_fasta(text: str) -> VariantQueries:
    """FASTA text → single queries named by their header (first word); sequence lines are joined."""
    names, seqs, current = [], [], None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            name = line[1:].strip().split()[0] if line[1:].strip() else f"seq{len(names) + 1}"
            names.append(name)
            seqs.append([])
            current = seqs[-1]
        elif current is None:
            raise _error(f"FASTA line {number}: sequence before the first '>' header")
        else:
            current.append(re.sub(r"\s+", "", line))
    return _singles(names, ["".join(parts) for parts in seqs])


def parse_text(text: str) -> VariantQueries:
    """Pasted text: FASTA if it starts with ``>``; else one sequence per line, or ``ref alt`` pairs (two
    sequences per line separated by whitespace, ``,``, tab or ``>``). Mixing one- and two-sequence lines is an
    error. Names are ``seq1, seq2, …`` / ``variant1, …``."""
    if not isinstance(text, str):
        raise _error(f"input: expected text, got {type(text).__name__}")
    body = text.strip()
    if body.startswith(">"):
        return parse_fasta(body)
    lines = [line.strip() for line in body.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    fields = [[f for f in _PAIR_SPLIT.split(line) if f] for line in lines]
    counts = {len(f) for f in fields}
    if counts <= {1}:
        return _singles([f"seq{i}" for i in range(1, len(fields) + 1)], [f[0] for f in fields])
    if counts == {2}:
        return _pairs([f"variant{i}" for i in range(1, len(fields) + 1)], [f[0] for f in fields],
                      [f[1] for f in fields])
    bad = [f"line {i}" for i, f in enumerate(fields, start=1) if len(f) > 2 or (len(f) == 1 and 2 in counts)]
    raise _error(f"input: each line must hold one sequence, or two (ref alt) for a variant pair, the same on every "
                 f"line; {_rows(bad)} differ")


def parse_pair(ref: str, alt: str, name: str = "variant") -> VariantQueries:
    """One reference/alternative pair (whitespace stripped)."""
    return _pairs([name or "variant"], [re.sub(r"\s+", "", ref or "")], [re.sub(r"\s+", "", alt or "")])


def parse_csv(text: str, filename: str = "upload.csv") -> VariantQueries:
    """CSV/TSV text (delimiter sniffed) with a ``sequence`` column, or ``ref`` and ``alt`` columns; an optional
    ``name`` or ``id`` column names the rows (column names are case-insensitive)."""
    try:
        frame = pd.read_csv(io.StringIO(text), sep=csv_delimiter(text, filename), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise _error(f"{filename}: cannot be read as CSV ({exc})") from None
    columns = {str(c).strip().lower(): c for c in frame.columns}
    name_col = columns.get("name", columns.get("id"))
    if "ref" in columns and "alt" in columns:
        default = [f"variant{i}" for i in range(1, len(frame) + 1)]
        names = frame[name_col].astype(str).tolist() if name_col is not None else default
        return _pairs(names, frame[columns["ref"]].astype(str).str.strip().tolist(),
                      frame[columns["alt"]].astype(str).str.strip().tolist())
    if "sequence" in columns:
        default = [f"seq{i}" for i in range(1, len(frame) + 1)]
        names = frame[name_col].astype(str).tolist() if name_col is not None else default
        return _singles(names, frame[columns["sequence"]].astype(str).str.strip().tolist())
    found = ", ".join(repr(str(c)) for c in frame.columns[:8]) or "none"
    raise _error(f"{filename}: no 'sequence' column and no 'ref'/'alt' columns (found {found})")


def parse_upload(data: bytes, filename: str) -> VariantQueries:
    """An uploaded file: size checked first (:data:`MAX_FILE_BYTES`), then by suffix FASTA, CSV/TSV or text
    (an unknown suffix is read as FASTA if it starts with ``>``, as CSV if its first line names a ``sequence``
    or ``ref``/``alt`` column, else as text)."""
    if len(data) > MAX_FILE_BYTES:
        raise _error(f"{filename}: {len(data) / 1e6:.1f} MB is larger than the {MAX_FILE_BYTES / 1e6:.0f} MB "
                     f"limit; split it into smaller files")
    if not data.strip():
        raise _error(f"{filename}: the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _error(f"{filename}: not UTF-8 text (a binary or compressed file?)") from None
    suffix = Path(filename).suffix.lower()
    if suffix in FASTA_SUFFIXES:
        if not text.lstrip().startswith(">"):
            raise _error(f"{filename}: a FASTA file must start with a '>' header line")
        return parse_fasta(text)
    if suffix in CSV_SUFFIXES:
        return parse_csv(text, filename)
    if suffix in TEXT_SUFFIXES:
        return parse_text(text)
    first = text.lstrip().splitlines()[0].lower() if text.strip() else ""
    if first.startswith(">"):
        return parse_fasta(text)
    if re.search(r"\bsequence\b|\bref\b", first):
        return parse_csv(text, filename)
    return parse_text(text)


def _rows(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_REPORTED])
    return shown + (f" (and {len(items) - _MAX_REPORTED} more)" if len(items) > _MAX_REPORTED else "")


def validate_queries(queries: VariantQueries, max_length: int, max_sequences: int = MAX_SEQUENCES
                     ) -> VariantQueries:
    """Check parsed queries and return them with upper-case sequences.

    Args:
        queries: from a ``parse_*`` function.
        max_length: the model input length (seq_len); longer sequences cannot be inserted.
        max_sequences: most sequences per request (a pair counts two), default :data:`MAX_SEQUENCES`.

    Raises :class:`VariantInputError` for no queries, too many, empty sequences, characters other than A/C/G/T
    (row name, column, 1-based position and character named) or sequences longer than ``max_length``.
    """
    if queries.kind not in ("single", "pair"):
        raise ValueError(f"queries.kind: expected 'single' or 'pair', got {queries.kind!r}")
    if len(queries) == 0:
        raise _error("input: no sequences found")
    if queries.n_sequences > max_sequences:
        raise _error(f"input: {queries.n_sequences:,} sequences is more than the {max_sequences:,} allowed per "
                     f"request; split the input")
    frame = queries.frame.copy()
    empty, bad, long = [], [], []
    for column in queries.sequence_columns:
        values = frame[column].fillna("").astype(str).str.strip().str.upper()
        frame[column] = values
        for name, seq in zip(frame["name"], values):
            where = f"{name}" if queries.kind == "single" else f"{name} ({column})"
            if not seq:
                empty.append(where)
                continue
            match = re.search(r"[^ACGT]", seq)
            if match:
                more = len(re.findall(r"[^ACGT]", seq)) - 1
                bad.append(f"{where} position {match.start() + 1} {match.group()!r}"
                           + (f" (+{more} more)" if more else ""))
            if len(seq) > max_length:
                long.append(f"{where} ({len(seq)} bp)")
    if empty:
        raise _error(f"input: {len(empty)} empty sequence(s): {_rows(empty)}")
    if bad:
        raise _error(f"input: only A, C, G, T are allowed (no N or other IUPAC codes); {len(bad)} sequence(s) "
                     f"contain other characters: {_rows(bad)}")
    if long:
        raise _error(f"input: {len(long)} sequence(s) are longer than the model input of {max_length} bp: "
                     f"{_rows(long)}")
    return VariantQueries(queries.kind, frame)


# ------------------------------------------------------------------------------------------------ calibration


def bootstrap_lines(x: np.ndarray, y: np.ndarray, n_boot: int = DEFAULT_BOOTSTRAP,
                    random_state: RandomState = 0) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines ``y ≈ slope × x + intercept`` refitted on ``n_boot`` bootstrap resamples.

    Args:
        x, y: (n,) float calibration scores and measured values (finite), n ≥ 3.
        n_boot: resamples (rows drawn with replacement, n each), default 200.
        random_state: seed / Generator; resample ``b`` uses the ``b``-th row of ``rng.integers(0, n, (n_boot, n))``.

    Returns:
        ``(slopes, intercepts)``, each (n_boot,) float64; NaN for a resample whose x values are all equal.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 3:
        raise ValueError(f"x, y: expected two arrays of the same shape (n,) with n >= 3, got {x.shape} and {y.shape}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot: expected an integer >= 2, got {n_boot!r}")
    rng = resolve_rng(random_state)
    slopes, intercepts = np.empty(n_boot), np.empty(n_boot)
    block = max(1, 4_000_000 // len(x))  # bound memory: block × n indices at a time
    for b0 in range(0, n_boot, block):
        idx = rng.integers(0, len(x), size=(min(block, n_boot - b0), len(x)))
        xs, ys = x[idx], y[idx]
        xc = xs - xs.mean(axis=1, keepdims=True)
        yc = ys - ys.mean(axis=1, keepdims=True)
        sxx = np.einsum("ij,ij->i", xc, xc)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(sxx > 0, np.einsum("ij,ij->i", xc, yc) / sxx, np.nan)
        slopes[b0 : b0 + len(idx)] = slope
        intercepts[b0 : b0 + len(idx)] = ys.mean(axis=1) - slope * xs.mean(axis=1)
    return slopes, intercepts


@dataclass(frozen=True)
class LinearCalibration:
    """A calibration ``ΔΔG = slope × score + intercept`` with the rows it was fitted on (for the bootstrap).

    Attributes:
        slope, intercept: the least-squares line (library units per score unit, library units).
        scores, measured: (m,) float64 uncalibrated scores and measured values of the calibration rows with a
            finite score.
        label: where it comes from (shown with the predictions), e.g. ``"stored (min(1000, 10%), seed 0)"``.
        units: the library's units (e.g. ``"RT"``).
    """

    slope: float
    intercept: float
    scores: np.ndarray = field(repr=False)
    measured: np.ndarray = field(repr=False)
    label: str = ""
    units: str = ""

    @classmethod
    def from_sample(cls, scores, measured, ids: Sequence[str], sample: CalibrationSample, label: str = "",
                    units: str = "") -> LinearCalibration:
        """Fit with :func:`affdist_core.calibrate.calibration.calibrate` on ``sample`` (scores, measured, ids (n,) as
        there) and keep the calibration rows."""
        fit, _ = calibrate(scores, measured, ids, sample, method="affinity_distillation")
        x = np.asarray(scores, dtype=np.float64)
        y = np.asarray(measured, dtype=np.float64)
        rows = sample.mask(ids) & np.isfinite(x)
        return cls(fit.slope, fit.intercept, x[rows], y[rows], label or sample.rule, units)

    def predict(self, scores) -> np.ndarray:
        """``slope × scores + intercept``, float64, same shape."""
        return self.slope * np.asarray(scores, dtype=np.float64) + self.intercept

    def bootstrap(self, n_boot: int = DEFAULT_BOOTSTRAP, random_state: RandomState = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
        """:func:`bootstrap_lines` of the calibration rows: ``(slopes, intercepts)``, (n_boot,) each."""
        return bootstrap_lines(self.scores, self.measured, n_boot, random_state)


# ------------------------------------------------------------------------------------------------ prediction


class Scorer(Protocol):
    """What :func:`predict_ddg` needs of a scorer (a :class:`~affdist_core.marginalize.marginalizer.Marginalizer`)."""

    seq_len: int
    n_backgrounds: int

    def score(self, sequences: Sequence[str], keep_deltas: bool = False, progress: bool = True) -> Any:
        """Returns an object with ``mean`` (n,), ``sd`` (n,) and ``deltas`` (n, N)."""


def _row_sd(values: np.ndarray) -> np.ndarray:
    """(n, m) → (n,) sample sd (ddof 1) of each row's finite values; NaN for a row with fewer than 2."""
    values = np.where(np.isfinite(values), values, np.nan)
    count = np.isfinite(values).sum(axis=1)
    out = np.full(len(values), np.nan)
    ok = count >= 2
    if ok.any():
        out[ok] = np.nanstd(values[ok], axis=1, ddof=1)
    return out


def score_sequences(scorer: Scorer, sequences: Sequence[str], chunk_size: int = 256,
                    progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Marginalize ``sequences`` in chunks; returns ``(mean (n,), deltas (n, N))`` float64.

    ``progress(done, total)`` is called after every chunk (sequences done, of ``n``)."""
    n, n_bg = len(sequences), int(scorer.n_backgrounds)
    mean, deltas = np.empty(n), np.empty((n, n_bg))
    for start in range(0, n, chunk_size):
        part = list(sequences[start : start + chunk_size])
        result = scorer.score(part, keep_deltas=True, progress=False)
        mean[start : start + len(part)] = np.asarray(result.mean, dtype=np.float64)
        deltas[start : start + len(part)] = np.asarray(result.deltas, dtype=np.float64)
        if progress is not None:
            progress(min(n, start + len(part)), n)
    return mean, deltas


def predict_ddg(
    scorer: Scorer,
    queries: VariantQueries,
    calibration: LinearCalibration,
    *,
    n_boot: int = DEFAULT_BOOTSTRAP,
    random_state: RandomState = 0,
    chunk_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Predicted ΔΔG (and for pairs ΔΔG alt − ref) with uncertainty; see the module docstring.

    Args:
        scorer: the run's marginalizer (N backgrounds).
        queries: validated queries (:func:`validate_queries` is applied again here with ``scorer.seq_len``).
        calibration: the line and its calibration rows.
        n_boot: calibration resamples (default 200); random_state: their seed.
        chunk_size: sequences per scoring call; progress: ``progress(done, total)`` after each chunk.

    Returns:
        single: ``name, sequence, length, score, score_sd, n_backgrounds, ddg, ddg_sd_backgrounds,
        ddg_sd_calibration, ddg_sd_total``;
        pair: ``name, ref, alt, score_ref, score_alt, ddg_ref, ddg_alt, ddg_alt_minus_ref,
        ddg_sd_backgrounds, ddg_sd_calibration, ddg_sd_total`` (the sds are those of alt − ref).
        Scores are mean Δ log counts (uncalibrated); ΔΔG columns are in the calibration's units.
    """
    queries = validate_queries(queries, int(scorer.seq_len))
    distinct = queries.distinct_sequences()
    mean, deltas = score_sequences(scorer, distinct, chunk_size, progress)
    where = {s: i for i, s in enumerate(distinct)}
    n_bg = deltas.shape[1]
    slopes, intercepts = calibration.bootstrap(n_boot, random_state)
    ok = np.isfinite(slopes)
    slopes, intercepts = slopes[ok], intercepts[ok]
    scale = abs(calibration.slope) / math.sqrt(n_bg)
    frame = queries.frame
    if queries.kind == "single":
        rows = np.array([where[s] for s in frame["sequence"]], dtype=np.intp)
        s, d = mean[rows], deltas[rows]
        score_sd = _row_sd(d)
        boot = slopes[None, :] * s[:, None] + intercepts[None, :]
        out = pd.DataFrame({"name": frame["name"].to_numpy(), "sequence": frame["sequence"].to_numpy(),
                            "length": frame["sequence"].str.len().to_numpy(), "score": s, "score_sd": score_sd,
                            "n_backgrounds": n_bg, "ddg": calibration.predict(s),
                            "ddg_sd_backgrounds": score_sd * scale,
                            "ddg_sd_calibration": _row_sd(boot)})
    else:
        ref = np.array([where[s] for s in frame["ref"]], dtype=np.intp)
        alt = np.array([where[s] for s in frame["alt"]], dtype=np.intp)
        difference = mean[alt] - mean[ref]
        paired = deltas[alt] - deltas[ref]
        boot = slopes[None, :] * difference[:, None]
        out = pd.DataFrame({"name": frame["name"].to_numpy(), "ref": frame["ref"].to_numpy(),
                            "alt": frame["alt"].to_numpy(), "score_ref": mean[ref], "score_alt": mean[alt],
                            "ddg_ref": calibration.predict(mean[ref]), "ddg_alt": calibration.predict(mean[alt]),
                            "ddg_alt_minus_ref": calibration.slope * difference,
                            "ddg_sd_backgrounds": _row_sd(paired) * scale,
                            "ddg_sd_calibration": _row_sd(boot)})
    out["ddg_sd_total"] = np.sqrt(np.nan_to_num(out["ddg_sd_backgrounds"].to_numpy() ** 2)
                                  + np.nan_to_num(out["ddg_sd_calibration"].to_numpy() ** 2))
    return out


# ------------------------------------------------------------------------------------------------ the run's model


@dataclass(frozen=True)
class ModelSpec:
    """How a run scored its library: the model and the background set to rebuild.

    Attributes:
        run_id, model_id: as in the catalog; model_dir: the model directory as stored (resolve it first).
        n_backgrounds: N of the scores; pool_size: the background pool it was the first N of (``run_distill``
            draws the pool, then takes its first N); seed: the pool's seed.
        background_id: the id recorded with the scores (the rebuilt set must have it), or None.
        seq_len: the model input length (longest sequence that can be scored), from its params.
        n_models: networks whose mean the scores are (``model_members``; 1 for a single model).
    """

    run_id: str
    model_id: str
    model_dir: str
    n_backgrounds: int
    pool_size: int
    seed: int
    background_id: str | None
    seq_len: int
    n_models: int = 1


def load_model_spec(con, run_id: str) -> ModelSpec | None:
    """The :class:`ModelSpec` of ``run_id`` from the ``models``, ``scores`` and ``background_sets`` tables
    (``con``: DuckDB connection or cursor); None if the run has no model or no AD scores."""
    model = con.execute("SELECT model_id, model_dir, params FROM models WHERE run_id = ? LIMIT 1",
                        [run_id]).fetchone()
    if model is None:
        return None
    used = con.execute(
        "SELECT n_backgrounds, background_id FROM scores WHERE run_id = ? AND method = 'affinity_distillation' "
        "AND n_backgrounds IS NOT NULL LIMIT 1", [run_id]).fetchone()
    if used is None:
        return None
    sets = con.execute("SELECT background_id, n_backgrounds, random_state FROM background_sets WHERE model_id = ?",
                       [model[0]]).df()
    n = int(used[0])
    mine = sets[sets["background_id"] == used[1]]
    seed = int(mine["random_state"].iloc[0]) if len(mine) else int(sets["random_state"].iloc[0]) if len(sets) else 0
    pool = int(sets["n_backgrounds"].max()) if len(sets) else n
    seq_len = int(json.loads(model[2])["seq_len"])
    return ModelSpec(run_id, str(model[0]), str(model[1]), n, max(pool, n), seed, used[1], seq_len,
                     _n_members(con, str(model[0])))


def _n_members(con, model_id: str) -> int:
    """Networks in the model's ensemble (1 for catalogs written before ``model_members`` existed)."""
    try:
        row = con.execute("SELECT count(*) FROM model_members WHERE model_id = ?", [model_id]).fetchone()
    except duckdb.CatalogException:
        return 1
    return max(1, int(row[0]))


def build_marginalizer(model_dir: str | Path, spec: ModelSpec, check_id: bool = True):
    """Load the run's model (with every ensemble member ``model_dir/ensemble.json`` lists, as ``run_distill``
    scored) and rebuild the run's backgrounds as ``run_distill`` did
    (``backgrounds_from_model_dir(model_dir, pool_size, seed).subset(n_backgrounds)``); returns a
    :class:`~affdist_core.marginalize.marginalizer.Marginalizer` with the background predictions computed.

    Raises ValueError if the model directory or file is missing, or (``check_id``) if the rebuilt backgrounds
    differ from those the run's scores were computed on (the genome or model changed since).
    """
    from affdist_core.model.ensemble import load_members
    from affdist_core.marginalize.marginalizer import Marginalizer, backgrounds_from_model_dir

    model_dir = Path(model_dir)
    if not (model_dir / "model.keras").is_file():
        raise ValueError(f"model_dir: {model_dir} has no model.keras; the run's model is missing (rebuild it with "
                         f"`affdist demo`)")
    models = load_members(model_dir)
    pool = backgrounds_from_model_dir(model_dir, spec.pool_size, spec.seed)
    backgrounds = pool.subset(spec.n_backgrounds) if spec.n_backgrounds < len(pool) else pool
    if check_id and spec.background_id and backgrounds.background_id != spec.background_id:
        raise ValueError(f"backgrounds: rebuilt set {backgrounds.background_id} differs from the run's "
                         f"{spec.background_id}; the genome or model changed since run {spec.run_id}")
    marginalizer = Marginalizer(models, backgrounds)
    _ = marginalizer.background_logcounts
    log.info("variants: %s ready (%d model(s), %d backgrounds)", spec.model_id, len(models), len(backgrounds))
    return marginalizer
