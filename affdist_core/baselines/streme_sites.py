"""Sequence sets for the STREME re-implementation: flat code arrays, best-site scans with a log-odds matrix on
both strands, site extraction and masking.

A :class:`SeqSet` holds n sequences as one flat uint8 code array (A, C, G, T = 0..3, N = 4), each followed by
one N separator, so a window never spans two sequences; masking writes N into it in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from affdist_core.seq.alphabet import N_CODE

__all__ = ["Scan", "SeqSet", "mask_best_sites", "scan", "site_codes"]


@dataclass
class SeqSet:
    """Sequences as one flat uint8 code array (A,C,G,T = 0..3, N = 4), each followed by one N separator.

    ``codes`` is (Σ (L_i + 1),); ``starts`` (n,) int64 offsets of each sequence; ``lengths`` (n,) int64.
    Masking writes N into ``codes`` in place.
    """

    codes: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @classmethod
    def from_codes(cls, seqs: Sequence[np.ndarray]) -> SeqSet:
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        starts = np.zeros(len(seqs), dtype=np.int64)
        if len(seqs) > 1:
            starts[1:] = np.cumsum(lengths[:-1] + 1)
        codes = np.full(int(lengths.sum() + len(seqs)), N_CODE, dtype=np.uint8)
        for s, start in zip(seqs, starts):
            codes[start:start + len(s)] = s
        return cls(codes, starts, lengths)

    @property
    def n(self) -> int:
        return int(self.starts.size)

    def seq_of_position(self) -> np.ndarray:
        """(len(codes),) int64 index of the sequence each flat position belongs to (separators: the one before)."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.lengths + 1)


@numba.njit(cache=True)
def _best_sites_kernel(codes: np.ndarray, starts: np.ndarray, lengths: np.ndarray, fwd: np.ndarray,
                       rev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best window score per sequence over both strands.

    ``fwd`` (w, 4) is the log-odds matrix, ``rev`` = ``fwd[::-1, ::-1]`` (scoring a forward window with it
    equals scoring its reverse complement with ``fwd``). Returns best (n,) float64 (−inf if no N-free
    window), start (n,) int64 (−1 if none) and strand (n,) int8 (0 forward, 1 reverse). Ties: the first
    window, forward before reverse.
    """
    n = starts.size
    w = fwd.shape[0]
    best = np.full(n, -np.inf)
    where = np.full(n, -1, dtype=np.int64)
    strand = np.zeros(n, dtype=np.int8)
    for s in range(n):
        st = starts[s]
        length = lengths[s]
        top = -np.inf
        top_i = -1
        top_s = 0
        i = 0
        while i + w <= length:
            f = 0.0
            r = 0.0
            bad = -1
            for j in range(w):
                c = codes[st + i + j]
                if c >= 4:
                    bad = j
                    break
                f += fwd[j, c]
                r += rev[j, c]
            if bad >= 0:
                i += bad + 1
                continue
            if f > top:
                top, top_i, top_s = f, i, 0
            if r > top:
                top, top_i, top_s = r, i, 1
            i += 1
        best[s] = top
        where[s] = top_i
        strand[s] = top_s
    return best, where, strand


@dataclass
class Scan:
    """Each sequence's best site under one log-odds matrix (:func:`scan`)."""

    best: np.ndarray  # (n,) float64, -inf where the sequence has no N-free window
    start: np.ndarray  # (n,) int64 window start within the sequence
    strand: np.ndarray  # (n,) int8, 1 = reverse complement


def scan(sset: SeqSet, lo: np.ndarray) -> Scan:
    """Best site of every sequence of ``sset`` on both strands under the (w, 4) log-odds matrix ``lo``."""
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    rev = np.ascontiguousarray(lo[::-1, ::-1])
    return Scan(*_best_sites_kernel(sset.codes, sset.starts, sset.lengths, lo, rev))


def site_codes(sset: SeqSet, found: Scan, threshold: float, width: int) -> np.ndarray:
    """(k, width) uint8 codes of the best sites ≥ threshold in ``found`` (a :func:`scan` of ``sset``), each
    read on the strand it matched."""
    sel = np.flatnonzero(found.best >= threshold)
    idx = (sset.starts[sel] + found.start[sel])[:, None] + np.arange(width)
    sites = sset.codes[idx]
    rev = found.strand[sel] == 1
    sites[rev] = 3 - sites[rev, ::-1]
    return sites


def mask_best_sites(sset: SeqSet, lo: np.ndarray, threshold: float) -> int:
    """Replace each sequence's best site scoring ≥ threshold by N (in place); returns how many."""
    found = scan(sset, lo)
    sel = np.flatnonzero(found.best >= threshold)
    idx = (sset.starts[sel] + found.start[sel])[:, None] + np.arange(lo.shape[0])
    sset.codes[idx.ravel()] = N_CODE
    return int(sel.size)
