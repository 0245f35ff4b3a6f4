"""Tests of the STREME re-implementation: planted-motif recovery, masking, determinism, validation, Fisher test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import gammaln
from scipy.stats import fisher_exact, hypergeom

from affdist_core.seq.motif import Motif
from affdist_core.seq.alphabet import ALPHABET, encode, reverse_complement
from affdist_core.baselines.fisher import fisher_log_pvalue
from affdist_core.baselines.streme import discover_streme

EBOX = "GTCACGTGAC"
SECOND = "TTTAGGCCTA"
AT_RICH = [0.31, 0.19, 0.19, 0.31]


def random_codes(n: int, length: int, rng: np.random.Generator, p=AT_RICH) -> np.ndarray:
    return rng.choice(4, size=(n, length), p=p)


def plant(codes: np.ndarray, consensus: str, rows: np.ndarray, lo: int, hi: int, rng: np.random.Generator,
          p_consensus: float = 0.85) -> None:
    """In place: a site sampled from a PWM around ``consensus`` (``p_consensus`` on the consensus base, the rest
    uniform), on a random strand, at a random start in [lo, hi), in each of ``rows``."""
    w = len(consensus)
    pwm = np.full((w, 4), (1 - p_consensus) / 3)
    pwm[np.arange(w), encode(consensus)] = p_consensus
    for i in rows:
        site = np.array([rng.choice(4, p=row) for row in pwm])
        if rng.random() < 0.5:
            site = 3 - site[::-1]
        start = rng.integers(lo, hi)
        codes[i, start:start + w] = site


def to_strings(codes: np.ndarray) -> list[str]:
    return ["".join(ALPHABET[c] for c in row) for row in codes]


def matches(consensus: str, planted: str, max_mismatches: int = 1) -> bool:
    """True if ``consensus`` aligns with ``planted`` (either strand) at some ungapped offset with at most
    ``max_mismatches`` of the shorter string's positions mismatched or hanging off the end of the longer one
    (so a width-14 motif holding 9 of the 10 planted bases plus flanks matches with one)."""
    for target in (planted, reverse_complement(planted)):
        short, long_ = sorted((consensus, target), key=len)
        for off in range(-max_mismatches, len(long_) - len(short) + max_mismatches + 1):
            bad = sum(not 0 <= off + j < len(long_) or long_[off + j] != x for j, x in enumerate(short))
            if bad <= max_mismatches:
                return True
    return False


@pytest.fixture(scope="module")
def one_planted() -> list[str]:
    rng = np.random.default_rng(11)
    codes = random_codes(400, 100, rng)
    plant(codes, EBOX, np.flatnonzero(rng.random(400) < 0.5), 0, 91, rng)
    return to_strings(codes)


@pytest.fixture(scope="module")
def one_planted_motifs(one_planted) -> list[Motif]:
    return discover_streme(one_planted, holdout_fraction=0.2, n_motifs=3, random_state=0)


# ------------------------------------------------------------------------------------------------ discovery
def test_planted_motif_is_recovered(one_planted_motifs):
    top = one_planted_motifs[0]
    assert matches(top.consensus, EBOX), top.consensus
    assert top.score < 1e-3
    assert top.method == "streme" and top.motif_id == "streme_1"
    assert 8 <= top.width <= 15
    np.testing.assert_allclose(top.pwm.sum(axis=1), 1.0, atol=1e-9)
    prov = top.provenance
    assert prov["consensus"] == top.consensus
    assert math.isclose(prov["log10_pvalue"], math.log10(top.score), rel_tol=1e-9)
    assert prov["train_primary_sites"] == top.n_sites > 100
    assert prov["holdout_primary_sites"] > prov["holdout_control_sites"]
    assert prov["parameters"]["random_state"] == 0


def test_motifs_ranked_by_holdout_pvalue(one_planted_motifs):
    scores = [m.score for m in one_planted_motifs]
    assert scores == sorted(scores)
    assert all(s <= 0.05 for s in scores)
    assert [m.motif_id for m in one_planted_motifs] == [f"streme_{i + 1}" for i in range(len(scores))]


def test_random_input_gives_no_significant_motif():
    rng = np.random.default_rng(5)
    motifs = discover_streme(to_strings(random_codes(300, 100, rng)), holdout_fraction=0.2, random_state=1)
    assert all(m.score >= 1e-3 for m in motifs), [(m.consensus, m.score) for m in motifs]


def test_masking_finds_a_second_different_motif():
    rng = np.random.default_rng(3)
    codes = random_codes(600, 100, rng)
    plant(codes, EBOX, np.flatnonzero(rng.random(600) < 0.7), 0, 40, rng)
    plant(codes, SECOND, np.flatnonzero(rng.random(600) < 0.4), 50, 90, rng)
    motifs = discover_streme(to_strings(codes), holdout_fraction=0.2, n_motifs=2, random_state=0)
    assert len(motifs) == 2
    assert matches(motifs[0].consensus, EBOX), motifs[0].consensus
    assert matches(motifs[1].consensus, SECOND), motifs[1].consensus
    assert not matches(motifs[1].consensus, EBOX, max_mismatches=2)
    assert motifs[1].score < 1e-3


def test_same_random_state_gives_identical_motifs(one_planted):
    kwargs = dict(holdout_fraction=0.2, n_motifs=1, max_width=10, random_state=7)
    first = discover_streme(one_planted[:200], **kwargs)
    assert first and first == discover_streme(one_planted[:200], **kwargs)


def test_explicit_control_lowercase_and_n_are_accepted(one_planted):
    rng = np.random.default_rng(2)
    control = to_strings(random_codes(300, 100, rng))
    primary = [s.lower() if i % 2 else s[:50] + "NNNNN" + s[55:] for i, s in enumerate(one_planted)]
    motifs = discover_streme(primary, control, holdout_fraction=0.2, n_motifs=1, max_width=12, random_state=0)
    assert motifs and matches(motifs[0].consensus, EBOX)
    assert motifs[0].provenance["parameters"]["control"] == "provided"
    assert motifs[0].provenance["holdout_control"] == 60


# ----------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, match", [
    (dict(primary=[]), "primary: no sequences"),
    (dict(primary="ACGTACGTACGT"), "primary: expected a sequence"),
    (dict(primary=["ACGTACGTACGT"]), "primary: got 1 sequence"),
    (dict(primary=["ACGTACGTACGT", "ACG"]), r"primary: 1 sequence\(s\) are shorter than min_width=8"),
    (dict(primary=["ACGTACGTACGT"] * 3, control=["ACGT"] * 3), "control: 3 sequence"),
    (dict(primary=["ACGTACGTACGT"] * 3, control=[]), "control: no sequences"),
    (dict(min_width=2), "min_width: expected an integer >= 3"),
    (dict(max_width=32), "max_width: expected <= 31"),
    (dict(min_width=10, max_width=9), "min_width: 10 is larger than max_width=9"),
    (dict(holdout_fraction=0.0), r"holdout_fraction: expected a number in \(0, 0.5\]"),
    (dict(holdout_fraction=0.6), r"holdout_fraction: expected a number in \(0, 0.5\]"),
    (dict(n_motifs=0), "n_motifs: expected an integer >= 1"),
    (dict(patience=0), "patience: expected an integer >= 1"),
    (dict(pvalue_threshold=0.0), "pvalue_threshold"),
])
def test_invalid_inputs_raise(kwargs, match):
    args = {"primary": ["ACGTACGTACGTAAAA"] * 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        discover_streme(args.pop("primary"), **args)


# ---------------------------------------------------------------------------------------------- Fisher test
@pytest.mark.parametrize("a, n_pos, b, n_neg", [
    (10, 50, 2, 50), (0, 10, 5, 10), (30, 30, 0, 30), (5, 100, 5, 100), (1, 1, 0, 1), (3, 20, 9, 40),
    (17, 25, 20, 60), (0, 0, 0, 5), (40, 1530, 12, 1530),
])
def test_fisher_matches_scipy(a, n_pos, b, n_neg):
    expected = fisher_exact([[a, n_pos - a], [b, n_neg - b]], alternative="greater")[1]
    assert math.isclose(math.exp(fisher_log_pvalue(a, n_pos, b, n_neg)), expected, rel_tol=1e-9, abs_tol=1e-300)


def test_fisher_is_vectorised_and_log_accurate():
    a = np.array([900, 300, 120, 60])
    got = fisher_log_pvalue(a, 1000, np.array([10, 40, 100, 55]), 1000)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, hypergeom.logsf(a - 1, 2000, a + [10, 40, 100, 55], 1000), rtol=1e-9)
    # p = 1 / C(3000, 1500) ≈ 1e-902: far below float64, still exact in log space
    expected = -(gammaln(3001) - 2 * gammaln(1501))
    assert math.isclose(fisher_log_pvalue(1500, 1500, 0, 1500), expected, rel_tol=1e-10)


def test_fisher_rejects_impossible_tables():
    with pytest.raises(ValueError, match="a: expected 0 <= a <= n_primary"):
        fisher_log_pvalue(5, 4, 0, 4)
    with pytest.raises(ValueError, match="b: expected 0 <= b <= n_control"):
        fisher_log_pvalue(1, 4, -1, 4)
