"""In-vitro measurement libraries: sequences with a measured value (ΔΔG, log intensity, …).

A library is an :class:`InVitroLibrary`: a name, a DataFrame with one row per measured sequence, and where the
numbers came from. Libraries come from

* a user's table — :func:`load_library` reads CSV, TSV (``.csv``/``.tsv``/``.txt``, optionally ``.gz``) and
  Parquet, validates it once and raises a ``ValueError`` naming the file, the offending lines (CSV/TSV: 1-based
  file line, header = line 1) or rows (Parquet: 0-based row index), the problem and the fix;
* a built-in table shipped with the package — :func:`load_builtin_library` (``"betseq_pho4"``, ``"betseq_cbf1"``:
  the Pho4 and Cbf1 BET-seq flank landscapes, all 4^10 ``NNNNNCACGTGNNNNN`` 16-mers, ΔΔG in units of RT;
  Le et al. 2018, PNAS).

:func:`resolve_library` takes either a built-in name or a path.

Validation is vectorised (pandas string ops, numpy): a 1,048,576-row CSV loads and validates in a few seconds.
"""

from __future__ import annotations

import difflib
import gzip
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.checks import existing_file

logger = logging.getLogger(__name__)

#: Columns of :attr:`InVitroLibrary.frame`, in order.
LIBRARY_COLUMNS = ("id", "sequence", "value", "category")
ON_DUPLICATE = ("warn", "error", "mean")
MAX_REPORTED = 5
_NA_TOKENS = frozenset({"nan", "-nan", "na", "n/a", "null", "none", "#n/a"})
_SUFFIX_FORMAT = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "txt", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True, eq=False)
class InVitroLibrary:
    """A set of sequences with one measured value each.

    Attributes
    ----------
    name
        Short name of the library (e.g. ``"betseq_pho4"``, or a file's stem).
    frame
        DataFrame, one row per measurement, columns ``id`` (str, unique unless duplicates were kept),
        ``sequence`` (str, upper-case A/C/G/T only), ``value`` (float64, finite), ``category`` (str, or NA where
        the library has no categories).
    source
        Where the data came from (a file path or a citation).
    value_name
        What ``value`` is, e.g. ``"ddG_RT"``.
    units
        Units of ``value``, e.g. ``"RT"`` or ``"kcal/mol"``; ``""`` if unknown.
    """

    name: str
    frame: pd.DataFrame
    source: str = ""
    value_name: str = "value"
    units: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.frame, pd.DataFrame):
            raise ValueError(f"frame: expected a pandas DataFrame, got {type(self.frame).__name__}")
        missing = [c for c in LIBRARY_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(
                f"frame: missing column(s) {missing}; expected columns {list(LIBRARY_COLUMNS)}, "
                f"got {list(self.frame.columns)}"
            )
        if self.frame["value"].dtype != np.float64:
            raise ValueError(f"frame: column 'value' must be float64, got {self.frame['value'].dtype}")

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return (
            f"InVitroLibrary(name={self.name!r}, n={len(self)}, value_name={self.value_name!r}, "
            f"units={self.units!r}, sequence_length={self.sequence_length}, source={self.source!r})"
        )

    @cached_property
    def sequence_length(self) -> int | None:
        """The common sequence length, or None if lengths differ (or the library is empty)."""
        lengths = self.frame["sequence"].str.len()
        if len(lengths) == 0 or lengths.min() != lengths.max():
            return None
        return int(lengths.iloc[0])

    @property
    def sequences(self) -> np.ndarray:
        """Sequences as a numpy array of str, shape (n,)."""
        return self.frame["sequence"].to_numpy(dtype=object)

    @property
    def values(self) -> np.ndarray:
        """Measured values, shape (n,), float64."""
        return self.frame["value"].to_numpy(dtype=np.float64)

    @property
    def duplicates(self) -> pd.DataFrame:
        """Rows whose sequence occurs more than once (all copies), sorted by sequence; empty if none."""
        mask = _duplicated_mask(self.frame["sequence"])
        return self.frame[mask].sort_values("sequence", kind="stable")


# ----------------------------------------------------------------------------------------------------------------
# loading user tables


def load_library(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    sequence_col: str = "sequence",
    value_col: str = "value",
    category_col: str | None = None,
    id_col: str | None = None,
    units: str = "",
    value_name: str | None = None,
    on_duplicate: str = "warn",
) -> InVitroLibrary:
    """Load and validate an in-vitro library table.

    Parameters
    ----------
    path
        ``.csv``, ``.tsv``/``.tab``, ``.txt`` (tab- or comma-separated, sniffed from the header), each optionally
        ``.gz``; or ``.parquet``/``.pq``.
    name
        Library name; default the file name without its suffixes.
    sequence_col, value_col
        Columns holding the sequence (A/C/G/T, any case; surrounding whitespace ignored) and the measured value.
    category_col
        Optional column of categories (e.g. ``"single substitution"``); empty cells become NA.
    id_col
        Optional column of unique, non-empty ids; default the 0-based data row index as a string
        (``"0"`` for the first data row, i.e. CSV/TSV line 2).
    units, value_name
        Stored on the result; ``value_name`` defaults to ``value_col``.
    on_duplicate
        What to do with sequences that occur more than once: ``"warn"`` (log a warning, keep all rows),
        ``"error"`` (raise ValueError) or ``"mean"`` (one row per sequence: mean value, first id and category).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Unsupported suffix, unreadable or empty file, missing columns, empty rows or sequences, characters
        other than A/C/G/T, missing / non-numeric / non-finite values, empty or repeated ids, duplicated
        sequences with ``on_duplicate="error"``. The message names the file, up to 5 offending lines (CSV/TSV,
        1-based, header = line 1; a quoted field spanning lines shifts this) or rows (Parquet, 0-based), the
        total count, and the fix. All problems found are reported together.
    """
    path = Path(path)
    if on_duplicate not in ON_DUPLICATE:
        raise ValueError(f"on_duplicate: expected one of {list(ON_DUPLICATE)}, got {on_duplicate!r}")
    existing_file(path, "file", "give the path of a CSV, TSV or Parquet table")
    fmt = _format_of(path)

    options = {"sequence_col": sequence_col, "value_col": value_col}
    if category_col is not None:
        options["category_col"] = category_col
    if id_col is not None:
        options["id_col"] = id_col
    wanted = list(dict.fromkeys(options.values()))

    if fmt == "parquet":
        raw = _read_parquet(path, options)
        where = _RowNamer(path, unit="row", offset=0)
    else:
        raw = _read_delimited(path, fmt, options)
        where = _RowNamer(path, unit="line", offset=2)
    raw = raw[wanted]

    frame = _validate(raw, path, where, sequence_col, value_col, category_col, id_col)
    frame = _handle_duplicates(frame, path, where, on_duplicate)
    library = InVitroLibrary(
        name=name if name is not None else _stem(path),
        frame=frame.reset_index(drop=True),
        source=str(path),
        value_name=value_name if value_name is not None else value_col,
        units=units,
    )
    logger.info("loaded library %r from %s: %d sequences", library.name, path, len(library))
    return library


class _RowNamer:
    """Turns 0-based data row positions into 'line N' (CSV/TSV) or 'row N' (Parquet) for messages."""

    def __init__(self, path: Path, unit: str, offset: int):
        self.path, self.unit, self.offset = path, unit, offset
        self.plural = unit + "s"
        self.note = ("lines are 1-based file lines, header = line 1" if unit == "line"
                     else "rows are 0-based row indices")

    def __call__(self, position: int) -> str:
        return f"{self.unit} {int(position) + self.offset}"


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    core = suffixes[-2] if gz and len(suffixes) >= 2 else (suffixes[-1] if suffixes and not gz else "")
    fmt = _SUFFIX_FORMAT.get(core)
    if fmt is None or (gz and fmt == "parquet"):
        raise ValueError(
            f"{path}: cannot tell the table format from the file name; use a .csv, .tsv, .txt "
            f"(each optionally .gz) or .parquet file"
        )
    return fmt


def default_library_name(path: str | os.PathLike) -> str:
    """The name a library file gets when none is given: the file name without its table suffixes
    (``pho4.csv.gz`` → ``pho4``)."""
    return _stem(Path(path))


def _stem(path: Path) -> str:
    name = path.name
    for suffix in reversed(path.suffixes):
        if suffix.lower() in (*_SUFFIX_FORMAT, ".gz"):
            name = name[: -len(suffix)]
    return name or path.name


def _missing_columns_error(path: Path, available: list[str], options: dict[str, str]) -> None:
    problems = []
    for option, column in options.items():
        if column in available:
            continue
        close = difflib.get_close_matches(column, available, n=1, cutoff=0.6)
        close = close or [c for c in available if c.strip().lower() == column.strip().lower()]
        hint = f" (did you mean {option}={close[0]!r}?)" if close else ""
        problems.append(f"column {column!r} not found; set {option}= to the right column name{hint}")
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems) + f". Available columns: {available}")


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix.lower() == ".gz" else data
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: cannot read the file: {exc}") from None


