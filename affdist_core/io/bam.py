"""ChIP-nexus / ChIP-exo read 5′-end counts per strand from BAM files, written as a + and a − strand bigWig.

In ChIP-nexus and ChIP-exo the exonuclease stops at the cross-linked protein, so the base a read starts at —
its 5′ end — is the signal. For a read aligned to the + strand that is ``reference_start`` (its leftmost
aligned base); for a read aligned to the − strand it is ``reference_end - 1`` (its rightmost aligned base, where
the read's sequence starts on the other strand). Soft-clipped bases are not counted as aligned (pysam's
coordinates), so a clipped adapter does not shift the 5′ end. Coordinates are 0-based.

Which records count, in the order the reasons are tested (a record is skipped for the first that applies):

======================  ======================================================================================
``unmapped``            flag 0x4, or no chromosome
``secondary``           flag 0x100 (the primary alignment of the read counts instead)
``supplementary``       flag 0x800 (chimeric pieces; the representative alignment counts)
``qc_fail``             flag 0x200
``read2``               flag 0x1 and 0x80: of a paired-end read pair only read 1 counts — its 5′ end is the
                        exonuclease stop; read 2 starts at the sonication/adapter end. Single-end reads all count.
``duplicate``           flag 0x400, unless ``keep_duplicates``; only files marked by a duplicate marker (Picard
                        MarkDuplicates, ``samtools markdup``) carry it — nothing here marks duplicates itself
``low_mapq``            mapping quality below ``min_mapq`` (255, "not available", counts as high)
======================  ======================================================================================

Every file is read from start to end (no region queries), so a BAM index (``.bai``) is not needed, and the
file need not be sorted; SAM works too, CRAM does not (convert it with ``samtools view -b``). Counts of several
files are summed (replicates pooled). Memory: one int32 per base per strand of the genome (about 100 MB for
yeast), plus about 15 bytes per read of a one-million-record chunk.
"""

from __future__ import annotations

import logging
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from affdist_core.io.bigwig import write_bigwig
from affdist_core.io.chrom_names import chrom_name_problems

log = logging.getLogger(__name__)

__all__ = [
    "SKIP_REASONS", "BamFileCounts", "BamCountSummary", "bam_chrom_sizes", "bam_to_bigwigs", "count_5prime_ends",
    "strand_bigwig_paths",
]

SKIP_REASONS: tuple[str, ...] = (
    "unmapped", "secondary", "supplementary", "qc_fail", "read2", "duplicate", "low_mapq",
)
"""Why a record is not counted, in the order the reasons are tested (see the module docstring)."""

_UNMAPPED, _REVERSE, _PAIRED, _READ2 = 0x4, 0x10, 0x1, 0x80
_SECONDARY, _QC_FAIL, _DUPLICATE, _SUPPLEMENTARY = 0x100, 0x200, 0x400, 0x800
CHUNK_RECORDS = 1 << 20
"""Records read before their 5′ ends are binned (bounds the per-read memory)."""


@dataclass(frozen=True)
class BamFileCounts:
    """What one BAM file contributed: records read, 5′ ends counted per strand, records skipped by reason."""

    path: str
    records: int
    counted_plus: int
    counted_minus: int
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        """5′ ends counted on both strands."""
        return self.counted_plus + self.counted_minus


