"""Tests for reading motif files (motif_files.py). Inputs are small hand-written files in the real formats."""

from __future__ import annotations

import math

import numpy as np
import pytest

from affdist_core.io.motif_files import jaspar_motif, read_motifs, sniff_format
from affdist_core.seq.motif import Motif, load_motifs, save_motifs

# an E-box-like count matrix, positions × ACGT (6 positions, 20 sites each)
COUNTS = np.array([
    [2, 14, 2, 2],
    [17, 1, 1, 1],
    [1, 18, 0, 1],
    [1, 0, 18, 1],
    [1, 1, 1, 17],
    [2, 2, 14, 2],
], dtype=float)
PROBS = COUNTS / COUNTS.sum(axis=1, keepdims=True)

MEME_TEXT = """MEME version 5

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.31 C 0.19 G 0.19 T 0.31

MOTIF 1-CACGTG STREME-1
letter-probability matrix: alength= 4 w= 6 nsites= 20 E= 3.1e-12
{rows}

URL http://example.org/motif1

MOTIF 2-TTGATA
letter-probability matrix: alength= 4 w= 2 nsites= 7 E= 0.5
 0.000000 0.000000 0.000000 1.000000
 0.500000 0.000000 0.000000 0.500000
"""


def meme_text() -> str:
    rows = "\n".join(" " + " ".join(f"{p:.6f}" for p in row) for row in PROBS)
    return MEME_TEXT.format(rows=rows)


def jaspar_text() -> str:
    lines = [">MA9999.1\tTOY1"]
    for k, base in enumerate("ACGT"):
        lines.append(f"{base}  [ " + " ".join(f"{int(v):4d}" for v in COUNTS[:, k]) + " ]")
    lines += [">MA9998.2 TOY2", "A [ 3 0 ]", "C [ 0 0 ]", "G [ 0 3 ]", "T [ 0 0 ]", ""]
    return "\n".join(lines)


def pfm_text(header: bool = True) -> str:
    lines = [">MA9999.1 TOY1"] if header else []
    lines += ["\t".join(f"{v:g}" for v in COUNTS[:, k]) for k in range(4)]
    return "\n".join(lines) + "\n"


def transfac_text() -> str:
    lines = ["VV  hand-written test file", "XX", "//", "AC  MA9999.1", "XX", "ID  TOY1", "XX",
             "DE  MA9999.1 TOY1 ; toy E-box", "P0      A      C      G      T"]
    consensus = "CACGTG"
    for j, row in enumerate(COUNTS):
        lines.append(f"{j + 1:02d} " + " ".join(f"{v:6.1f}" for v in row) + f"      {consensus[j]}")
    lines += ["XX", "CC  tax_group:none", "XX", "//",
              "ID  ONLYID", "XX", "PO  T G C A",  # columns in another order, no AC
              "01  1 0 0 0", "02  0 0 0 2", "XX", "//"]
    return "\n".join(lines) + "\n"


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------------------------------------
# each format


def test_meme(tmp_path):
    motifs = read_motifs(write(tmp_path, "streme.txt", meme_text()))
    assert [m.motif_id for m in motifs] == ["1-CACGTG", "2-TTGATA"]
    first = motifs[0]
    assert first.method == "external"
    np.testing.assert_allclose(first.pwm, PROBS, atol=1e-6)
    assert first.n_sites == 20 and first.score == pytest.approx(3.1e-12)
    assert first.provenance["name"] == "STREME-1" and first.provenance["format"] == "meme"
    assert first.consensus == "CACGTG"
    assert motifs[1].width == 2 and motifs[1].n_sites == 7 and "name" not in motifs[1].provenance


def test_meme_method_can_be_given(tmp_path):
    motifs = read_motifs(write(tmp_path, "streme.txt", meme_text()), method="streme")
    assert {m.method for m in motifs} == {"streme"}


