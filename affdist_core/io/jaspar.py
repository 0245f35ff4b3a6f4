"""Known motifs from the JASPAR database shipped inside the ``pyjaspar`` package (offline SQLite)."""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_RELEASE = "JASPAR2024"


@dataclass(frozen=True)
class JasparMotif:
    """A JASPAR matrix: ``counts`` has shape (width, 4), columns A, C, G, T."""

    matrix_id: str
    name: str
    counts: np.ndarray
    release: str

    def probabilities(self, pseudocount: float = 0.01) -> np.ndarray:
        """Position probability matrix (width, 4), with ``pseudocount`` × column total spread evenly."""
        totals = self.counts.sum(axis=1, keepdims=True)
        smoothed = self.counts + pseudocount * totals / 4.0
        return smoothed / smoothed.sum(axis=1, keepdims=True)

    def consensus(self) -> str:
        """Most frequent base per position."""
        return "".join("ACGT"[i] for i in self.counts.argmax(axis=1))


@functools.lru_cache(maxsize=64)
def fetch_jaspar(matrix_id: str, release: str = DEFAULT_RELEASE) -> JasparMotif:
    """Fetch a matrix by id (``MA0357`` = latest version, or ``MA0357.1``) from pyjaspar's bundled database.

    Raises ValueError if the id is unknown in that release.
    """
    try:
        from pyjaspar import jaspardb
    except ImportError as err:  # pragma: no cover - pinned dependency
        raise ValueError("jaspar: the pyjaspar package is required (pip install pyjaspar==4.0.0)") from err
    db = jaspardb(release=release)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyjaspar warns before returning None for unknown ids
        motif = db.fetch_motif_by_id(matrix_id)
    if motif is None:
        raise ValueError(f"jaspar_id: {matrix_id!r} is not in {release}; look ids up at jaspar.elixir.no")
    counts = np.array([[motif.counts[b][i] for b in "ACGT"] for i in range(motif.length)], dtype=np.float64)
    return JasparMotif(matrix_id=str(motif.matrix_id), name=str(motif.name), counts=counts, release=release)
