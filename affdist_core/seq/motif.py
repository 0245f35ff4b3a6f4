"""The one motif record every motif method produces (MoDISco, STREME, Weeder, JASPAR, external files).

A :class:`Motif` holds a position probability matrix and, for attribution-derived motifs, the
contribution-weight matrices:

* ``pwm``  — (w, 4) float64, base probabilities per position in ``ACGT`` order, rows sum to 1;
* ``cwm``  — (w, 4) float64 or None, mean actual contribution (hypothetical × one-hot) per position/base;
* ``hcwm`` — (w, 4) float64 or None, mean hypothetical contribution per position/base.

Motifs are stored as one Parquet file, one row per motif (:func:`save_motifs` / :func:`load_motifs`); every
field round-trips exactly (float64 matrices, NaN scores, JSON-native provenance).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affdist_core.common.atomic import atomic_path
from affdist_core.common.checks import check_int
from affdist_core.seq.alphabet import ALPHABET

METHODS = ("modisco", "streme", "weeder", "jaspar", "additive", "external")
"""Allowed values of :attr:`Motif.method`."""

ROW_SUM_TOLERANCE = 1e-3
"""Largest allowed deviation of a PWM row sum from 1 (MEME/JASPAR files carry ~6 decimals)."""

FORMAT_VERSION = 1
_RC_SUFFIX = "_rc"
_COLUMNS = ["motif_id", "method", "width", "n_sites", "score", "consensus", "pwm", "cwm", "hcwm", "provenance",
            "format_version"]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _matrix(value: Any, name: str, width: int | None) -> np.ndarray:
    """Validate a (w, 4) finite matrix and return a read-only float64 copy."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric (w, 4) matrix, got {type(value).__name__} ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 1:
        raise ValueError(f"{name}: expected shape (w, 4) with w >= 1, got shape {arr.shape}")
    if width is not None and arr.shape[0] != width:
        raise ValueError(f"{name}: expected width {width} (the pwm's), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: all values must be finite, found {int((~np.isfinite(arr)).sum())} non-finite")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Motif:
    """One motif, whatever method found it.

    Attributes:
        motif_id: unique, non-empty identifier, e.g. ``"modisco_pos_0"``.
        method: one of :data:`METHODS`.
        pwm: (w, 4) float64 base probabilities, ``ACGT`` columns, non-negative, rows sum to 1 (±1e-3).
        cwm: (w, 4) float64 contribution-weight matrix (mean contribution per base), or None.
        hcwm: (w, 4) float64 hypothetical contribution-weight matrix, or None.
        n_sites: number of sites / seqlets the motif was built from (>= 0).
        score: method-specific significance (e.g. E-value, total CWM contribution); may be nan.
        provenance: JSON-serialisable dict (parameters, versions, ...); normalised to JSON-native types.

    Matrices are stored as read-only float64 copies. Equality compares every field exactly (NaN == NaN).
    """

    motif_id: str
    method: str
    pwm: np.ndarray
    cwm: np.ndarray | None = None
    hcwm: np.ndarray | None = None
    n_sites: int = 0
    score: float = float("nan")
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.motif_id, str) or not self.motif_id.strip():
            raise ValueError(f"motif_id: expected a non-empty string, got {self.motif_id!r}")
        if self.method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {self.method!r}")
        pwm = _matrix(self.pwm, "pwm", None)
        if np.any(pwm < 0):
            raise ValueError(f"pwm: probabilities must be >= 0, found minimum {pwm.min():.6g}")
        sums = pwm.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
        if bad.size:
            raise ValueError(
                f"pwm: every row must sum to 1 (±{ROW_SUM_TOLERANCE}); row(s) {bad[:5].tolist()} sum to "
                f"{np.round(sums[bad[:5]], 6).tolist()}"
            )
        object.__setattr__(self, "pwm", pwm)
        width = pwm.shape[0]
        for name in ("cwm", "hcwm"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _matrix(value, name, width))
        object.__setattr__(self, "n_sites", check_int("n_sites", self.n_sites, 0))
        try:
            score = float(self.score)
        except (TypeError, ValueError):
            raise ValueError(f"score: expected a float (nan allowed), got {self.score!r}") from None
        object.__setattr__(self, "score", score)
        if not isinstance(self.provenance, dict):
            raise ValueError(f"provenance: expected a dict, got {type(self.provenance).__name__}")
        try:
            prov = json.loads(json.dumps(self.provenance, default=_json_default))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"provenance: must be JSON-serialisable ({exc})") from None
        object.__setattr__(self, "provenance", prov)

    @property
    def width(self) -> int:
        """Number of positions w."""
        return int(self.pwm.shape[0])

    @property
    def consensus(self) -> str:
        """Most probable base per PWM position (ties → first in ``ACGT`` order)."""
        return "".join(ALPHABET[i] for i in self.pwm.argmax(axis=1))

    def reverse_complement(self) -> Motif:
        """The motif on the other strand: every matrix reversed along both axes (``ACGT`` → ``TGCA``).

        The id gains (or loses) the suffix ``"_rc"``, so applying this twice returns an equal motif.
        """
        motif_id = (self.motif_id[: -len(_RC_SUFFIX)] if self.motif_id.endswith(_RC_SUFFIX)
                    and len(self.motif_id) > len(_RC_SUFFIX) else self.motif_id + _RC_SUFFIX)
        rc = (lambda m: None if m is None else m[::-1, ::-1])
        return replace(self, motif_id=motif_id, pwm=rc(self.pwm), cwm=rc(self.cwm), hcwm=rc(self.hcwm))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Motif):
            return NotImplemented

        def same(a, b):
            return (a is None and b is None) or (a is not None and b is not None and np.array_equal(a, b))

        return (self.motif_id == other.motif_id and self.method == other.method and self.n_sites == other.n_sites
                and (self.score == other.score or (math.isnan(self.score) and math.isnan(other.score)))
                and same(self.pwm, other.pwm) and same(self.cwm, other.cwm) and same(self.hcwm, other.hcwm)
                and self.provenance == other.provenance)

    __hash__ = None  # mutable-looking contents (dict, arrays): not hashable


def _check_unique(motifs: Sequence[Motif]) -> None:
    for i, m in enumerate(motifs):
        if not isinstance(m, Motif):
            raise ValueError(f"motifs: item {i} is a {type(m).__name__}, expected Motif")
    ids = [m.motif_id for m in motifs]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"motifs: motif_id values must be unique, duplicated: {dup[:5]}")


def _flat(m: np.ndarray | None) -> list[float] | None:
    return None if m is None else m.ravel().tolist()


def save_motifs(motifs: Iterable[Motif], path: str | os.PathLike) -> Path:
    """Atomically write ``motifs`` to one Parquet file (one row per motif); returns the path.

    Matrices are stored flattened row-major as float64 lists with a ``width`` column, provenance as JSON text.
    Ids must be unique. An empty list writes a valid, empty file.
    """
    motifs = list(motifs)
    _check_unique(motifs)
    rows = [
        {
            "motif_id": m.motif_id, "method": m.method, "width": m.width, "n_sites": m.n_sites,
            "score": m.score, "consensus": m.consensus, "pwm": _flat(m.pwm), "cwm": _flat(m.cwm),
            "hcwm": _flat(m.hcwm), "provenance": json.dumps(m.provenance),
            "format_version": FORMAT_VERSION,
        }
        for m in motifs
    ]
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("motif_id", pa.string()), ("method", pa.string()), ("width", pa.int64()), ("n_sites", pa.int64()),
        ("score", pa.float64()), ("consensus", pa.string()), ("pwm", pa.list_(pa.float64())),
        ("cwm", pa.list_(pa.float64())), ("hcwm", pa.list_(pa.float64())), ("provenance", pa.string()),
        ("format_version", pa.int64()),
    ])
    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def load_motifs(path: str | os.PathLike) -> list[Motif]:
    """Read motifs written by :func:`save_motifs`, in the saved order (each one re-validated)."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path: no motif file at {path}")
    table = pq.read_table(path)
    missing = [c for c in _COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"path: {path} is not a motif file (missing columns {missing})")
    motifs = []
    for row in table.to_pylist():
        if row["format_version"] != FORMAT_VERSION:
            raise ValueError(f"path: unsupported motif file format_version {row['format_version']} in {path}")
        w = row["width"]

        def mat(v, w=w):
            return None if v is None else np.asarray(v, dtype=np.float64).reshape(w, 4)

        motifs.append(Motif(
            motif_id=row["motif_id"], method=row["method"], pwm=mat(row["pwm"]), cwm=mat(row["cwm"]),
            hcwm=mat(row["hcwm"]), n_sites=row["n_sites"], score=row["score"],
            provenance=json.loads(row["provenance"]),
        ))
    return motifs


def motifs_to_frame(motifs: Iterable[Motif]) -> pd.DataFrame:
    """One display row per motif: id, method, width, consensus, n_sites, score, has_cwm, and its RC consensus."""
    rows = [
        {"motif_id": m.motif_id, "method": m.method, "width": m.width, "consensus": m.consensus,
         "rc_consensus": m.reverse_complement().consensus, "n_sites": m.n_sites, "score": m.score,
         "has_cwm": m.cwm is not None}
        for m in motifs
    ]
    columns = ["motif_id", "method", "width", "consensus", "rc_consensus", "n_sites", "score", "has_cwm"]
    return pd.DataFrame(rows, columns=columns)
