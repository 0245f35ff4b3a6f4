"""FASTA, bigWig and peak-file IO, sequence encoding and atomic writes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affdist_core.common.atomic import atomic_path, write_text
from affdist_core.io.bigwig import BigWigReader, write_bigwig
from affdist_core.io.fasta import GenomeReader, write_fasta
from affdist_core.io.peaks import PEAK_COLUMNS, read_peaks, summit_windows, write_narrowpeak
from affdist_core.seq.alphabet import (
    from_one_hot,
    one_hot,
    reverse_complement,
    reverse_complement_codes,
    reverse_complement_one_hot,
    encode,
    validate_acgt,
)


def test_one_hot_encodes_acgt_and_zero_rows_for_n():
    x = one_hot("ACGTNa")
    np.testing.assert_array_equal(x[:4], np.eye(4))
    assert x[4].sum() == 0  # N is "no base"
    np.testing.assert_array_equal(x[5], [1, 0, 0, 0])  # lower case accepted
    assert from_one_hot(x) == "ACGTNA"


def test_reverse_complement_agrees_across_representations():
    seq = "AACGTNGGCT"
    rc = reverse_complement(seq)
    assert rc == "AGCCNACGTT"
    assert from_one_hot(reverse_complement_one_hot(one_hot(seq))) == rc
    np.testing.assert_array_equal(reverse_complement_codes(encode(seq)), encode(rc))


def test_validate_acgt_names_position_and_character():
    assert validate_acgt("acgt") == "ACGT"
    with pytest.raises(ValueError, match=r"query.*3:'N'"):
        validate_acgt("ACNT", what="query")


def test_genome_reader_fetches_and_validates(mini_genome_fasta):
    genome = GenomeReader(mini_genome_fasta)
    assert genome.chrom_sizes == {"chrA": 25_000, "chrB": 25_000}
    assert genome.fetch("chrA", 4371, 4377) == "CACGTG"  # chrI:29,371 in the source genome
    with pytest.raises(ValueError, match="unknown chromosome 'chrZ'"):
        genome.fetch("chrZ", 0, 10)
    with pytest.raises(ValueError, match="outside chrA"):
        genome.fetch("chrA", 24_990, 25_010)
    with pytest.raises(ValueError, match="outside chrA"):
        genome.fetch("chrA", -5, 10)
    windows = genome.one_hot_windows(["chrA", "chrB"], [4371, 0], 6)
    assert windows.shape == (2, 6, 4)
    assert from_one_hot(windows[0]) == "CACGTG"


def test_write_fasta_index_matches_pyfaidx(tmp_path):
    import pyfaidx

    path = write_fasta(tmp_path / "g.fa", {"a": "ACGT" * 40 + "A", "b": "GG"})
    ours = (tmp_path / "g.fa.fai").read_text()
    (tmp_path / "g.fa.fai").unlink()
    pyfaidx.Faidx(str(path)).close()
    assert (tmp_path / "g.fa.fai").read_text() == ours


def test_bigwig_round_trip_and_errors(tmp_path):
    sizes = {"c1": 1000, "c2": 500}
    values = np.zeros(1000, dtype=np.float32)
    values[[3, 10, 999]] = [2, 5, 1]
    path = write_bigwig(tmp_path / "x.bw", sizes, {"c1": values})
    with BigWigReader(path) as bw:
        np.testing.assert_array_equal(bw.chrom_values("c1"), values)
        np.testing.assert_array_equal(bw.values("c2", 0, 10), np.zeros(10))  # empty chromosome reads as 0
        with pytest.raises(ValueError, match="unknown chromosome 'c3'"):
            bw.values("c3", 0, 10)
        with pytest.raises(ValueError, match="outside c1"):
            bw.values("c1", 990, 1001)
    with pytest.raises(ValueError, match="length 10 != chromosome size 1000"):
        write_bigwig(tmp_path / "y.bw", sizes, {"c1": np.zeros(10)})


def _narrowpeak_line(chrom="chrA", start=100, end=200, summit_offset=40):
    return f"{chrom}\t{start}\t{end}\tp1\t50\t.\t3.5\t12.0\t10.0\t{summit_offset}\n"


def test_read_narrowpeak_and_bed(tmp_path):
    narrow = tmp_path / "a.narrowPeak"
    narrow.write_text("track name=x\n" + _narrowpeak_line() + _narrowpeak_line(summit_offset=-1))
    peaks = read_peaks(narrow)
    assert list(peaks.columns) == PEAK_COLUMNS
    assert peaks["summit"].tolist() == [140, 150]  # -1 → centre
    bed = tmp_path / "b.bed"
    bed.write_text("chrA\t10\t21\n")
    assert read_peaks(bed)["summit"].tolist() == [15]


@pytest.mark.parametrize(
    "line, message",
    [
        ("chrA\t100\n", "line 2: expected at least 3"),
        ("chrA\tx\t200\n", "line 2: start/end must be integers"),
        ("chrA\t200\t100\n", "line 2: need 0 <= start < end"),
        (_narrowpeak_line(summit_offset=500), "line 2: summit offset 500 is outside"),
        ("chrA\t1\t5\tp\tscore\t.\n", "line 2: non-numeric"),
    ],
)
def test_malformed_peak_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.narrowPeak"
    path.write_text(_narrowpeak_line() + line)
    with pytest.raises(ValueError, match=message):
        read_peaks(path)


def test_peaks_checked_against_genome(tmp_path):
    path = tmp_path / "p.bed"
    path.write_text("chrZ\t1\t5\n")
    with pytest.raises(ValueError, match="line 1: chromosome 'chrZ' is not in the genome"):
        read_peaks(path, chrom_sizes={"chrA": 100})
    path.write_text("chrA\t1\t500\n")
    with pytest.raises(ValueError, match="past the end of chrA"):
        read_peaks(path, chrom_sizes={"chrA": 100})


def test_narrowpeak_round_trip(tmp_path):
    peaks = pd.DataFrame({"chrom": ["c1", "c2"], "start": [10, 50], "end": [60, 90], "name": ["a", "b"],
                          "score": [10, 1000], "strand": [".", "."], "signal": [2.5, 7.0],
                          "p_value": [5.0, 30.0], "q_value": [3.0, 25.0], "summit": [30, 70]})
    back = read_peaks(write_narrowpeak(tmp_path / "r.narrowPeak", peaks))
    pd.testing.assert_frame_equal(back, peaks, check_dtype=False)


def test_summit_windows_edge_policies():
    peaks = pd.DataFrame({"chrom": ["c", "c", "c"], "summit": [5, 50, 98], "name": ["l", "m", "r"]})
    sizes = {"c": 100}
    kept = summit_windows(peaks, 20, sizes, on_edge="drop")
    assert kept["name"].tolist() == ["m"]
    assert (kept["window_start"].tolist(), kept["window_end"].tolist()) == ([40], [60])
    shifted = summit_windows(peaks, 20, sizes, on_edge="shift")
    assert shifted["window_start"].tolist() == [0, 40, 80]
    with pytest.raises(ValueError, match="run past a chromosome end"):
        summit_windows(peaks, 20, sizes, on_edge="error")


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-writ")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind
