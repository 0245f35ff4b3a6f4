"""BAM → 5′-end strand bigWigs: exact counts against a brute-force count of hand-made reads."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pysam
import pytest

from affdist_core.cli import main
from affdist_core.io.bam import (
    SKIP_REASONS,
    bam_chrom_sizes,
    bam_to_bigwigs,
    count_5prime_ends,
    strand_bigwig_paths,
)
from affdist_core.io.bigwig import BigWigReader
from affdist_core.io.genome import genome_chrom_sizes

SIZES = {"chrA": 300, "chrB": 200}
REV, PAIRED, READ1, READ2 = 0x10, 0x1, 0x40, 0x80
UNMAPPED, SECONDARY, QC_FAIL, DUP, SUPP = 0x4, 0x100, 0x200, 0x400, 0x800

# (chrom, leftmost aligned base, CIGAR, flag, MAPQ): a few reads whose 5′ ends are known by hand
READS = [
    ("chrA", 10, "20M", 0, 40),              # + strand, 5′ end 10
    ("chrA", 10, "20M", 0, 40),              # a second read at the same base: counts 2
    ("chrA", 50, "3S10M2D5M4S", REV, 40),    # − strand: 10 + 2 + 5 = 17 reference bases → 5′ end 66
    ("chrA", 50, "5M100N5M", REV, 40),       # − strand over a 100-bp gap: 5′ end 159
    ("chrB", 0, "8M", REV, 255),             # MAPQ 255 ("unavailable") counts: 5′ end 7
    ("chrB", 199, "1M", 0, 40),              # the last base: 5′ end 199
    ("chrA", 10, "20M", DUP, 40),            # duplicate
    ("chrA", 20, "20M", 0, 3),               # low MAPQ
    (None, 0, None, UNMAPPED, 0),            # unmapped
    ("chrA", 30, "20M", SECONDARY, 40),      # secondary
    ("chrA", 31, "20M", SUPP | REV, 40),     # supplementary
    ("chrA", 32, "20M", QC_FAIL, 40),        # QC fail
    ("chrB", 40, "30M", PAIRED | READ1, 40),       # paired read 1: + strand, 5′ end 40
    ("chrB", 90, "30M", PAIRED | READ2 | REV, 40),  # its read 2: skipped
]
EXPECTED_SKIPPED = {"unmapped": 1, "secondary": 1, "supplementary": 1, "qc_fail": 1, "read2": 1,
                    "duplicate": 1, "low_mapq": 1}


def write_bam(path: Path, reads, sizes=SIZES) -> Path:
    """An unsorted, unindexed BAM of ``reads`` (chrom, start, cigar, flag, mapq)."""
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": c, "LN": n} for c, n in sizes.items()]}
    names = list(sizes)
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (chrom, start, cigar, flag, mapq) in enumerate(reads):
            read = pysam.AlignedSegment()
            read.query_name = f"read{i}"
            read.flag = flag
            if chrom is None:
                read.reference_id, read.reference_start = -1, -1
                read.query_sequence = "ACGTACGT"
            else:
                read.reference_id, read.reference_start = names.index(chrom), start
                read.cigarstring, read.mapping_quality = cigar, mapq
                read.query_sequence = "A" * read.infer_query_length()
            out.write(read)
    return path


def reference_length(cigar: str) -> int:
    """Reference bases a CIGAR covers (M, D, N, =, X), parsed here independently of pysam."""
    return sum(int(n) for n, op in re.findall(r"(\d+)([MIDNSHP=X])", cigar) if op in "MDN=X")


def brute_force(reads, sizes=SIZES, min_mapq=0, keep_duplicates=False):
    """Per-strand counts by the rules of the module docstring, one read at a time."""
    plus = {c: np.zeros(n, int) for c, n in sizes.items()}
    minus = {c: np.zeros(n, int) for c, n in sizes.items()}
    for chrom, start, cigar, flag, mapq in reads:
        if flag & (UNMAPPED | SECONDARY | SUPP | QC_FAIL) or (flag & PAIRED and flag & READ2):
            continue
        if (flag & DUP and not keep_duplicates) or (mapq < min_mapq and mapq != 255):
            continue
        if flag & REV:
            minus[chrom][start + reference_length(cigar) - 1] += 1
        else:
            plus[chrom][start] += 1
    return plus, minus


def read_pair(plus: Path, minus: Path) -> tuple[dict, dict]:
    out = []
    for path in (plus, minus):
        with BigWigReader(path) as reader:
            assert reader.chrom_sizes == SIZES
            out.append({c: reader.chrom_values(c) for c in SIZES})
    return out[0], out[1]


def assert_counts(got, want):
    for strand in (0, 1):
        for chrom in SIZES:
            np.testing.assert_array_equal(got[strand][chrom], want[strand][chrom], err_msg=f"{strand} {chrom}")


def test_hand_made_reads_give_the_known_5prime_ends(tmp_path):
    bam = write_bam(tmp_path / "a.bam", READS)
    summary = bam_to_bigwigs([bam], SIZES, tmp_path / "p.bw", tmp_path / "m.bw", min_mapq=10)
    plus, minus = read_pair(tmp_path / "p.bw", tmp_path / "m.bw")
    assert {c: np.flatnonzero(v).tolist() for c, v in plus.items()} == {"chrA": [10], "chrB": [40, 199]}
    assert {c: np.flatnonzero(v).tolist() for c, v in minus.items()} == {"chrA": [66, 159], "chrB": [7]}
    assert plus["chrA"][10] == 2
    assert_counts((plus, minus), brute_force(READS, min_mapq=10))
    (file,) = summary.files
    assert (file.records, file.counted_plus, file.counted_minus) == (len(READS), 4, 3)
    assert file.skipped == EXPECTED_SKIPPED
    assert summary.skipped == EXPECTED_SKIPPED and summary.counted == 7
    assert summary.to_dict()["files"][0]["skipped"] == EXPECTED_SKIPPED
    assert "skipped: unmapped 1" in summary.describe()


def test_filters_are_options(tmp_path):
    bam = write_bam(tmp_path / "a.bam", READS)
    (plus, minus), (file,) = count_5prime_ends([bam], SIZES, min_mapq=0, keep_duplicates=True)
    assert file.skipped["duplicate"] == 0 and file.skipped["low_mapq"] == 0
    assert plus["chrA"][10] == 3 and plus["chrA"][20] == 1  # the duplicate and the low-MAPQ read count now
    assert_counts((plus, minus), brute_force(READS, min_mapq=0, keep_duplicates=True))


def test_random_reads_match_the_brute_force_count_and_two_files_sum(tmp_path):
    rng = np.random.default_rng(7)
    flags = [0, REV, DUP, DUP | REV, SECONDARY, SUPP, QC_FAIL, PAIRED | READ1, PAIRED | READ2 | REV,
             PAIRED | READ1 | REV, PAIRED | READ2]
    batches = []
    for _ in range(2):
        reads = []
        for _ in range(400):
            chrom = str(rng.choice(list(SIZES)))
            match, deletion, clip = int(rng.integers(1, 15)), int(rng.integers(0, 4)), int(rng.integers(0, 3))
            cigar = f"{clip}S{match}M{deletion}D{match}M" if deletion else f"{match}M"
            start = int(rng.integers(0, SIZES[chrom] - reference_length(cigar) + 1))
            reads.append((chrom, start, cigar, int(rng.choice(flags)), int(rng.choice([0, 5, 30, 60, 255]))))
        batches.append(reads)
    bams = [write_bam(tmp_path / f"rep{i}.bam", reads) for i, reads in enumerate(batches)]
    summary = bam_to_bigwigs(bams, SIZES, tmp_path / "p.bw", tmp_path / "m.bw", min_mapq=30)
    got = read_pair(tmp_path / "p.bw", tmp_path / "m.bw")
    assert_counts(got, brute_force(batches[0] + batches[1], min_mapq=30))
    assert [f.records for f in summary.files] == [400, 400]
    assert sum(f.counted + sum(f.skipped.values()) for f in summary.files) == 800
    assert summary.counted == sum(v.sum() for strand in got for v in strand.values())


def test_small_chunks_give_the_same_counts(tmp_path, monkeypatch):
    import affdist_core.io.bam as bam_module

    bam = write_bam(tmp_path / "a.bam", READS * 3)
    monkeypatch.setattr(bam_module, "CHUNK_RECORDS", 4)
    counts, (file,) = count_5prime_ends([bam], SIZES, min_mapq=10)
    assert_counts(counts, brute_force(READS * 3, min_mapq=10))
    assert file.records == 3 * len(READS) and file.skipped == {k: 3 * v for k, v in EXPECTED_SKIPPED.items()}


def test_header_sizes(tmp_path):
    assert bam_chrom_sizes(write_bam(tmp_path / "a.bam", READS)) == SIZES


def test_chromosome_names_that_differ_from_the_genome_are_named(tmp_path):
    bam = write_bam(tmp_path / "a.bam", [("I", 5, "5M", 0, 40)], sizes={"I": 300, "II": 200})
    with pytest.raises(ValueError) as err:
        bam_to_bigwigs([bam], {"chrI": 300, "chrII": 200}, tmp_path / "p.bw", tmp_path / "m.bw")
    assert "a.bam" in str(err.value) and "add the `chr` prefix" in str(err.value)
    assert not (tmp_path / "p.bw").exists()  # refused before anything was written
    with pytest.raises(ValueError, match=r"chrB: 200 here, 250 in the genome"):
        count_5prime_ends([write_bam(tmp_path / "b.bam", READS)], {"chrA": 300, "chrB": 250})


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda d: d / "absent.bam", r"bam: file .*absent\.bam does not exist"),
    (lambda d: _truncated(d), r"cannot read .*cut\.bam as BAM or SAM .*samtools quickcheck"),
    (lambda d: _text(d), r"cannot read .*notes\.bam as BAM or SAM"),
])
def test_missing_or_damaged_files_name_the_file_and_the_fix(tmp_path, make, pattern):
    with pytest.raises(ValueError, match=pattern):
        bam_to_bigwigs([make(tmp_path)], SIZES, tmp_path / "p.bw", tmp_path / "m.bw")


def _truncated(directory: Path) -> Path:
    data = write_bam(directory / "full.bam", READS).read_bytes()
    (directory / "cut.bam").write_bytes(data[: len(data) // 2])
    return directory / "cut.bam"


def _text(directory: Path) -> Path:
    (directory / "notes.bam").write_text("not\ta\tbam\n")
    return directory / "notes.bam"


def test_bad_arguments(tmp_path):
    bam = write_bam(tmp_path / "a.bam", READS)
    with pytest.raises(ValueError, match="listed more than once"):
        count_5prime_ends([bam, tmp_path / "." / "a.bam"], SIZES)
    with pytest.raises(ValueError, match="min_mapq: expected an integer in 0..255"):
        count_5prime_ends([bam], SIZES, min_mapq=-1)
    with pytest.raises(ValueError, match="no BAM files"):
        count_5prime_ends([], SIZES)
    assert strand_bigwig_paths("out/pho4") == (Path("out/pho4.plus.bw"), Path("out/pho4.minus.bw"))
    with pytest.raises(ValueError, match="out_prefix"):
        strand_bigwig_paths("out/")


def test_cli_bam2bw_sums_two_files(tmp_path, capsys):
    a = write_bam(tmp_path / "a.bam", READS)
    b = write_bam(tmp_path / "b.bam", READS[:2])
    sizes = tmp_path / "genome.sizes"
    sizes.write_text("chrA\t300\nchrB\t200\n")
    prefix = tmp_path / "out" / "tf"
    rc = main(["bam2bw", str(a), str(b), "--genome", str(sizes), "--out-prefix", str(prefix), "--min-mapq", "10"])
    assert rc == 0
    got = read_pair(tmp_path / "out" / "tf.plus.bw", tmp_path / "out" / "tf.minus.bw")
    assert_counts(got, brute_force(READS + READS[:2], min_mapq=10))
    assert got[0]["chrA"][10] == 4
    printed = capsys.readouterr().out
    assert "a.bam: 14 records" in printed and "b.bam: 2 records" in printed
    rc = main(["bam2bw", str(a), "--genome", str(sizes), "--out-prefix", str(prefix), "--keep-duplicates"])
    assert rc == 0 and read_pair(tmp_path / "out" / "tf.plus.bw", tmp_path / "out" / "tf.minus.bw")[0]["chrA"][10] == 3


def test_cli_bam2bw_refuses_a_genome_of_other_names(tmp_path, mini_genome_fasta, caplog):
    a = write_bam(tmp_path / "a.bam", READS)
    rc = main(["bam2bw", str(a), "--genome", str(mini_genome_fasta), "--out-prefix", str(tmp_path / "x")])
    assert rc == 2
    assert "another length" in caplog.text and not (tmp_path / "x.plus.bw").exists()


def test_genome_sizes_from_fasta_or_sizes_file(tmp_path, mini_genome_fasta):
    assert genome_chrom_sizes(mini_genome_fasta) == {"chrA": 25_000, "chrB": 25_000}
    (tmp_path / "g.sizes").write_text("chrA\t300\nchrB\t200\n")
    assert genome_chrom_sizes(tmp_path / "g.sizes") == SIZES
    with pytest.raises(ValueError, match="does not exist"):
        genome_chrom_sizes(tmp_path / "nope.fa")


def test_skip_reasons_are_the_documented_ones():
    assert SKIP_REASONS == tuple(EXPECTED_SKIPPED)


def test_sam_text_works_and_a_read_past_the_chromosome_end_is_refused(tmp_path):
    header = "@HD\tVN:1.6\n@SQ\tSN:chrA\tLN:300\n@SQ\tSN:chrB\tLN:200\n"
    good = tmp_path / "good.sam"
    good.write_text(header + "r1\t16\tchrB\t11\t40\t5M\t*\t0\t0\tACGTA\t*\n")  # SAM POS is 1-based
    (plus, minus), _ = count_5prime_ends([good], SIZES)
    assert np.flatnonzero(minus["chrB"]).tolist() == [14] and plus["chrB"].sum() == 0
    bad = tmp_path / "bad.sam"
    bad.write_text(header + "r1\t16\tchrB\t196\t40\t10M\t*\t0\t0\tACGTACGTAC\t*\n")
    with pytest.raises(ValueError, match=r"bad\.sam: a read's 5′ end 204 lies outside chrB \(length 200\)"):
        count_5prime_ends([bad], SIZES)
