"""Reading genome sequence from an indexed FASTA (pyfaidx) with validated coordinates.

Coordinates are 0-based, half-open (BED style) everywhere in this package.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pyfaidx

from affdist_core.seq.alphabet import encode, one_hot

log = logging.getLogger(__name__)


class GenomeReader:
    """Random access to an indexed FASTA file.

    Parameters
    ----------
    fasta : path to a FASTA file; a ``.fai`` index is created next to it if missing.
    """

    def __init__(self, fasta: str | os.PathLike):
        self.path = Path(fasta)
        if not self.path.exists():
            raise ValueError(f"genome_fasta: file {self.path} does not exist; pass the path of a FASTA file")
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=True)
        except (pyfaidx.FastaIndexingError, pyfaidx.FetchError, ValueError) as err:
            raise ValueError(f"genome_fasta: cannot index {self.path} as FASTA ({err})") from err
        self.chrom_sizes: dict[str, int] = {name: len(rec) for name, rec in self._fasta.records.items()}

    def __repr__(self) -> str:
        return f"GenomeReader({str(self.path)!r}, {len(self.chrom_sizes)} chromosomes)"

    @property
    def chroms(self) -> list[str]:
        """Chromosome names in file order."""
        return list(self.chrom_sizes)

    def check_interval(self, chrom: str, start: int, end: int) -> None:
        """Raise ValueError unless ``chrom`` exists and ``0 <= start < end <= len(chrom)``."""
        if chrom not in self.chrom_sizes:
            shown = ", ".join(list(self.chrom_sizes)[:8])
            more = " …" if len(self.chrom_sizes) > 8 else ""
            raise ValueError(
                f"chrom: unknown chromosome {chrom!r} in {self.path.name}; known: {shown}{more}. "
                "Check that peaks/bigWigs use the same chromosome names as the FASTA."
            )
        size = self.chrom_sizes[chrom]
        if start < 0 or end > size or start >= end:
            raise ValueError(
                f"interval {chrom}:{start}-{end} is outside {chrom} (length {size}); "
                "windows must lie within the chromosome — drop or shrink windows near the ends."
            )

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Upper-case sequence of ``chrom[start:end]``."""
        self.check_interval(chrom, start, end)
        return self._fasta[chrom][start:end]

    def fetch_codes(self, chrom: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """Integer codes (see :mod:`affdist_core.seq.alphabet`) of ``chrom[start:end]``: shape (end-start,), uint8."""
        end = self.chrom_sizes.get(chrom, 0) if end is None else end
        return encode(self.fetch(chrom, start, end))

    def one_hot_windows(self, chroms, starts, length: int) -> np.ndarray:
        """One-hot windows ``chrom[start:start+length]`` for each pair: shape (n, length, 4), float32."""
        out = np.zeros((len(starts), length, 4), dtype=np.float32)
        for i, (chrom, start) in enumerate(zip(chroms, starts)):
            out[i] = one_hot(self.fetch(chrom, int(start), int(start) + length))
        return out

    def close(self) -> None:
        """Close the underlying file handle."""
        self._fasta.close()


def write_chrom_sizes(path: str | os.PathLike, chrom_sizes: dict[str, int]) -> None:
    """Write a UCSC ``chrom.sizes`` file (name<TAB>length) atomically."""
    from affdist_core.common.atomic import write_text

    write_text(path, "".join(f"{name}\t{size}\n" for name, size in chrom_sizes.items()))


def write_fasta(path: str | os.PathLike, records: dict[str, str], line_width: int = 60) -> Path:
    """Write upper-case sequences as FASTA plus its samtools-style ``.fai`` index, both atomically."""
    from affdist_core.common.atomic import atomic_path, write_text

    path = Path(path)
    index_lines = []
    offset = 0
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="ascii") as handle:
            for name, seq in records.items():
                header = f">{name}\n"
                handle.write(header)
                offset += len(header)
                bases_per_line = min(line_width, len(seq))
                index_lines.append(f"{name}\t{len(seq)}\t{offset}\t{bases_per_line}\t{bases_per_line + 1}\n")
                for i in range(0, len(seq), line_width):
                    handle.write(seq[i : i + line_width])
                    handle.write("\n")
                offset += len(seq) + -(-len(seq) // line_width)
    write_text(f"{path}.fai", "".join(index_lines))
    return path
