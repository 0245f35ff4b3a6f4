"""Per-base strand signal in bigWig files (pyBigWig): write sparse counts, read dense windows."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pyBigWig

from affdist_core.common.atomic import atomic_path

log = logging.getLogger(__name__)


def write_bigwig(
    path: str | os.PathLike, chrom_sizes: dict[str, int], values: dict[str, np.ndarray]
) -> Path:
    """Write per-base values (e.g. read 5′-end counts) to a bigWig, atomically.

    Parameters
    ----------
    chrom_sizes : chromosome name → length, in the order to store them.
    values : chromosome name → array of shape (length,), any numeric dtype; zeros are not stored.
        Chromosomes missing from ``values`` are stored empty.
    """
    for chrom, arr in values.items():
        if chrom not in chrom_sizes:
            raise ValueError(f"values: chromosome {chrom!r} is not in chrom_sizes")
        if len(arr) != chrom_sizes[chrom]:
            raise ValueError(f"values[{chrom!r}]: length {len(arr)} != chromosome size {chrom_sizes[chrom]}")
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(chrom_sizes.items()), maxZooms=10)
            for chrom in chrom_sizes:
                arr = values.get(chrom)
                if arr is None:
                    continue
                nz = np.flatnonzero(arr)
                if len(nz) == 0:
                    continue
                bw.addEntries(
                    [chrom] * len(nz),
                    nz.astype(np.int64).tolist(),
                    ends=(nz + 1).astype(np.int64).tolist(),
                    values=np.asarray(arr, dtype=np.float64)[nz].tolist(),
                )
        finally:
            bw.close()
    return Path(path)


def strand_windows(plus_bigwig: str | os.PathLike, minus_bigwig: str | os.PathLike, chroms, starts,
                   length: int) -> np.ndarray:
    """Per-base values of a + and − strand bigWig pair in the windows ``chroms[i]:starts[i]`` of ``length`` bp:
    (n, length, 2) float32, strands (+, −); each file is opened once."""
    out = np.zeros((len(starts), length, 2), dtype=np.float32)
    for strand, path in enumerate((plus_bigwig, minus_bigwig)):
        with BigWigReader(path) as reader:
            for i, (chrom, start) in enumerate(zip(chroms, starts)):
                out[i, :, strand] = reader.values(chrom, int(start), int(start) + length)
    return out


class BigWigReader:
    """Dense per-base values from a bigWig; missing data reads as 0."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"bigwig: file {self.path} does not exist")
        bw = pyBigWig.open(str(self.path))
        if bw is None or not bw.isBigWig():
            raise ValueError(f"bigwig: {self.path} is not a bigWig file")
        self._bw = bw
        self.chrom_sizes: dict[str, int] = dict(bw.chroms())

    def values(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Values of ``chrom[start:end]``: shape (end-start,), float32, NaN → 0."""
        if chrom not in self.chrom_sizes:
            raise ValueError(f"chrom: unknown chromosome {chrom!r} in bigWig {self.path.name}")
        if start < 0 or end > self.chrom_sizes[chrom] or start >= end:
            raise ValueError(
                f"interval {chrom}:{start}-{end} is outside {chrom} (length {self.chrom_sizes[chrom]}) "
                f"in bigWig {self.path.name}"
            )
        arr = np.asarray(self._bw.values(chrom, int(start), int(end), numpy=True), dtype=np.float32)
        return np.nan_to_num(arr, nan=0.0)

    def chrom_values(self, chrom: str) -> np.ndarray:
        """Whole-chromosome values: shape (len(chrom),), float32."""
        return self.values(chrom, 0, self.chrom_sizes[chrom])

    def close(self) -> None:
        """Close the file."""
        self._bw.close()

    def __enter__(self) -> "BigWigReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
