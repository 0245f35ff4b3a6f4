"""Parsing and validating what a user types or uploads: DNA sequences, variant pairs, id lists, CSV/TSV text.

Variant queries (:func:`parse_text`, :func:`parse_upload`, :func:`parse_pair`) become :class:`VariantQueries`:
either single sequences (``kind="single"``, columns ``name, sequence``) or reference/alternative pairs
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

Also: one typed sequence for the contribution tracks (:func:`parse_sequence`), an uploaded list of library ids
(:func:`parse_id_list`, :class:`IdListError`) and the delimiter rule of CSV/TSV uploads (:func:`csv_delimiter`).
Every error here is a :class:`UserInputError` (a ``ValueError``) whose message says what is wrong and how to fix
it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from affdist_core.seq.alphabet import validate_acgt

MAX_FILE_BYTES = 2_000_000
"""Largest upload accepted (bytes)."""

MAX_SEQUENCES = 10_000
"""Most sequences accepted in one request (a pair counts as two)."""

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


class UserInputError(ValueError):
    """Input a user typed or uploaded that cannot be used; the message says what is wrong and how to fix it."""


class VariantInputError(UserInputError):
    """Variant input that cannot be scored; the message says what is wrong and what is accepted."""


class IdListError(UserInputError):
    """An uploaded id list that cannot be read."""


# ------------------------------------------------------------------------------------------------ CSV and ids


def csv_delimiter(text: str, filename: str = "") -> str:
    """The delimiter of a CSV/TSV text, from its header line: tab (also for a ``.tsv`` name), ``;`` or ``,``
    (a single-column file gets ``,``). Sniffing is not used: it guesses letters for one-column files."""
    header = text.lstrip().split("\n", 1)[0]
    if filename.lower().endswith(".tsv") or "\t" in header:
        return "\t"
    if ";" in header and "," not in header:
        return ";"
    return ","


def parse_id_list(data: bytes | str, filename: str = "ids.txt") -> list[str]:
    """Ids from an uploaded file: a CSV/TSV with an ``id`` column (else its first column), or text with one id
    per line (commas, tabs and spaces also separate). Blank entries are dropped, order and repeats are kept
    (:func:`affdist_core.calibrate.subsets.choose_subset` reports repeats). Raises :class:`IdListError` for an
    unreadable or empty file."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else str(data)
    except UnicodeDecodeError:
        raise IdListError(f"{filename}: not UTF-8 text; upload a .txt with one id per line or a CSV with an 'id' "
                          f"column") from None
    name = filename.lower()
    if name.endswith((".csv", ".tsv")):
        try:
            frame = pd.read_csv(io.StringIO(text), sep=csv_delimiter(text, filename), dtype=str)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
            raise IdListError(f"{filename}: cannot read it as CSV ({exc}); upload a CSV with an 'id' column or a "
                              f".txt with one id per line") from None
        columns = {c.strip().lower(): c for c in frame.columns}
        column = columns.get("id", frame.columns[0] if len(frame.columns) else None)
        ids = [] if column is None else frame[column].dropna().astype(str).str.strip().tolist()
    else:
        ids = re.split(r"[\s,;]+", text)
    ids = [i for i in ids if i]
    if not ids:
        raise IdListError(f"{filename}: holds no ids; upload a .txt with one library id per line or a CSV with an "
                          f"'id' column")
    return ids


# ------------------------------------------------------------------------------------------------ one sequence


_WHITESPACE = re.compile(r"\s+")


def parse_sequence(text: str, seq_len: int) -> str:
    """A typed DNA sequence, validated: whitespace removed (a leading FASTA ``>`` header line is dropped),
    upper-cased; only A/C/G/T, 1 to ``seq_len`` bases. Raises :class:`UserInputError` (a ValueError) saying what
    is wrong."""
    if not isinstance(text, str):
        raise UserInputError(f"sequence: expected text, got {type(text).__name__}")
    lines = text.strip().splitlines()
    if lines and lines[0].startswith(">"):
        lines = lines[1:]
    seq = _WHITESPACE.sub("", "".join(lines))
    if not seq:
        raise UserInputError("sequence: empty; type or paste a DNA sequence of A/C/G/T")
    seq = validate_acgt(seq, "sequence")
    if len(seq) > seq_len:
        raise UserInputError(f"sequence: {len(seq)} bases is longer than the model input ({seq_len} bp); "
                         f"paste at most {seq_len} bases")
    return seq


# ------------------------------------------------------------------------------------------------ variant queries


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
