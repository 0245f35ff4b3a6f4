"""Tests of in-vitro library loading, validation messages, duplicates and the built-in Pho4 BET-seq table."""

from __future__ import annotations

import gzip
import logging
import re

import numpy as np
import pandas as pd
import pytest

from affdist_core.io.library import (
    InVitroLibrary,
    builtin_libraries,
    load_builtin_library,
    load_library,
    resolve_library,
)


def write(path, text: str):
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------------ happy paths


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t"), (".txt", "\t"), (".txt", ",")])
def test_load_delimited(tmp_path, suffix, sep):
    rows = ["seq,ddG,kind,name", "acgtac,-0.5,wt,a", " ACGTAA ,1e-1,mut,b", "ACGTAC,0.25,,c"]
    path = write(tmp_path / f"lib{suffix}", "\n".join(r.replace(",", sep) for r in rows) + "\n")
    lib = load_library(path, sequence_col="seq", value_col="ddG", category_col="kind", id_col="name",
                       units="kcal/mol", on_duplicate="warn")
    assert isinstance(lib, InVitroLibrary)
    assert lib.name == "lib" and lib.units == "kcal/mol" and lib.value_name == "ddG" and lib.source == str(path)
    assert list(lib.frame.columns) == ["id", "sequence", "value", "category"]
    assert lib.frame["value"].dtype == np.float64
    assert lib.frame["id"].tolist() == ["a", "b", "c"]
    assert lib.frame["sequence"].tolist() == ["ACGTAC", "ACGTAA", "ACGTAC"]
    assert lib.frame["value"].tolist() == [-0.5, 0.1, 0.25]
    assert lib.frame["category"].iloc[0] == "wt" and pd.isna(lib.frame["category"].iloc[2])
    assert len(lib) == 3 and lib.sequence_length == 6
    assert lib.duplicates["id"].tolist() == ["a", "c"]


def test_load_gzip_and_parquet_defaults(tmp_path):
    gz = tmp_path / "my.lib.tsv.gz"
    with gzip.open(gz, "wt") as handle:
        handle.write("sequence\tvalue\nAC\t1\nACG\t2\n")
    lib = load_library(gz)
    assert lib.name == "my.lib" and lib.frame["id"].tolist() == ["0", "1"]
    assert lib.sequence_length is None
    assert pd.isna(lib.frame["category"]).all()
    assert lib.duplicates.empty

    pq = tmp_path / "t.parquet"
    pd.DataFrame({"sequence": ["AAA", "CCC"], "value": np.array([1, 2], dtype=np.int32)}).to_parquet(pq)
    lib = load_library(pq, name="mine")
    assert lib.name == "mine" and lib.frame["value"].tolist() == [1.0, 2.0] and lib.frame["value"].dtype == np.float64


def test_trailing_blank_lines_are_ignored(tmp_path):
    path = write(tmp_path / "t.csv", "sequence,value\nACGT,1\n\n\n")
    assert len(load_library(path)) == 1


# ------------------------------------------------------------------------------------------------ errors


def error_of(path, **kw) -> str:
    with pytest.raises(ValueError) as info:
        load_library(path, **kw)
    message = str(info.value)
    assert str(path) in message, message
    return message


def test_missing_columns_list_available_and_option(tmp_path):
    path = write(tmp_path / "t.csv", "Sequence,ddG\nACGT,1\n")
    message = error_of(path)
    assert "'sequence' not found" in message and "sequence_col=" in message and "value_col=" in message
    assert "Available columns: ['Sequence', 'ddG']" in message
    assert "did you mean sequence_col='Sequence'" in message
    message = error_of(path, sequence_col="Sequence", value_col="ddG", category_col="class")
    assert "'class' not found" in message and "category_col=" in message


def test_empty_file_and_header_only(tmp_path):
    assert "empty" in error_of(write(tmp_path / "e.csv", ""))
    assert "no data lines" in error_of(write(tmp_path / "h.csv", "sequence,value\n"))
    empty_pq = tmp_path / "e.parquet"
    pd.DataFrame({"sequence": pd.Series([], dtype=str), "value": pd.Series([], dtype=float)}).to_parquet(empty_pq)
    assert "no rows" in error_of(empty_pq)
    assert "empty" in error_of(write(tmp_path / "z.parquet", ""))
    assert "cannot read as Parquet" in error_of(write(tmp_path / "bad.parquet", "not parquet"))


def test_unsupported_suffix_and_bad_options(tmp_path):
    assert ".parquet" in error_of(write(tmp_path / "t.xlsx", "x"))
    with pytest.raises(ValueError, match="on_duplicate"):
        load_library(write(tmp_path / "t.csv", "sequence,value\nA,1\n"), on_duplicate="drop")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        load_library(tmp_path / "nope.csv")