def _read_delimited(path: Path, fmt: str, options: dict[str, str]) -> pd.DataFrame:
    data = _read_bytes(path)
    newline = data.find(b"\n")
    header = data[: newline if newline >= 0 else len(data)]
    if not header.strip():
        raise ValueError(f"{path}: the file is empty (expected a header line, then one line per sequence)")
    sep = {"csv": ",", "tsv": "\t"}.get(fmt) or ("\t" if b"\t" in header else ",")
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        columns = [str(c) for c in pd.read_csv(io.BytesIO(data), sep=sep, nrows=0).columns]
        _missing_columns_error(path, columns, options)
        # all columns are read (no usecols), so that a line with too many fields is an error, not silently cut
        frame = _read_delimited_fast(data, sep)
        if frame is None:  # blank lines, quoted line breaks or malformed lines: the exact, slower reader
            frame = pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, na_filter=False, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty (expected a header line, then one line per sequence)") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path}: cannot parse as {kind}: {exc}. Check the delimiter ({'tab' if sep == chr(9) else 'comma'} "
            f"expected from the file name/header) and the quoting of fields that contain it."
        ) from None
    # blank lines at the end of a file are harmless; drop them (blank lines inside the table are reported)
    blank = _all_empty(frame).to_numpy()
    if blank.any():
        keep = 0 if blank.all() else len(blank) - int(np.argmin(blank[::-1]))
        frame = frame.iloc[:keep]
    if len(frame) == 0:
        raise ValueError(f"{path}: the file has a header but no data lines; add one line per sequence")
    return frame[list(dict.fromkeys(options.values()))]


