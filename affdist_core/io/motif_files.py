"""Read motifs from the files users bring (MEME, JASPAR, TRANSFAC) and from the bundled JASPAR database.

Supported formats (``read_motifs(path, format=...)``; ``"auto"`` sniffs them):

* ``"meme"`` — MEME minimal motif format, as written by MEME, STREME and the MEME-suite converters::

      MEME version 5
      ALPHABET= ACGT
      MOTIF 1-CACGTG STREME-1
      letter-probability matrix: alength= 4 w= 6 nsites= 120 E= 3.1e-12
       0.01 0.97 0.01 0.01
       ...

  ``MOTIF id [alt]`` gives the id (``alt`` is kept as the name), ``nsites=`` the site count and ``E=`` the
  score (else ``P=``/``S=`` if present, else NaN).
* ``"jaspar"`` — JASPAR's bracketed count format, one or more motifs::

      >MA0357.1 PHO4
      A  [  94  97 967 ... ]
      C  [ 393 900   1 ... ]
      G  [ ... ]
      T  [ ... ]

* ``"pfm"`` — JASPAR's plain 4-row count format (rows A, C, G, T), with or without a ``>id name`` header (no
  header: one motif named after the file).
* ``"transfac"`` — TRANSFAC matrices: ``AC``/``ID`` lines, a ``P0 A C G T`` (or ``PO``) header, one numbered
  row per position (an optional consensus letter at the end), ``XX`` separators and ``//`` ending each motif.
  The id is ``AC`` when present, else ``ID`` (kept as the name).

Count matrices are normalised per position to probabilities (``n_sites`` = the largest position total);
probability rows are renormalised. Every problem raises ``ValueError`` naming the file, the 1-based line and
what is wrong. Motif ids must be unique within a file.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affdist_core.common.checks import existing_file
from affdist_core.seq.motif import METHODS, Motif

logger = logging.getLogger(__name__)

FORMATS = ("auto", "meme", "jaspar", "pfm", "transfac")
PROBABILITY_TOLERANCE = 0.02
"""Largest deviation of a MEME row sum from 1 that is renormalised silently (files carry ~6 decimals)."""

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_JASPAR_ROW = re.compile(r"^\s*([ACGTacgt])\s*:?\s*\[?\s*(.*?)\s*\]?\s*$")


class _Lines:
    """The file's lines with 1-based numbers, and error messages that name file and line."""

    def __init__(self, path: Path):
        self.path = path
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not a text motif file ({exc})") from None
        self.lines = text.splitlines()

    def error(self, lineno: int | None, problem: str) -> ValueError:
        where = f"{self.path}, line {lineno}" if lineno is not None else str(self.path)
        return ValueError(f"{where}: {problem}")

    def numbered(self) -> Iterator[tuple[int, str]]:
        for i, line in enumerate(self.lines, start=1):
            yield i, line