def test_non_acgt_reports_line_position_and_char(tmp_path):
    path = write(tmp_path / "t.csv", "sequence,value\nACGT,1\nACNT,2\nAC GT,3\nacgu,4\n")
    message = error_of(path)
    assert "3 lines with characters other than A/C/G/T in column 'sequence'" in message
    assert "line 3 ('N' at position 3 of 'ACNT')" in message
    assert "line 4 (' ' at position 3 of 'AC GT')" in message
    assert "line 5 ('U' at position 4 of 'ACGU')" in message
    assert "header = line 1" in message and "Fix:" in message


def test_at_most_five_lines_reported_with_total(tmp_path):
    body = "".join(f"ACGX,{i}\n" for i in range(12))
    message = error_of(write(tmp_path / "t.tsv", "sequence\tvalue\n" + body.replace(",", "\t")))
    assert "12 lines with characters other than A/C/G/T" in message
    assert "line 2 " in message and "line 6 " in message and "line 7 " not in message
    assert "(12 in total)" in message


def test_empty_rows_sequences_and_values(tmp_path):
    path = write(tmp_path / "t.csv", "sequence,value\nACGT,1\n\n,2\nACGT,\nAAAA,abc\nCCCC,inf\nGGGG,NaN\nTTTT,1\n")
    message = error_of(path, on_duplicate="mean")
    assert "5 problem(s)" in message
    assert re.search(r"1 line that are empty .*: line 3\b", message)
    assert re.search(r"1 line with an empty sequence in column 'sequence': line 4\b", message)
    assert re.search(r"2 lines with a missing or NaN value in column 'value': line 5, line 8\b", message)
    assert "1 line with a non-numeric value in column 'value': line 6 ('abc')" in message
    assert "1 line with a non-finite value in column 'value': line 7 (inf)" in message


def test_parquet_errors_name_zero_based_rows(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"sequence": ["ACGT", "ACGN", None, "TTTT"], "value": [1.0, 2.0, 3.0, np.inf]}).to_parquet(path)
    message = error_of(path)
    assert "rows are 0-based" in message
    assert "row 1 ('N' at position 4 of 'ACGN')" in message
    assert "empty sequence in column 'sequence': row 2" in message
    assert "non-finite value in column 'value': row 3 (inf)" in message


def test_ids_must_be_present_and_unique(tmp_path):
    path = write(tmp_path / "t.csv", "id,sequence,value\na,AAAA,1\na,CCCC,2\n,GGGG,3\n")
    message = error_of(path, id_col="id")
    assert "empty id in column 'id': line 4" in message
    assert "not unique in column 'id': line 2 ('a'), line 3 ('a')" in message


def test_unparseable_csv(tmp_path):
    message = error_of(write(tmp_path / "t.csv", "sequence,value\nACGT,1\nACGT,1,extra\n"))
    assert "cannot parse as CSV" in message and "line 3" in message


# ------------------------------------------------------------------------------------------------ duplicates


DUP_CSV = "sequence,value,cat\nAAAA,1,x\nCCCC,5,y\naaaa,3,z\nGGGG,0,\nCCCC,7,w\n"


def test_duplicates_warn_keeps_rows_and_logs(tmp_path, caplog):
    path = write(tmp_path / "d.csv", DUP_CSV)
    with caplog.at_level(logging.WARNING, logger="affdist_core.io.library"):
        lib = load_library(path, category_col="cat")
    assert len(lib) == 5
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "2 sequence(s) occur more than once (4 lines in total)" in warning
    assert "'AAAA' at line 2, line 4" in warning and "'CCCC' at line 3, line 6" in warning
    assert str(path) in warning
    assert lib.duplicates["sequence"].tolist() == ["AAAA", "AAAA", "CCCC", "CCCC"]


def test_duplicates_error(tmp_path):
    message = error_of(write(tmp_path / "d.csv", DUP_CSV), on_duplicate="error")
    assert "2 sequence(s) occur more than once" in message and "'AAAA' at line 2, line 4" in message
    assert "on_duplicate='mean'" in message


def test_duplicates_mean(tmp_path):
    lib = load_library(write(tmp_path / "d.csv", DUP_CSV), category_col="cat", on_duplicate="mean")
    assert lib.frame["sequence"].tolist() == ["AAAA", "CCCC", "GGGG"]
    assert lib.frame["value"].tolist() == [2.0, 6.0, 0.0]
    assert lib.frame["id"].tolist() == ["0", "1", "3"]
    assert lib.frame["category"].tolist()[:2] == ["x", "y"]
    assert lib.duplicates.empty