def test_jaspar_bracketed(tmp_path):
    motifs = read_motifs(write(tmp_path, "toy.jaspar", jaspar_text()))
    assert [m.motif_id for m in motifs] == ["MA9999.1", "MA9998.2"]
    np.testing.assert_allclose(motifs[0].pwm, PROBS)
    assert motifs[0].n_sites == 20 and math.isnan(motifs[0].score)
    assert motifs[0].provenance["name"] == "TOY1" and motifs[0].provenance["input"] == "counts"
    assert motifs[1].consensus == "AG"


@pytest.mark.parametrize("header", [True, False])
def test_pfm(tmp_path, header):
    motifs = read_motifs(write(tmp_path, "MA9999.1.pfm", pfm_text(header)))
    assert len(motifs) == 1
    assert motifs[0].motif_id == ("MA9999.1" if header else "MA9999")
    np.testing.assert_allclose(motifs[0].pwm, PROBS)


def test_transfac(tmp_path):
    motifs = read_motifs(write(tmp_path, "toy.transfac", transfac_text()))
    assert [m.motif_id for m in motifs] == ["MA9999.1", "ONLYID"]
    np.testing.assert_allclose(motifs[0].pwm, PROBS)
    assert motifs[0].provenance["name"] == "TOY1" and motifs[0].n_sites == 20
    np.testing.assert_allclose(motifs[1].pwm, [[0, 0, 0, 1], [1, 0, 0, 0]])  # columns T G C A reordered


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [("a.txt", meme_text(), "meme"), ("b.txt", jaspar_text(), "jaspar"), ("c.txt", pfm_text(), "pfm"),
     ("d.txt", pfm_text(header=False), "pfm"), ("e.txt", transfac_text(), "transfac")],
)
def test_sniffing(tmp_path, name, text, expected):
    path = write(tmp_path, name, text)
    assert sniff_format(path) == expected
    assert read_motifs(path) == read_motifs(path, format=expected)


def test_motifs_read_from_files_round_trip(tmp_path):
    motifs = read_motifs(write(tmp_path, "m.meme", meme_text()))
    motifs += read_motifs(write(tmp_path, "t.tf", transfac_text()))
    assert load_motifs(save_motifs(motifs, tmp_path / "motifs.parquet")) == motifs


# ----------------------------------------------------------------------------------------------------------
# errors name the file, the line and the problem


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (meme_text().replace(" 0.500000 0.000000 0.000000 0.500000", " 0.5 0.0 0.0 0.9"), 24, "sums to 1.4"),
        (meme_text().replace("w= 2", "w= 3"), 21, "w= 3 but 2 matrix row"),
        (meme_text().replace(" 0.000000 0.000000 0.000000 1.000000", " 0.0 0.0 1.0"), 23, "expected 4"),
        (meme_text().replace("alength= 4 w= 2", "alength= 20 w= 2"), 22, "alength"),
        (meme_text().replace("ALPHABET= ACGT", "ALPHABET= ACDEFGHIKLMNPQRSTVWY"), 3, "not DNA"),
        (meme_text().replace(" 0.000000 0.000000 0.000000 1.000000", " 0.0 x 0.0 1.0"), 23, "expected matrix row 1 of 2"),
        (meme_text().replace("MOTIF 2-TTGATA", "MOTIF 1-CACGTG"), 21, "already used on line 10"),
    ],
)
def test_meme_errors(tmp_path, text, line, problem):
    path = write(tmp_path, "bad.meme", text)
    with pytest.raises(ValueError, match=rf"bad\.meme, line {line}: .*{problem}"):
        read_motifs(path)