@dataclass(frozen=True)
class BamCountSummary:
    """The result of :func:`bam_to_bigwigs`: per-file counts, the settings and the two bigWigs written."""

    files: tuple[BamFileCounts, ...]
    min_mapq: int
    keep_duplicates: bool
    plus: Path | None = None
    minus: Path | None = None

    @property
    def counted(self) -> int:
        """5′ ends counted over all files and both strands."""
        return sum(f.counted for f in self.files)

    @property
    def skipped(self) -> dict[str, int]:
        """Records skipped over all files, by reason (every reason of :data:`SKIP_REASONS`, zeros included)."""
        return {reason: sum(f.skipped.get(reason, 0) for f in self.files) for reason in SKIP_REASONS}

    def to_dict(self) -> dict:
        """JSON-ready form (paths as strings)."""
        return {
            "plus": None if self.plus is None else str(self.plus),
            "minus": None if self.minus is None else str(self.minus),
            "min_mapq": self.min_mapq,
            "keep_duplicates": self.keep_duplicates,
            "counted": self.counted,
            "skipped": self.skipped,
            "files": [
                {"path": f.path, "records": f.records, "counted_plus": f.counted_plus,
                 "counted_minus": f.counted_minus, "skipped": dict(f.skipped)}
                for f in self.files
            ],
        }

    def describe(self) -> str:
        """A few lines for the console: per file, records read, 5′ ends counted and the skipped ones by reason."""
        lines = []
        for f in self.files:
            skipped = ", ".join(f"{reason} {n:,}" for reason, n in f.skipped.items() if n) or "none"
            lines.append(f"{f.path}: {f.records:,} records, {f.counted:,} 5′ ends counted "
                         f"(+ {f.counted_plus:,}, − {f.counted_minus:,}); skipped: {skipped}")
        lines.append(f"min_mapq {self.min_mapq}, duplicates {'kept' if self.keep_duplicates else 'dropped'}; "
                     f"total {self.counted:,} 5′ ends")
        if self.plus is not None:
            lines.append(f"plus: {self.plus}\nminus: {self.minus}")
        return "\n".join(lines)


def strand_bigwig_paths(prefix: str | os.PathLike) -> tuple[Path, Path]:
    """The + and − strand bigWigs of an output prefix: ``PREFIX.plus.bw``, ``PREFIX.minus.bw``."""
    prefix = os.fspath(prefix)
    if not prefix or prefix.endswith(("/", os.sep)):
        raise ValueError(f"out_prefix: expected a path prefix such as runs/pho4/pho4, got {prefix!r}; "
                         "the files are PREFIX.plus.bw and PREFIX.minus.bw")
    return Path(f"{prefix}.plus.bw"), Path(f"{prefix}.minus.bw")


def bam_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Chromosome name → length from a BAM/SAM header (its ``@SQ`` lines), in header order."""
    with _open(Path(path)) as bam:
        return dict(zip(bam.references, (int(n) for n in bam.lengths)))


def bam_to_bigwigs(
    bams: list[Path],
    chrom_sizes: dict[str, int],
    plus: Path,
    minus: Path,
    min_mapq: int = 0,
    keep_duplicates: bool = False,
) -> BamCountSummary:
    """Count read 5′ ends per base and strand over ``bams`` (summed) and write them as two bigWigs, atomically.

    Parameters
    ----------
    bams : BAM (or SAM) files, e.g. replicates; each is read whole, no index needed.
    chrom_sizes : the genome's chromosome name → length (the FASTA's); every chromosome of every BAM header
        must be in it with the same length — checked for all files before any counting.
    plus, minus : the bigWigs to write: per-base counts of 5′ ends on the + and the − strand, with the
        chromosomes of ``chrom_sizes`` in its order.
    min_mapq : records with a lower mapping quality are skipped.
    keep_duplicates : count records flagged as duplicates (0x400) too.

    Returns
    -------
    The per-file counts and skipped records by reason, with the two paths.
    """
    per_strand, files = count_5prime_ends(bams, chrom_sizes, min_mapq=min_mapq, keep_duplicates=keep_duplicates)
    write_bigwig(plus, chrom_sizes, per_strand[0])
    write_bigwig(minus, chrom_sizes, per_strand[1])
    summary = BamCountSummary(files=files, min_mapq=min_mapq, keep_duplicates=keep_duplicates,
                              plus=Path(plus), minus=Path(minus))
    log.info("bam2bw: %s 5′ ends from %d file(s) → %s, %s", f"{summary.counted:,}", len(files), plus, minus)
    return summary


def count_5prime_ends(
    bams: list[Path],
    chrom_sizes: dict[str, int],
    min_mapq: int = 0,
    keep_duplicates: bool = False,
) -> tuple[tuple[dict[str, np.ndarray], dict[str, np.ndarray]], tuple[BamFileCounts, ...]]:
    """The counting of :func:`bam_to_bigwigs` without the writing.

    Returns ``((plus, minus), files)``: per strand, chromosome → int32 counts of shape (length,) for every
    chromosome of ``chrom_sizes``; and the per-file counts.
    """
    if isinstance(min_mapq, bool) or not isinstance(min_mapq, (int, np.integer)) or not 0 <= min_mapq <= 255:
        raise ValueError(f"min_mapq: expected an integer in 0..255, got {min_mapq!r}; e.g. 10 or 0 (no filter)")
    if not bams:
        raise ValueError("bams: no BAM files given; pass one or more BAM files of aligned reads")
    paths = [Path(p) for p in bams]
    resolved = [p.resolve() for p in paths]
    repeated = sorted({str(p) for p, r in zip(paths, resolved) if resolved.count(r) > 1})
    if repeated:
        raise ValueError(f"bams: {', '.join(repeated)} listed more than once; each file would be counted again — "
                         "list every BAM once")
    problems = []
    for path in paths:  # every file's header is checked before any read is counted
        problems += chrom_name_problems(chrom_sizes, {f"BAM {path}": bam_chrom_sizes(path)},
                                        reference_label="the genome")
    if problems:
        raise ValueError("bam: chromosomes of the BAM header(s) do not match the genome:\n  " + "\n  ".join(problems))
    strands = tuple({chrom: np.zeros(size, dtype=np.int32) for chrom, size in chrom_sizes.items()} for _ in "+-")
    files = tuple(_count_file(path, strands, min_mapq, keep_duplicates) for path in paths)
    if sum(f.counted for f in files) == 0:
        log.warning("bam: no read passed the filters in %s (min_mapq %d, duplicates %s); the bigWigs are empty",
                    ", ".join(str(p) for p in paths), min_mapq, "kept" if keep_duplicates else "dropped")
    return strands, files


class _MalformedRecord(ValueError):
    """A record the header contradicts (a 5′ end outside its chromosome)."""


def _open(path: Path) -> pysam.AlignmentFile:
    if not path.is_file():
        raise ValueError(f"bam: file {path} does not exist; pass the path of a BAM file of aligned reads")
    try:
        bam = pysam.AlignmentFile(str(path), "r", check_sq=False)
    except (ValueError, OSError) as err:
        raise ValueError(
            f"bam: cannot read {path} as BAM or SAM ({err}); check that the file is complete "
            f"(`samtools quickcheck {path}`) or re-create it with `samtools view -b`"
        ) from None
    if bam.is_cram:
        bam.close()
        raise ValueError(f"bam: {path} is CRAM, which needs its reference; convert it with "
                         f"`samtools view -b -T genome.fa -o {path.with_suffix('.bam').name} {path.name}`")
    if not bam.references:
        bam.close()
        raise ValueError(f"bam: {path} has no @SQ lines in its header (no chromosome names and lengths); "
                         "re-create it with the aligner's output header, e.g. `samtools view -b -t genome.fa.fai`")
    return bam


def _count_file(path: Path, strands, min_mapq: int, keep_duplicates: bool) -> BamFileCounts:
    """Add the 5′ ends of one file to ``strands`` (in place); return what it contributed."""
    with _open(path) as bam:
        chroms = list(bam.references)
        skipped = dict.fromkeys(SKIP_REASONS, 0)
        counted = np.zeros(2, dtype=np.int64)
        records = 0
        flags, tids, mapqs, ends = array("H"), array("i"), array("B"), array("q")
        try:
            for read in bam.fetch(until_eof=True):
                flag = read.flag
                flags.append(flag)
                if flag & _UNMAPPED:
                    tids.append(-1)
                    mapqs.append(0)
                    ends.append(-1)
                else:
                    tids.append(read.reference_id)
                    mapqs.append(read.mapping_quality)
                    if flag & _REVERSE:
                        end = read.reference_end
                        ends.append(end - 1 if end is not None else read.reference_start)
                    else:
                        ends.append(read.reference_start)
                if len(flags) == CHUNK_RECORDS:
                    records += _bin_chunk(path, chroms, flags, tids, mapqs, ends, strands, skipped, counted,
                                          min_mapq, keep_duplicates)
                    flags, tids, mapqs, ends = array("H"), array("i"), array("B"), array("q")
        except _MalformedRecord:
            raise
        except (OSError, ValueError) as err:
            raise ValueError(
                f"bam: {path} is damaged after {records + len(flags):,} records ({err}); check it with "
                f"`samtools quickcheck {path}` and re-create it"
            ) from None
        records += _bin_chunk(path, chroms, flags, tids, mapqs, ends, strands, skipped, counted, min_mapq,
                              keep_duplicates)
    return BamFileCounts(path=str(path), records=records, counted_plus=int(counted[0]),
                         counted_minus=int(counted[1]), skipped=skipped)


def _bin_chunk(path, chroms, flags, tids, mapqs, ends, strands, skipped, counted, min_mapq, keep_duplicates) -> int:
    """Classify one chunk of records and add the kept 5′ ends to ``strands``; returns the chunk's size."""
    flag = np.frombuffer(flags, dtype=np.uint16) if len(flags) else np.zeros(0, np.uint16)
    tid = np.frombuffer(tids, dtype=np.int32) if len(tids) else np.zeros(0, np.int32)
    mapq = np.frombuffer(mapqs, dtype=np.uint8) if len(mapqs) else np.zeros(0, np.uint8)
    pos = np.frombuffer(ends, dtype=np.int64) if len(ends) else np.zeros(0, np.int64)
    tests = {
        "unmapped": ((flag & _UNMAPPED) != 0) | (tid < 0),  # no chromosome (RNAME *) counts as unmapped
        "secondary": (flag & _SECONDARY) != 0,
        "supplementary": (flag & _SUPPLEMENTARY) != 0,
        "qc_fail": (flag & _QC_FAIL) != 0,
        "read2": ((flag & _PAIRED) != 0) & ((flag & _READ2) != 0),
        "duplicate": ((flag & _DUPLICATE) != 0) & (not keep_duplicates),
        "low_mapq": (mapq < min_mapq) & (mapq != 255),
    }
    keep = np.ones(len(flag), dtype=bool)
    for reason in SKIP_REASONS:  # the first reason that applies
        hit = keep & tests[reason]
        skipped[reason] += int(hit.sum())
        keep &= ~hit
    reverse = (flag & _REVERSE) != 0
    for strand, on_strand in enumerate((keep & ~reverse, keep & reverse)):
        order = np.argsort(tid[on_strand], kind="stable")  # group the kept records by chromosome
        by_tid, by_pos = tid[on_strand][order], pos[on_strand][order]
        firsts = np.flatnonzero(np.r_[True, by_tid[1:] != by_tid[:-1]]) if len(by_tid) else np.zeros(0, int)
        for first, last in zip(firsts, np.r_[firsts[1:], len(by_tid)]):
            chrom = chroms[int(by_tid[first])]
            where = by_pos[first:last]
            target = strands[strand][chrom]
            outside = where[(where < 0) | (where >= len(target))]
            if len(outside):
                raise _MalformedRecord(f"bam: {path}: a read's 5′ end {int(outside[0])} lies outside {chrom} "
                                 f"(length {len(target)}); the file is malformed — re-create it")
            low = int(where.min())
            binned = np.bincount(where - low)
            target[low:low + len(binned)] += binned.astype(np.int32)
            counted[strand] += len(where)
    return len(flag)
