"""Chromosome-name comparison: each kind of difference is named once, with the renaming that fixes it."""

from __future__ import annotations

import pytest

from affdist_core.io.chrom_names import _roman_value, chrom_name_key, chrom_name_problems, describe_names

ROMAN = "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI".split()
UCSC = {f"chr{r}": 100_000 + i for i, r in enumerate(ROMAN)} | {"chrM": 85_779}  # sacCer3-style names


@pytest.mark.parametrize(("text", "value"), [
    ("I", 1), ("IV", 4), ("IX", 9), ("XIV", 14), ("XVI", 16), ("XL", 40), ("LXXXIX", 89),
    ("", None), ("M", None), ("IIII", None), ("VX", None), ("A", None), ("C", None),
])
def test_roman_values(text, value):
    assert _roman_value(text) == value


def test_name_key_and_description():
    assert chrom_name_key("chrXVI") == chrom_name_key("XVI") == chrom_name_key("Chromosome_xvi") == "xvi"
    assert describe_names(["a", "b"]) == "a, b"
    assert describe_names([f"c{i}" for i in range(10)]) == "c0..c9 (10 names)"


def test_agreeing_names_and_a_subset_are_fine():
    assert chrom_name_problems(UCSC, {"bw": dict(UCSC), "peaks": {"chrIV", "chrVII"}}) == []


def test_missing_prefix_is_one_line_with_the_fix():
    source = {r: 100_000 + i for i, r in enumerate(ROMAN)} | {"chrM": 85_779}
    problems = chrom_name_problems(UCSC, {"experiment[0].plus (pho4.plus.bw)": source})
    assert len(problems) == 1  # 16 renamings, one message
    msg = problems[0]
    assert msg.startswith("experiment[0].plus (pho4.plus.bw): ")
    assert "the FASTA names them chrI..chrXVI (16 names), this file I..XVI (16 names)" in msg
    assert "add the `chr` prefix" in msg


def test_extra_prefix_says_remove():
    reference = {r: 1 for r in ROMAN[:3]}
    problems = chrom_name_problems(reference, {"peaks (p.bed)": {"chrI", "chrII"}})
    assert len(problems) == 1
    assert "remove the `chr` prefix" in problems[0] and "this file chrI, chrII" in problems[0]


def test_arabic_against_roman_numerals_lists_the_renamings():
    source = {f"chr{i + 1}": 100_000 + i for i in range(16)} | {"chrM": 85_779}
    (msg,) = chrom_name_problems(UCSC, {"bam": source})
    assert "Roman vs Arabic numerals" in msg
    assert "chr1 → chrI, chr2 → chrII, chr3 → chrIII, chr4 → chrIV and 12 more like them" in msg


def test_prefix_and_numerals_together():
    (msg,) = chrom_name_problems({"chrI": 5, "chrII": 6}, {"x": {"1": 5, "2": 6}})
    assert "Roman vs Arabic numerals and the `chr` prefix" in msg and "1 → chrI, 2 → chrII" in msg


@pytest.mark.parametrize("mito", ["chrMito", "chrmt", "chrMT"])
def test_mitochondrion_aliases(mito):
    (msg,) = chrom_name_problems(UCSC, {"bw": {"chrI", mito}})
    assert "the mitochondrion's name" in msg and f"rename {mito} → chrM" in msg


def test_mitochondrion_without_prefix_names_both_differences():
    (msg,) = chrom_name_problems(UCSC, {"bw": {"Mito"}})
    assert "the mitochondrion's name and the `chr` prefix" in msg and "Mito → chrM" in msg


def test_case_difference():
    (msg,) = chrom_name_problems({"chrI": 1, "chrII": 2}, {"bw": {"chri": 1, "ChrII": 2}})
    assert "upper/lower case" in msg and "chri → chrI" in msg and "ChrII → chrII" in msg


def test_human_x_is_a_prefix_difference_not_chromosome_ten():
    reference = {"chr1": 1, "chr10": 10, "chrX": 23, "chrY": 24, "chrM": 25}
    problems = chrom_name_problems(reference, {"ens": {"1": 1, "10": 10, "X": 23, "Y": 24, "MT": 25}})
    assert len(problems) == 2
    assert "add the `chr` prefix" in problems[0] and "this file 1, 10, X, Y" in problems[0]
    assert "MT → chrM" in problems[1]


def test_unknown_names_are_listed_briefly():
    extra = {"chrI"} | {f"scaffold_{i}" for i in range(1, 11)}
    (msg,) = chrom_name_problems(UCSC, {"peaks (p.bed)": extra})
    assert "10 chromosomes not in the FASTA: scaffold_1, scaffold_2, scaffold_3, scaffold_4 and 6 more" in msg
    assert "the FASTA has chrI..chrM (17 names)" in msg


def test_sizes_that_differ_including_renamed_names():
    source = {"chrI": 100_000, "II": 5, "chrIII": 100_002}
    problems = chrom_name_problems(UCSC, {"bw": source})
    sizes = [p for p in problems if "another length" in p]
    assert len(sizes) == 1
    assert "II: 5 here, 100001 in the FASTA as chrII" in sizes[0]
    assert "chrI:" not in sizes[0] and "chrIII" not in sizes[0]  # the agreeing ones are not mentioned
    assert "1 chromosome has another length" in sizes[0]


def test_required_chromosomes_must_be_present_unless_renamed():
    problems = chrom_name_problems(UCSC, {"bw": {"chrI": 100_000}, "bw2": {"IV": 100_003}}, require=["chrIV"])
    assert problems[0] == ("bw: lacks chromosome chrIV, which the run uses (peaks or a split chromosome); "
                           "fix: make this file over the whole genome")
    assert len(problems) == 2 and "add the `chr` prefix" in problems[1]  # bw2 has it, under another name


def test_reference_label_is_used():
    (msg,) = chrom_name_problems({"chrI": 1}, {"BAM a.bam": {"chrZ": 1}}, reference_label="the genome")
    assert "not in the genome" in msg and "use the genome these files were made with" in msg