def test_jaspar_errors(tmp_path):
    three_rows = ">MA1.1 X\nA [ 1 2 ]\nC [ 1 0 ]\nG [ 0 0 ]\n"
    with pytest.raises(ValueError, match=r"bad\.jaspar, line 1: .*expected 4 rows"):
        read_motifs(write(tmp_path, "bad.jaspar", three_rows), format="jaspar")
    ragged = ">MA1.1 X\nA [ 1 2 ]\nC [ 1 0 ]\nG [ 0 0 1 ]\nT [ 1 1 ]\n"
    with pytest.raises(ValueError, match=r"line 2: .*different lengths"):
        read_motifs(write(tmp_path, "bad.jaspar", ragged))
    negative = ">MA1.1 X\nA [ 1 2 ]\nC [ 1 0 ]\nG [ 0 -1 ]\nT [ 1 1 ]\n"
    with pytest.raises(ValueError, match=r"line 4: .*>= 0"):
        read_motifs(write(tmp_path, "bad.jaspar", negative))
    zero_column = ">MA1.1 X\nA [ 1 0 ]\nC [ 1 0 ]\nG [ 0 0 ]\nT [ 1 0 ]\n"
    with pytest.raises(ValueError, match=r"position 2 has all-zero counts"):
        read_motifs(write(tmp_path, "bad.jaspar", zero_column))


def test_transfac_errors(tmp_path):
    bad_row = transfac_text().replace("02   17.0    1.0    1.0    1.0", "02   17.0    1.0    1.0")
    with pytest.raises(ValueError, match=r"bad\.tf, line 11: .*position number and 4 values"):
        read_motifs(write(tmp_path, "bad.tf", bad_row))
    bad_header = transfac_text().replace("P0      A      C      G      T", "P0 A C G U")
    with pytest.raises(ValueError, match=r"line 9: .*columns A C G T"):
        read_motifs(write(tmp_path, "bad.tf", bad_header), format="transfac")


def test_unknown_format_and_files(tmp_path):
    with pytest.raises(ValueError, match=r"notes\.txt, line 1: cannot tell the motif format"):
        read_motifs(write(tmp_path, "notes.txt", "hello world\n"))
    with pytest.raises(ValueError, match="empty"):
        read_motifs(write(tmp_path, "empty.txt", "\n\n"))
    with pytest.raises(FileNotFoundError):
        read_motifs(tmp_path / "missing.meme")
    with pytest.raises(ValueError, match="format"):
        read_motifs(write(tmp_path, "a.meme", meme_text()), format="homer")
    with pytest.raises(ValueError, match="method"):
        read_motifs(write(tmp_path, "a.meme", meme_text()), method="homer")


# ----------------------------------------------------------------------------------------------------------
# JASPAR database


def test_jaspar_motif_pho4():
    motif = jaspar_motif("MA0357.1")
    assert isinstance(motif, Motif)
    assert motif.motif_id == "MA0357.1" and motif.method == "jaspar"
    assert motif.width == 8 and "CACGTG" in motif.consensus
    assert motif.provenance["name"] == "PHO4"
    np.testing.assert_allclose(motif.pwm.sum(axis=1), 1.0)
    assert motif.n_sites > 0


def test_jaspar_motif_unknown_id():
    with pytest.raises(ValueError, match="not in"):
        jaspar_motif("MA9999.9")


def test_meme_alphabet_block_and_matrix_without_width(tmp_path):
    text = ("MEME version 5\n\nALPHABET \"DNA\" DNA-LIKE\nA \"Adenine\" CC0000 ~ T \"Thymine\" 008000\n"
            "C \"Cytosine\" 0000CC ~ G \"Guanine\" FFB300\nEND ALPHABET\n\nMOTIF only\n"
            "letter-probability matrix: alength= 4\n 0.1 0.2 0.3 0.4\n 0.7 0.1 0.1 0.1\n\n")
    (motif,) = read_motifs(write(tmp_path, "block.meme", text))
    assert motif.motif_id == "only" and motif.width == 2 and motif.n_sites == 0 and math.isnan(motif.score)
    np.testing.assert_allclose(motif.pwm[0], [0.1, 0.2, 0.3, 0.4])
