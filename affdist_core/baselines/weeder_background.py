"""Weeder's background model: genome oligo frequencies on both strands, per length, cached per FASTA.

For every length k, the count of every k-mer on both strands (windows containing N skipped) plus a pseudocount
per word, normalised to sum to 1: ``f_k(w)`` is the probability that a random genomic window of length k, read
on a random strand, is the word ``w`` (index = the 2-bit packed word, :mod:`affdist_core.seq.kmers`). The
table is reverse-complement symmetric by construction. Weeder ships such tables per organism; we count ours
from a genome FASTA (:func:`oligo_frequencies_from_fasta`, cached as ``.npz``) or any sequences
(:func:`oligo_frequencies_from_sequences`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from affdist_core.common.atomic import atomic_path
from affdist_core.io.fasta import GenomeReader
from affdist_core.seq.alphabet import encode
from affdist_core.seq.kmers import pack_windows, reverse_complement_words

__all__ = [
    "DEFAULT_LENGTHS",
    "MAX_LENGTH",
    "OligoFrequencies",
    "oligo_frequencies_from_fasta",
    "oligo_frequencies_from_sequences",
]

log = logging.getLogger(__name__)

MAX_LENGTH = 12
"""Longest oligo supported (4**12 words = 16.8 M table entries)."""
DEFAULT_LENGTHS = (6, 8, 10)
FREQUENCY_SUM_TOLERANCE = 1e-6
_CACHE_VERSION = 1
_FASTA_CHUNK = 1 << 23  # bases fetched per FASTA read


@dataclass(frozen=True, eq=False)
class OligoFrequencies:
    """Genome k-mer frequencies on both strands, per length: {k: (4**k,) float64 summing to 1}
    (index = 2-bit packed word, A=0 C=1 G=2 T=3, first base most significant).

    Attributes:
        frequencies: {k: (4**k,) float64}, read-only, non-negative, summing to 1 (±1e-6).
        n_windows: {k: number of k-mer windows counted, both strands} (0 when unknown).
        pseudocount: count added to every word before normalising.
        source: where the counts came from (a path or a description).
    """

    frequencies: dict[int, np.ndarray]
    n_windows: dict[int, int] = field(default_factory=dict)
    pseudocount: float = 1.0
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.frequencies, dict) or not self.frequencies:
            raise ValueError("frequencies: expected a non-empty dict {k: (4**k,) array}")
        clean = {}
        for k, arr in sorted(self.frequencies.items()):
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_LENGTH:
                raise ValueError(f"frequencies: lengths must be ints in 1..{MAX_LENGTH}, got {k!r}")
            a = np.array(arr, dtype=np.float64)
            if a.shape != (4**k,):
                raise ValueError(f"frequencies[{k}]: expected shape ({4**k},), got {a.shape}")
            if not np.all(np.isfinite(a)) or np.any(a < 0) or abs(a.sum() - 1.0) > FREQUENCY_SUM_TOLERANCE:
                raise ValueError(f"frequencies[{k}]: expected finite non-negative values summing to 1, "
                                 f"got sum {a.sum():.9g}")
            a.setflags(write=False)
            clean[int(k)] = a
        object.__setattr__(self, "frequencies", clean)
        object.__setattr__(self, "n_windows", {int(k): int(v) for k, v in self.n_windows.items()})
        object.__setattr__(self, "pseudocount", float(self.pseudocount))

    @property
    def lengths(self) -> tuple[int, ...]:
        """Oligo lengths available, ascending."""
        return tuple(self.frequencies)

    def __getitem__(self, k: int) -> np.ndarray:
        """The (4**k,) frequency table of length ``k``."""
        if k not in self.frequencies:
            raise ValueError(f"background: no oligo frequencies of length {k} (has {list(self.lengths)}); "
                             f"recompute the background with lengths including {k}")
        return self.frequencies[k]


def _check_lengths(lengths: Iterable[int]) -> tuple[int, ...]:
    try:
        out = tuple(sorted({int(k) for k in lengths}))
    except (TypeError, ValueError):
        raise ValueError(f"lengths: expected an iterable of ints, got {lengths!r}") from None
    if not out or out[0] < 1 or out[-1] > MAX_LENGTH:
        raise ValueError(f"lengths: expected oligo lengths in 1..{MAX_LENGTH}, got {list(out)}; "
                         f"Weeder uses {list(DEFAULT_LENGTHS)}")
    return out


def _check_pseudocount(pseudocount: float) -> float:
    if not (isinstance(pseudocount, (int, float)) and math.isfinite(pseudocount) and pseudocount >= 0):
        raise ValueError(f"pseudocount: expected a finite number >= 0, got {pseudocount!r}")
    return float(pseudocount)


class _Counter:
    """Accumulates one-strand k-mer counts; :meth:`result` adds the reverse strand and normalises."""

    def __init__(self, lengths: tuple[int, ...]):
        self.counts = {k: np.zeros(4**k, dtype=np.int64) for k in lengths}

    def add(self, codes: np.ndarray, min_end: int = 0) -> None:
        """Count the windows of ``codes`` that end after position ``min_end`` (earlier ones already counted)."""
        for k, counts in self.counts.items():
            words, starts = pack_windows(codes, k)
            if min_end > 0:
                words = words[starts + k > min_end]
            counts += np.bincount(words, minlength=4**k)

    def result(self, pseudocount: float, source: str) -> OligoFrequencies:
        freqs, n_windows = {}, {}
        for k, counts in self.counts.items():
            both = counts + counts[reverse_complement_words(np.arange(4**k, dtype=np.int64), k)]
            n_windows[k] = int(both.sum())
            total = both.sum() + pseudocount * both.size
            if total <= 0:
                raise ValueError(f"sequences: no valid {k}-mer window (A/C/G/T only) to count and pseudocount "
                                 "is 0; pass longer sequences or a positive pseudocount")
            freqs[k] = (both + pseudocount) / total
        return OligoFrequencies(freqs, n_windows, pseudocount, source)


def oligo_frequencies_from_sequences(sequences: Iterable[str], lengths: Iterable[int] = DEFAULT_LENGTHS,
                                     pseudocount: float = 1.0) -> OligoFrequencies:
    """Background k-mer frequencies of ``sequences`` counted on both strands.

    Args:
        sequences: DNA strings (any case); windows containing characters other than A/C/G/T are skipped.
        lengths: oligo lengths k (1..12).
        pseudocount: added to every word's two-strand count before normalising.

    Returns:
        :class:`OligoFrequencies` with one (4**k,) table per length.
    """
    lengths = _check_lengths(lengths)
    pseudocount = _check_pseudocount(pseudocount)
    if isinstance(sequences, str):
        raise ValueError("sequences: expected an iterable of strings, got a single string; wrap it in a list")
    counter = _Counter(lengths)
    n = 0
    for i, seq in enumerate(sequences):
        if not isinstance(seq, str):
            raise ValueError(f"sequences[{i}]: expected a DNA string, got {type(seq).__name__}")
        counter.add(encode(seq))
        n += 1
    return counter.result(pseudocount, f"{n} sequences")


def _cache_file(fasta: Path, cache_dir: Path, lengths: tuple[int, ...], pseudocount: float) -> tuple[Path, str]:
    stat = fasta.stat()
    key = json.dumps({"version": _CACHE_VERSION, "fasta": str(fasta.resolve()), "size": stat.st_size,
                      "mtime_ns": stat.st_mtime_ns, "lengths": list(lengths), "pseudocount": pseudocount},
                     sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    name = f"{fasta.name}.oligofreq-{'-'.join(map(str, lengths))}-{digest}.npz"
    return cache_dir / name, key


def _load_cache(path: Path, key: str, lengths: tuple[int, ...], source: str) -> OligoFrequencies | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            return OligoFrequencies({k: data[f"f{k}"] for k in lengths},
                                    {k: int(data[f"n{k}"]) for k in lengths},
                                    float(data["pseudocount"]), source)
    except (OSError, KeyError, ValueError) as exc:
        log.warning("oligo frequency cache %s unreadable (%s); recomputing", path, exc)
        return None


def _count_fasta(fasta: Path, lengths: tuple[int, ...], pseudocount: float) -> OligoFrequencies:
    reader = GenomeReader(fasta)
    counter = _Counter(lengths)
    overlap = max(lengths) - 1
    try:
        for chrom in reader.chroms:
            size = reader.chrom_sizes[chrom]
            for start in range(0, size, _FASTA_CHUNK):
                a = max(0, start - overlap)  # re-read the bases needed by windows that cross the chunk edge
                counter.add(reader.fetch_codes(chrom, a, min(size, start + _FASTA_CHUNK)), min_end=start - a)
    finally:
        reader.close()
    return counter.result(pseudocount, str(fasta))


def oligo_frequencies_from_fasta(path: str | os.PathLike, lengths: Iterable[int] = DEFAULT_LENGTHS,
                                 cache_dir: str | os.PathLike | None = None, *,
                                 pseudocount: float = 1.0) -> OligoFrequencies:
    """Genome k-mer frequencies of every record of a FASTA file, both strands (windows with N skipped).

    Equal to :func:`oligo_frequencies_from_sequences` on the file's records. The result is cached as an
    ``.npz`` in ``cache_dir`` (default: next to the FASTA, like its ``.fai``), named after the FASTA and
    keyed by its path, size, mtime, the lengths and the pseudocount; the cache is written atomically and a
    failed write only logs a warning.

    Args:
        path: FASTA file (a ``.fai`` index is created next to it if missing, by pyfaidx).
        lengths: oligo lengths k (1..12).
        cache_dir: directory for the cache file, or None for the FASTA's directory.
        pseudocount: added to every word's two-strand count before normalising.
    """
    lengths = _check_lengths(lengths)
    pseudocount = _check_pseudocount(pseudocount)
    fasta = Path(path)
    if not fasta.is_file():
        raise ValueError(f"path: FASTA file {fasta} does not exist; pass the genome FASTA")
    cache_path, key = _cache_file(fasta, Path(cache_dir) if cache_dir is not None else fasta.parent,
                                  lengths, pseudocount)
    if cache_path.is_file():
        cached = _load_cache(cache_path, key, lengths, str(fasta))
        if cached is not None:
            log.info("oligo frequencies of %s loaded from %s", fasta, cache_path)
            return cached
    t0 = time.perf_counter()
    result = _count_fasta(fasta, lengths, pseudocount)
    log.info("oligo frequencies of %s (lengths %s) counted in %.1f s", fasta, list(lengths),
             time.perf_counter() - t0)
    arrays = {f"f{k}": result.frequencies[k] for k in lengths}
    arrays.update({f"n{k}": np.int64(result.n_windows[k]) for k in lengths})
    try:
        with atomic_path(cache_path) as tmp:
            np.savez(tmp, key=np.str_(key), pseudocount=np.float64(pseudocount), **arrays)
    except OSError as exc:
        log.warning("could not write oligo frequency cache %s (%s); pass a writable cache_dir", cache_path, exc)
    return result