@dataclass
class _Raw:
    """A parsed motif before validation: rows (w, 4), where it started, and its metadata."""

    motif_id: str
    lineno: int
    rows: list[list[float]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    name: str = ""
    n_sites: int | None = None
    score: float = float("nan")
    extra: dict = field(default_factory=dict)


def _floats(src: _Lines, lineno: int, tokens: list[str], what: str) -> list[float]:
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        raise src.error(lineno, f"{what}: expected numbers, got {' '.join(tokens)!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise src.error(lineno, f"{what}: values must be finite, got {' '.join(tokens)!r}")
    if any(v < 0 for v in values):
        raise src.error(lineno, f"{what}: counts/probabilities must be >= 0, got {' '.join(tokens)!r}")
    return values


# ---------------------------------------------------------------------------------------------------------------
# format sniffing


def sniff_format(path: str | os.PathLike) -> str:
    """Guess the format of a motif file: ``"meme"``, ``"jaspar"``, ``"pfm"`` or ``"transfac"``.

    Raises ValueError (naming the file) if none fits.
    """
    src = _Lines(Path(path))
    return _sniff(src)


def _sniff(src: _Lines) -> str:
    content = [(i, line.strip()) for i, line in src.numbered() if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise src.error(None, "the file is empty; expected motifs in MEME, JASPAR, pfm or TRANSFAC format")
    for _, line in content:
        if line.startswith("MEME version") or line.startswith("letter-probability matrix"):
            return "meme"
    first = content[0][1]
    if first.startswith(">"):
        following = [line for _, line in content[1:5]]
        if following and all(_JASPAR_ROW.match(line) and line[0].upper() in "ACGT" and "[" in line
                             for line in following):
            return "jaspar"
        if following and _JASPAR_ROW.match(following[0]) and following[0][:1].upper() in "ACGT":
            return "jaspar"
        return "pfm"
    keys = {line[:2] for _, line in content}
    if keys & {"P0", "PO"} and (keys & {"ID", "AC", "XX", "//"}):
        return "transfac"
    if all(re.fullmatch(rf"(?:{_NUMBER}\s*)+", line) for _, line in content[:4]):
        return "pfm"
    raise src.error(content[0][0], f"cannot tell the motif format from {first[:40]!r}; expected MEME "
                                   f"('MEME version …'), JASPAR ('>ID name' then 'A [ … ]'), pfm (4 rows of "
                                   f"counts) or TRANSFAC ('ID …', 'P0 A C G T'); pass format= explicitly")


# ---------------------------------------------------------------------------------------------------------------
# MEME


def _parse_meme(src: _Lines) -> list[_Raw]:
    motifs: list[_Raw] = []
    current: _Raw | None = None
    expected_w: int | None = None
    in_matrix = False
    in_alphabet_block = False
    for lineno, raw_line in src.numbered():
        line = raw_line.strip()
        if in_alphabet_block:
            if line.upper().startswith("END ALPHABET"):
                in_alphabet_block = False
            continue
        if line.startswith("MEME version"):
            continue
        if line.startswith("ALPHABET"):
            if "=" in line:
                alphabet = line.split("=", 1)[1].strip().upper()
                if alphabet != "ACGT":
                    raise src.error(lineno, f"alphabet {alphabet!r} is not DNA; only ALPHABET= ACGT is supported")
            else:  # custom alphabet definition block: must declare DNA
                if "DNA" not in line.upper():
                    raise src.error(lineno, f"alphabet {line!r} is not DNA; only DNA (ACGT) motifs are supported")
                in_alphabet_block = True
            continue
        if line.startswith("MOTIF"):
            if current is not None:
                _close_meme(src, current, expected_w)
            parts = line.split()
            if len(parts) < 2:
                raise src.error(lineno, "MOTIF line without an id; expected 'MOTIF id [alternative name]'")
            current = _Raw(motif_id=parts[1], lineno=lineno, name=" ".join(parts[2:]))
            motifs.append(current)
            expected_w, in_matrix = None, False
            continue
        if line.startswith("letter-probability matrix"):
            if current is None:
                raise src.error(lineno, "letter-probability matrix before any 'MOTIF id' line")
            if current.rows or in_matrix:
                raise src.error(lineno, f"motif {current.motif_id!r} has a second letter-probability matrix")
            fields = dict(re.findall(r"(\w+)\s*=\s*(\S+)", line.split(":", 1)[1] if ":" in line else ""))
            try:
                alength = int(fields.get("alength", 4))
                expected_w = int(fields["w"]) if "w" in fields else None
                if "nsites" in fields:
                    current.n_sites = int(round(float(fields["nsites"])))
                for key in ("E", "P", "S"):
                    if key in fields:
                        current.score = float(fields[key])
                        current.extra["score_kind"] = key
                        break
            except ValueError:
                raise src.error(lineno, f"cannot read the matrix header values {fields}") from None
            if alength != 4:
                raise src.error(lineno, f"alength= {alength}: only DNA motifs (alength= 4) are supported")
            in_matrix = True
            continue
        if in_matrix:
            tokens = line.split()
            is_row = bool(tokens) and all(re.fullmatch(_NUMBER, t) for t in tokens)
            if is_row and (expected_w is None or len(current.rows) < expected_w):
                values = _floats(src, lineno, tokens, f"motif {current.motif_id!r} row")
                if len(values) != 4:
                    raise src.error(lineno, f"motif {current.motif_id!r}: expected 4 probabilities (A C G T), "
                                            f"got {len(values)}")
                current.rows.append(values)
                current.row_lines.append(lineno)
                continue
            if not line and not current.rows:
                continue  # blank line between header and rows
            missing_rows = not current.rows or (expected_w is not None and len(current.rows) < expected_w)
            if line and missing_rows:
                where = f"row {len(current.rows) + 1}" + (f" of {expected_w}" if expected_w else "")
                raise src.error(lineno, f"motif {current.motif_id!r}: expected matrix {where} (4 probabilities "
                                        f"A C G T), got {line[:40]!r}")
            in_matrix = False
        # anything else (background frequencies, strands, URL, citations) carries nothing the Motif keeps
    if current is not None:
        _close_meme(src, current, expected_w)
    if not motifs:
        raise src.error(None, "no 'MOTIF' entries found in this MEME file")
    return motifs


def _close_meme(src: _Lines, motif: _Raw, expected_w: int | None) -> None:
    if not motif.rows:
        raise src.error(motif.lineno, f"motif {motif.motif_id!r} has no letter-probability matrix rows")
    if expected_w is not None and len(motif.rows) != expected_w:
        raise src.error(motif.lineno, f"motif {motif.motif_id!r}: header says w= {expected_w} but "
                                      f"{len(motif.rows)} matrix row(s) follow")
    for lineno, row in zip(motif.row_lines, motif.rows, strict=True):
        if abs(sum(row) - 1.0) > PROBABILITY_TOLERANCE:
            raise src.error(lineno, f"motif {motif.motif_id!r}: a letter-probability row must sum to 1, this one "
                                    f"sums to {sum(row):.6g}")


# ---------------------------------------------------------------------------------------------------------------
# JASPAR (bracketed) and pfm (plain rows)


def _parse_jaspar(src: _Lines, fmt: str) -> list[_Raw]:
    motifs: list[_Raw] = []
    current: _Raw | None = None
    letters: list[str] = []

    def close() -> None:
        if current is None:
            return
        if len(current.rows) != 4:
            raise src.error(current.lineno, f"motif {current.motif_id!r}: expected 4 rows (A, C, G, T), got "
                                            f"{len(current.rows)}")
        if letters and sorted(letters) != list("ACGT"):
            raise src.error(current.lineno, f"motif {current.motif_id!r}: rows must be A, C, G, T once each, got "
                                            f"{letters}")
        widths = {len(r) for r in current.rows}
        if len(widths) != 1:
            raise src.error(current.row_lines[0], f"motif {current.motif_id!r}: the 4 rows have different lengths "
                                                  f"{[len(r) for r in current.rows]}")
        rows = current.rows
        if letters:  # reorder to A, C, G, T
            rows = [rows[letters.index(b)] for b in "ACGT"]
        current.rows = [list(col) for col in zip(*rows, strict=True)]  # (4, w) → (w, 4)

    for lineno, raw_line in src.numbered():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(">"):
            close()
            parts = line[1:].split(None, 1)
            if not parts:
                raise src.error(lineno, "header '>' without an id; expected '>MA0357.1 PHO4'")
            current = _Raw(motif_id=parts[0], lineno=lineno, name=parts[1].strip() if len(parts) > 1 else "")
            motifs.append(current)
            letters = []
            continue
        if current is None:
            if fmt == "pfm" and not motifs:  # header-less pfm: one motif named after the file
                current = _Raw(motif_id=_stem(src.path), lineno=lineno)
                motifs.append(current)
                letters = []
            else:
                raise src.error(lineno, f"unexpected line {line[:40]!r}; a motif must start with '>id name'")
        match = _JASPAR_ROW.match(line)
        if match and line[0].upper() in "ACGT" and not re.fullmatch(_NUMBER, line.split()[0]):
            letter, body = match.group(1).upper(), match.group(2)
            if len(letters) != len(current.rows):
                raise src.error(lineno, f"motif {current.motif_id!r}: mixes lettered and plain rows")
            letters.append(letter)
            tokens = body.replace("[", " ").replace("]", " ").split()
        else:
            if letters:
                raise src.error(lineno, f"motif {current.motif_id!r}: mixes lettered and plain rows")
            tokens = line.split()
        if len(current.rows) >= 4:
            raise src.error(lineno, f"motif {current.motif_id!r}: more than 4 rows (A, C, G, T); a new motif "
                                    f"must start with '>id name'")
        if not tokens:
            raise src.error(lineno, f"motif {current.motif_id!r}: empty row")
        current.rows.append(_floats(src, lineno, tokens, f"motif {current.motif_id!r} row"))
        current.row_lines.append(lineno)
    close()
    if not motifs:
        raise src.error(None, f"no motifs found in this {fmt} file")
    return motifs


# ---------------------------------------------------------------------------------------------------------------
# TRANSFAC


def _parse_transfac(src: _Lines) -> list[_Raw]:
    motifs: list[_Raw] = []
    block: dict = {}

    def new_block(lineno: int) -> dict:
        return {"start": lineno, "ac": None, "id": None, "de": "", "rows": [], "row_lines": [], "columns": None,
                "header_line": None}

    def close(b: dict) -> None:
        if b["columns"] is None and not b["rows"]:
            if b["ac"] or b["id"]:
                raise src.error(b["start"], f"motif {(b['ac'] or b['id'])!r} has no 'P0 A C G T' matrix")
            return
        motif_id = b["ac"] or b["id"]
        if not motif_id:
            raise src.error(b["start"], "matrix without an 'ID' or 'AC' line")
        if not b["rows"]:
            raise src.error(b["header_line"], f"motif {motif_id!r}: no matrix rows after the P0 line")
        raw = _Raw(motif_id=motif_id, lineno=b["start"], name=b["id"] if b["ac"] else "")
        order = [b["columns"].index(base) for base in "ACGT"]
        raw.rows = [[row[k] for k in order] for row in b["rows"]]
        raw.row_lines = b["row_lines"]
        if b["de"]:
            raw.extra["description"] = b["de"]
        motifs.append(raw)

    block = new_block(1)
    in_matrix = False
    for lineno, raw_line in src.numbered():
        line = raw_line.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key = stripped[:2]
        rest = stripped[2:].strip()
        if stripped.startswith("//"):
            close(block)
            block, in_matrix = new_block(lineno + 1), False
            continue
        if key in ("P0", "PO") and (not rest or not re.fullmatch(_NUMBER, rest.split()[0])):
            columns = [c.upper() for c in rest.split()]
            if sorted(columns) != list("ACGT"):
                raise src.error(lineno, f"matrix header must list the columns A C G T, got {rest!r}")
            if block["columns"] is not None:
                raise src.error(lineno, "second matrix in one TRANSFAC entry; end the previous one with '//'")
            block["columns"], block["header_line"], in_matrix = columns, lineno, True
            continue
        if in_matrix and re.fullmatch(r"\d+", stripped.split()[0]):
            tokens = stripped.split()[1:]
            if tokens and not re.fullmatch(_NUMBER, tokens[-1]):
                tokens = tokens[:-1]  # trailing consensus letter
            if len(tokens) != 4:
                raise src.error(lineno, f"matrix row: expected a position number and 4 values (A C G T), got "
                                        f"{stripped!r}")
            block["rows"].append(_floats(src, lineno, tokens, "matrix row"))
            block["row_lines"].append(lineno)
            continue
        in_matrix = False
        if key == "AC":
            block["ac"] = rest.split()[0] if rest else None
        elif key == "ID":
            block["id"] = rest.split()[0] if rest else None
        elif key == "DE":
            block["de"] = rest
        elif key == "XX" or re.fullmatch(r"[A-Z0-9]{2}", key):
            pass  # other TRANSFAC fields (BF, BA, CC, …) are kept out of the Motif
        else:
            raise src.error(lineno, f"unexpected line {stripped[:40]!r} in a TRANSFAC file")
    close(block)
    if not motifs:
        raise src.error(None, "no matrices ('P0 A C G T' … '//') found in this TRANSFAC file")
    return motifs


# ---------------------------------------------------------------------------------------------------------------
# public API


def _stem(path: Path) -> str:
    return path.name.split(".")[0] or path.name


def _to_motif(src: _Lines, raw: _Raw, fmt: str, method: str) -> Motif:
    m = np.asarray(raw.rows, dtype=np.float64)
    totals = m.sum(axis=1)
    zero = np.flatnonzero(totals <= 0)
    if zero.size:
        lineno = raw.row_lines[zero[0]] if fmt in ("meme", "transfac") else raw.lineno
        raise src.error(lineno, f"motif {raw.motif_id!r}: position {int(zero[0]) + 1} has all-zero counts")
    is_probability = bool(np.all(np.abs(totals - 1.0) <= PROBABILITY_TOLERANCE))
    n_sites = raw.n_sites
    if n_sites is None:
        n_sites = 0 if is_probability else int(round(float(totals.max())))
    provenance = {"source_file": str(src.path), "format": fmt, "line": raw.lineno,
                  "input": "probabilities" if is_probability else "counts"}
    if raw.name:
        provenance["name"] = raw.name
    provenance.update(raw.extra)
    return Motif(motif_id=raw.motif_id, method=method, pwm=m / totals[:, None], n_sites=n_sites,
                 score=raw.score, provenance=provenance)


def read_motifs(path: str | os.PathLike, format: str = "auto", *, method: str = "external") -> list[Motif]:
    """Read every motif in a MEME, JASPAR, pfm or TRANSFAC file (see the module docstring).

    Parameters
    ----------
    path
        The motif file (plain text).
    format
        One of :data:`FORMATS`; ``"auto"`` (default) sniffs it (:func:`sniff_format`).
    method
        ``Motif.method`` of the results: ``"external"`` (default), or e.g. ``"streme"`` / ``"weeder"`` for the
        output of those tools.

    Returns
    -------
    The motifs in file order; PWMs (w, 4) float64 probabilities; ``provenance`` records the file, format, line
    and the name.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Unknown format or method, unreadable content, or repeated motif ids; the message names the file, the
        1-based line and the problem.
    """
    path = Path(path)
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {format!r}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    existing_file(path, "motif file")
    src = _Lines(path)
    fmt = _sniff(src) if format == "auto" else format
    if fmt == "meme":
        raws = _parse_meme(src)
    elif fmt in ("jaspar", "pfm"):
        raws = _parse_jaspar(src, fmt)
    else:
        raws = _parse_transfac(src)
    seen: dict[str, int] = {}
    for raw in raws:
        if raw.motif_id in seen:
            raise src.error(raw.lineno, f"motif id {raw.motif_id!r} was already used on line "
                                        f"{seen[raw.motif_id]}; ids must be unique within a file")
        seen[raw.motif_id] = raw.lineno
    motifs = [_to_motif(src, raw, fmt, method) for raw in raws]
    logger.info("read %d %s motif(s) from %s", len(motifs), fmt, path)
    return motifs


def jaspar_motif(matrix_id: str, release: str | None = None) -> Motif:
    """A JASPAR matrix (e.g. ``"MA0357.1"``, Pho4) as a :class:`Motif` with ``method="jaspar"``.

    The PWM is the count matrix normalised per position (no pseudocount: scoring adds its own, see
    :func:`affdist_core.baselines.pwm_scoring.log_odds`); ``n_sites`` = the largest position total; the id is the
    versioned matrix id; ``provenance`` holds the name and release. Raises ValueError for unknown ids.
    """
    from affdist_core.io.jaspar import DEFAULT_RELEASE, fetch_jaspar

    release = release or DEFAULT_RELEASE
    jm = fetch_jaspar(matrix_id, release)
    totals = jm.counts.sum(axis=1, keepdims=True)
    return Motif(
        motif_id=jm.matrix_id, method="jaspar", pwm=jm.counts / totals, n_sites=int(round(float(totals.max()))),
        provenance={"name": jm.name, "release": jm.release, "source": "pyjaspar", "requested_id": matrix_id},
    )