def _read_delimited_fast(data: bytes, sep: str) -> pd.DataFrame | None:
    """pyarrow's multithreaded CSV reader (~10x faster than pandas' C reader), used only when every data row is
    exactly one physical line, so that row i is file line i + 2; None when that does not hold or it fails."""
    n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, engine="pyarrow", keep_default_na=False)
    except Exception:  # noqa: BLE001 - any problem: let the exact reader produce the error message
        return None
    return frame if len(frame) + 1 == n_lines else None


def _read_parquet(path: Path, options: dict[str, str]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        columns = [str(c) for c in pq.read_schema(path).names]
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for non-Parquet files
        if path.stat().st_size == 0:
            raise ValueError(f"{path}: the file is empty (expected a Parquet table)") from None
        raise ValueError(f"{path}: cannot read as Parquet: {exc}") from None
    _missing_columns_error(path, columns, options)
    frame = pd.read_parquet(path, columns=list(dict.fromkeys(options.values())))
    if len(frame) == 0:
        raise ValueError(f"{path}: the Parquet table has no rows; add one row per sequence")
    return frame.reset_index(drop=True)


def _as_text(column: pd.Series) -> pd.Series:
    """Any column → str Series with missing values as '' and surrounding whitespace stripped."""
    if not (pd.api.types.is_string_dtype(column) or column.dtype == object):
        text = column.astype("str")
        text[column.isna().to_numpy()] = ""
    else:
        text = column.astype("str").fillna("")
    return text.str.strip()


def _all_empty(frame: pd.DataFrame) -> pd.Series:
    empty = pd.Series(True, index=frame.index)
    for column in frame.columns:
        empty &= _as_text(frame[column]).str.len() == 0
    return empty


def _report(
    problems: list[str], where: _RowNamer, mask: np.ndarray, what: str, fix: str,
    detail: Callable[[int], str] | None = None,
) -> None:
    """Append a problem line if ``mask`` (bool, per data row) has any True."""
    positions = np.flatnonzero(mask)
    if len(positions) == 0:
        return
    shown = [where(p) + (f" ({detail(p)})" if detail else "") for p in positions[:MAX_REPORTED]]
    more = f", … ({len(positions)} in total)" if len(positions) > MAX_REPORTED else ""
    problems.append(f"{len(positions)} {where.plural if len(positions) > 1 else where.unit} {what}: "
                    f"{', '.join(shown)}{more}. Fix: {fix}")


def _duplicated_mask(values: pd.Series) -> np.ndarray:
    """Bool mask (n,) of entries that occur more than once (all copies); faster than Series.duplicated."""
    codes, _ = pd.factorize(values)
    return np.bincount(codes)[codes] > 1 if len(codes) else np.zeros(0, dtype=bool)


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _validate(
    raw: pd.DataFrame, path: Path, where: _RowNamer,
    sequence_col: str, value_col: str, category_col: str | None, id_col: str | None,
) -> pd.DataFrame:
    problems: list[str] = []
    n = len(raw)
    empty_row = _all_empty(raw).to_numpy()
    _report(problems, where, empty_row, "that are empty (no sequence, no value)",
            "delete empty lines/rows inside the table")

    seq = _as_text(raw[sequence_col]).str.upper()
    seq_len = seq.str.len().to_numpy()
    _report(problems, where, (seq_len == 0) & ~empty_row, f"with an empty sequence in column {sequence_col!r}",
            "fill in the sequence or delete the row")
    bad_chars = (seq.str.contains(r"[^ACGT]", regex=True).to_numpy(dtype=bool)) & (seq_len > 0)

    def bad_char_detail(p: int) -> str:
        s = seq.iloc[p]
        i = next(k for k, ch in enumerate(s) if ch not in "ACGT")
        return f"{s[i]!r} at position {i + 1} of {_short(s)!r}"

    _report(problems, where, bad_chars, f"with characters other than A/C/G/T in column {sequence_col!r}",
            "library sequences must be plain DNA; replace or remove other characters (N and IUPAC codes "
            "are not allowed)", bad_char_detail)

    raw_value = raw[value_col]
    if pd.api.types.is_numeric_dtype(raw_value) and not pd.api.types.is_bool_dtype(raw_value):
        value = raw_value.to_numpy(dtype=np.float64, na_value=np.nan)
        text = None
        missing = np.isnan(value)
        non_numeric = np.zeros(n, dtype=bool)
    else:
        text = _as_text(raw_value)
        value = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        missing = ((text.str.len() == 0) | text.str.lower().isin(_NA_TOKENS)).to_numpy(dtype=bool)
        non_numeric = np.isnan(value) & ~missing
    _report(problems, where, missing & ~empty_row, f"with a missing or NaN value in column {value_col!r}",
            "fill in the measured value or delete the row")
    _report(problems, where, non_numeric, f"with a non-numeric value in column {value_col!r}",
            "values must be numbers such as -0.25 or 1.3e-2", lambda p: repr(_short(text.iloc[p])))
    _report(problems, where, np.isinf(value), f"with a non-finite value in column {value_col!r}",
            "values must be finite; replace ±inf by a measured number or delete the row",
            lambda p: repr(float(value[p])))

    if id_col is not None:
        ids = _as_text(raw[id_col])
        _report(problems, where, ((ids.str.len() == 0).to_numpy()) & ~empty_row,
                f"with an empty id in column {id_col!r}", "give every row an id, or leave id_col unset")
        repeated = _duplicated_mask(ids) & (ids.str.len() > 0).to_numpy()
        _report(problems, where, repeated, f"with an id that is not unique in column {id_col!r}",
                "ids must be unique; fix them or leave id_col unset", lambda p: repr(_short(ids.iloc[p])))
    else:
        ids = pd.Series(np.arange(n).astype(str), dtype="str")

    if problems:
        raise ValueError(f"{path}: {len(problems)} problem(s) found ({where.note}):\n  - " + "\n  - ".join(problems))

    if category_col is not None:
        category = _as_text(raw[category_col])
        category = category.where(category.str.len() > 0)
    else:
        category = pd.Series(np.full(n, np.nan, dtype=object), dtype="str")
    columns = {"id": ids.astype("str"), "sequence": seq, "category": category.astype("str")}
    frame = pd.DataFrame({k: v.reset_index(drop=True) for k, v in columns.items()})
    frame.insert(2, "value", value)
    frame["_pos"] = np.arange(n)
    return frame


def _handle_duplicates(frame: pd.DataFrame, path: Path, where: _RowNamer, on_duplicate: str) -> pd.DataFrame:
    """Apply ``on_duplicate`` to rows sharing a sequence; drops the helper ``_pos`` column."""
    dup = _duplicated_mask(frame["sequence"])
    if not dup.any():
        return frame.drop(columns="_pos")
    dup_seq = frame["sequence"].to_numpy(dtype=object)[dup]
    dup_pos = frame["_pos"].to_numpy()[dup]
    distinct = pd.unique(dup_seq)  # in order of first appearance
    n_seq, first = len(distinct), distinct[:MAX_REPORTED]
    examples = "; ".join(
        f"{_short(s)!r} at {', '.join(where(p) for p in dup_pos[dup_seq == s][:MAX_REPORTED])}" for s in first
    )
    summary = (f"{n_seq} sequence(s) occur more than once ({int(dup.sum())} {where.plural} in total), "
               f"e.g. {examples}")
    if on_duplicate == "error":
        raise ValueError(f"{path}: {summary} ({where.note}). Fix: remove the repeats, or pass "
                         f"on_duplicate='mean' to average them or on_duplicate='warn' to keep them all")
    if on_duplicate == "warn":
        logger.warning("%s: %s; keeping all rows (on_duplicate='warn'; 'mean' averages them, 'error' refuses)",
                       path, summary)
        return frame.drop(columns="_pos")
    merged = frame.groupby("sequence", sort=False, as_index=False).agg(
        id=("id", "first"), value=("value", "mean"), category=("category", "first"), _pos=("_pos", "first")
    )
    logger.info("%s: %s; averaged to one row per sequence (on_duplicate='mean'): %d -> %d rows",
                path, summary, len(frame), len(merged))
    merged = merged.sort_values("_pos", kind="stable")
    return merged[list(LIBRARY_COLUMNS)].reset_index(drop=True)


# ----------------------------------------------------------------------------------------------------------------
# built-in libraries


@dataclass(frozen=True)
class _BuiltinSpec:
    file: str
    id_col: str
    sequence_col: str
    value_col: str
    value_name: str
    units: str
    n_rows: int
    sequence_length: int
    source: str


def _betseq(tf: str, note: str = "") -> _BuiltinSpec:
    """A BET-seq flank landscape shipped as ``affdist_core/data/betseq_<tf>.parquet`` (all 4^10 flanks)."""
    file = f"betseq_{tf.lower()}.parquet"
    return _BuiltinSpec(
        file=file, id_col="flank", sequence_col="sequence", value_col="ddG_RT", value_name="ddG_RT", units="RT",
        n_rows=4**10, sequence_length=16,
        source=(f"{tf} BET-seq flank landscape (Le et al. 2018, PNAS){note}: neural-network ensemble predictions "
                f"for all NNNNNCACGTGNNNNN flanks, ddG in RT, mean-centred; affdist_core/data/{file}"),
    )


_BUILTINS: dict[str, _BuiltinSpec] = {
    "betseq_pho4": _betseq("Pho4"),
    "betseq_cbf1": _betseq("Cbf1", ", Pho4's paralog"),
}


def builtin_libraries() -> list[str]:
    """Names of the libraries shipped with the package: measured ones, and the synthetic landscapes of
    :mod:`affdist_core.io.landscapes` (built when first used)."""
    from affdist_core.io.landscapes import LANDSCAPES

    return sorted([*_BUILTINS, *LANDSCAPES])


def load_builtin_library(name: str) -> InVitroLibrary:
    """Load a shipped library by name (see :func:`builtin_libraries`).

    ``"betseq_pho4"`` and ``"betseq_cbf1"`` (Pho4's paralog, same layout): 1,048,576 rows; ``id`` = the 10-base flank (5 upstream + 5 downstream of CACGTG),
    ``sequence`` = the 16-mer, ``value`` = ΔΔG in RT (lower = tighter), ``category`` NA. The shipped table is
    trusted: its shape, sequence lengths and finiteness are checked, not every character (~0.3 s).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from affdist_core.io.landscapes import LANDSCAPES, landscape_frame

    if name in LANDSCAPES:
        return InVitroLibrary(name=name, frame=landscape_frame(name).copy(), source=LANDSCAPES[name].describe(),
                              value_name="ddG_RT", units="RT")
    if name not in _BUILTINS:
        raise ValueError(f"name: no built-in library {name!r}; available: {builtin_libraries()}")
    spec = _BUILTINS[name]
    ref = resources.files("affdist_core") / "data" / spec.file
    with resources.as_file(ref) as path:
        if not path.is_file():
            raise FileNotFoundError(f"built-in library {name!r}: data file {path} is missing from the installation")
        table = pq.read_table(path, columns=[spec.id_col, spec.sequence_col, spec.value_col])
    lengths = pc.utf8_length(table[spec.sequence_col])
    value = table[spec.value_col].to_numpy().astype(np.float64)
    problems = []
    if table.num_rows != spec.n_rows:
        problems.append(f"{table.num_rows} rows, expected {spec.n_rows}")
    if table[spec.sequence_col].null_count or pc.min(lengths).as_py() != spec.sequence_length \
            or pc.max(lengths).as_py() != spec.sequence_length:
        problems.append(f"sequences are not all of length {spec.sequence_length}")
    if not np.isfinite(value).all():
        problems.append("non-finite values")
    if problems:
        raise ValueError(f"built-in library {name!r} ({path}) is damaged: {'; '.join(problems)}; reinstall the package")
    n = table.num_rows
    frame = pd.DataFrame(
        {
            "id": table[spec.id_col].to_pandas(),
            "sequence": table[spec.sequence_col].to_pandas(),
            "value": value,
            "category": pd.Series(np.full(n, np.nan, dtype=object), dtype="str"),
        }
    )
    return InVitroLibrary(name=name, frame=frame, source=spec.source, value_name=spec.value_name, units=spec.units)


def resolve_library(name_or_path: str | os.PathLike, **kwargs) -> InVitroLibrary:
    """A built-in library by name (no options allowed), else :func:`load_library` on a path with ``kwargs``.

    A built-in name wins over a file of the same name in the working directory; pass ``./name`` for the file.
    """
    if isinstance(name_or_path, str) and name_or_path in builtin_libraries():
        if kwargs:
            raise ValueError(
                f"library {name_or_path!r} is built in; options {sorted(kwargs)} apply only to files"
            )
        return load_builtin_library(name_or_path)
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(
            f"library: {os.fspath(name_or_path)!r} is neither a built-in library {builtin_libraries()} "
            f"nor an existing file"
        )
    return load_library(path, **kwargs)