def test_library_dataclass_validates_frame():
    with pytest.raises(ValueError, match="missing column"):
        InVitroLibrary(name="x", frame=pd.DataFrame({"sequence": ["A"]}))
    frame = pd.DataFrame({"id": ["0"], "sequence": ["A"], "value": [1], "category": [None]})
    with pytest.raises(ValueError, match="float64"):
        InVitroLibrary(name="x", frame=frame)


def test_large_csv_validates_quickly(tmp_path):
    import time

    rng = np.random.default_rng(0)
    n = 200_000
    seqs = np.array(list("ACGT"))[rng.integers(0, 4, size=(n, 12))].view("<U12").ravel()
    pd.DataFrame({"sequence": seqs, "value": rng.normal(size=n)}).to_csv(tmp_path / "big.csv", index=False)
    t0 = time.perf_counter()
    lib = load_library(tmp_path / "big.csv", on_duplicate="mean")
    assert time.perf_counter() - t0 < 5.0
    assert lib.sequence_length == 12 and len(lib) == len(set(seqs))


# ------------------------------------------------------------------------------------------------ built-in


@pytest.fixture(scope="module")
def pho4() -> InVitroLibrary:
    return load_builtin_library("betseq_pho4")


def test_builtin_shape(pho4):
    assert builtin_libraries() == ["betseq_cbf1", "betseq_pho4", "cbf1_pairwise"]  # measured, then synthetic
    assert len(pho4) == 1_048_576 and pho4.sequence_length == 16
    assert pho4.value_name == "ddG_RT" and pho4.units == "RT"
    assert pho4.frame["value"].dtype == np.float64 and pd.isna(pho4.frame["category"]).all()
    assert pho4.frame["id"].str.len().eq(10).all()
    assert (pho4.frame["sequence"].str.slice(5, 11) == "CACGTG").all()
    assert (pho4.frame["id"] == pho4.frame["sequence"].str.slice(0, 5) + pho4.frame["sequence"].str.slice(11)).all()
    assert pho4.frame["sequence"].nunique() == 4**10
    assert abs(pho4.frame["value"].mean()) < 0.01 and 0.3 < pho4.frame["value"].max() < 0.5


def test_builtin_biology(pho4):
    flank = pho4.frame["id"]
    value = pho4.frame["value"]
    gc_next = flank.str[4].isin(["G", "C"]) & flank.str[5].isin(["G", "C"])
    at_next = flank.str[4].isin(["A", "T"]) & flank.str[5].isin(["A", "T"])
    assert value[gc_next].mean() < value[at_next].mean() - 0.1
    # GCACGTGC-like flanks are tight; A/T-rich flanks weak
    core_gc = pho4.frame["sequence"].str.slice(4, 12) == "GCACGTGC"
    assert value[core_gc].mean() < np.quantile(value, 0.25)
    at_rich = flank.str.count("[AT]") >= 9
    assert value[at_rich].mean() > np.quantile(value, 0.75)
    # per-position effects are largest right next to the core (positions -1 / +1)
    spread = [value.groupby(flank.str[p]).mean().agg(lambda s: s.max() - s.min()) for p in range(10)]
    assert set(np.argsort(spread)[-2:]) == {4, 5}


def test_builtin_cbf1_is_the_paralog_measured_on_the_same_sequences(pho4):
    """The real Cbf1 BET-seq table: the same 4^10 sequences in the same order as Pho4's, its own flank
    preferences (the paralogs' differential specificity), not a copy of Pho4's."""
    cbf1 = load_builtin_library("betseq_cbf1")
    assert len(cbf1) == 4**10 and cbf1.units == "RT" and "Cbf1" in cbf1.source
    assert (cbf1.frame["sequence"] == pho4.frame["sequence"]).all()
    assert 0.12 < cbf1.frame["value"].std() < 0.145 and abs(cbf1.frame["value"].mean()) < 0.01
    r = np.corrcoef(cbf1.frame["value"], pho4.frame["value"])[0, 1]
    assert abs(r) < 0.5  # measured: r = −0.06 over all 4^10 flanks


def test_resolve_library(tmp_path):
    assert len(resolve_library("betseq_pho4")) == 1_048_576
    with pytest.raises(ValueError, match="built in"):
        resolve_library("betseq_pho4", units="x")
    path = write(tmp_path / "t.csv", "s,v\nACGT,1\n")
    lib = resolve_library(path, sequence_col="s", value_col="v")
    assert lib.frame["sequence"].tolist() == ["ACGT"]
    with pytest.raises(ValueError, match=r"neither a built-in library \['betseq_cbf1', 'betseq_pho4', 'cbf1_pairwise'\]"):
        resolve_library("no_such_library")
    with pytest.raises(ValueError, match="available"):
        load_builtin_library("gcpbm_cbf1")
