"""Tests for scoring sequences with motif matrices (pwm_scoring.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affdist_core.seq.motif import Motif
from affdist_core.baselines.pwm_scoring import log_odds, scan, score_sequences, score_table, scoring_matrix
from affdist_core.seq.alphabet import ALPHABET, one_hot, one_hot_batch, reverse_complement


def random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(ALPHABET[k] for k in row) for row in rng.integers(0, 4, (n, length))]


def brute_force_windows(seq: str, matrix: np.ndarray) -> np.ndarray:
    """(2, L − w + 1) float64 by explicit loops: forward matrix, and the reverse-complement matrix."""
    w = len(matrix)
    rc = matrix[::-1, ::-1]
    out = np.zeros((2, len(seq) - w + 1))
    for i in range(len(seq) - w + 1):
        for j in range(w):
            base = seq[i + j]
            if base in ALPHABET:
                out[0, i] += matrix[j, ALPHABET.index(base)]
                out[1, i] += rc[j, ALPHABET.index(base)]
    return out


def motif_from(pwm, **kwargs) -> Motif:
    return Motif(motif_id=kwargs.pop("motif_id", "m"), method=kwargs.pop("method", "external"), pwm=pwm, **kwargs)


@pytest.fixture(scope="module")
def random_motif() -> Motif:
    rng = np.random.default_rng(42)
    pwm = rng.dirichlet(np.full(4, 0.5), size=7)
    return motif_from(pwm, cwm=rng.normal(size=(7, 4)))


# ----------------------------------------------------------------------------------------------------------
# log-odds


def test_log_odds_uniform_background_and_pseudocount():
    pwm = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    lo = log_odds(pwm, pseudocount=0.01)
    expected_top = np.log(((1 + 0.01) / 1.04) / 0.25)
    expected_zero = np.log((0.01 / 1.04) / 0.25)
    np.testing.assert_allclose(lo[0], [expected_top, expected_zero, expected_zero, expected_zero])
    np.testing.assert_allclose(lo[1], 0.0, atol=1e-15)


def test_log_odds_gc_background():
    pwm = np.full((3, 4), 0.25)
    lo = log_odds(pwm, background=0.4, pseudocount=0.0)
    np.testing.assert_allclose(lo[0], np.log(0.25 / np.array([0.3, 0.2, 0.2, 0.3])))
    np.testing.assert_allclose(log_odds(pwm, background=[3, 2, 2, 3], pseudocount=0.0), lo)


def test_log_odds_errors():
    with pytest.raises(ValueError, match="pseudocount"):
        log_odds(np.array([[1.0, 0, 0, 0]]), pseudocount=0.0)
    with pytest.raises(ValueError, match="GC fraction"):
        log_odds(np.full((2, 4), 0.25), background=1.2)
    with pytest.raises(ValueError, match=r"shape \(w, 4\)"):
        log_odds(np.full((2, 3), 1 / 3))


def test_scoring_matrix_cwm_is_used_directly(random_motif):
    np.testing.assert_array_equal(scoring_matrix(random_motif, "cwm"), random_motif.cwm)
    with pytest.raises(ValueError, match="has no hcwm"):
        scoring_matrix(random_motif, "hcwm")


# ----------------------------------------------------------------------------------------------------------
# scan


def test_scan_matches_brute_force_on_both_strands():
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(6, 4))
    seqs = random_seqs(25, 31, seed=2)
    seqs[3] = seqs[3][:10] + "N" + seqs[3][11:]  # an N scores 0
    windows = scan(one_hot_batch(seqs), matrix)
    assert windows.shape == (25, 2, 26) and windows.dtype == np.float32
    for k, seq in enumerate(seqs):
        np.testing.assert_allclose(windows[k], brute_force_windows(seq, matrix), rtol=1e-5, atol=1e-5)


def test_reverse_strand_equals_forward_scan_of_the_reverse_complement():
    matrix = np.random.default_rng(3).normal(size=(5, 4))
    seq = random_seqs(1, 40, seed=4)[0]
    fwd = scan(one_hot(seq), matrix)[0]
    rev = scan(one_hot(reverse_complement(seq)), matrix)[0]
    np.testing.assert_allclose(fwd[1], rev[0][::-1], rtol=1e-5, atol=1e-5)


def test_palindromic_motif_scores_both_strands_equally():
    pwm = np.array([[0.1, 0.7, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.1, 0.1, 0.7, 0.1]])
    lo = log_odds(pwm)  # CATG-like: its own reverse complement
    np.testing.assert_allclose(lo, lo[::-1, ::-1])
    windows = scan(one_hot_batch(random_seqs(10, 20)), lo)
    np.testing.assert_allclose(windows[:, 0], windows[:, 1], rtol=1e-6)


def test_scan_chunking_does_not_change_results(monkeypatch):
    import affdist_core.baselines.pwm_scoring as ps

    matrix = np.random.default_rng(5).normal(size=(4, 4))
    x = one_hot_batch(random_seqs(50, 12))
    whole = scan(x, matrix)
    monkeypatch.setattr(ps, "_CHUNK_FLOATS", 200)  # a few sequences per chunk
    np.testing.assert_array_equal(scan(x, matrix), whole)


def test_motif_wider_than_sequence_is_an_error():
    with pytest.raises(ValueError, match="longer than the sequences"):
        scan(one_hot_batch(["ACGT"]), np.zeros((5, 4)))
    motif = motif_from(np.full((9, 4), 0.25))
    with pytest.raises(ValueError, match="width 9 is longer than 1 sequence"):
        score_sequences(["ACGTACGTACGT", "ACGT"], motif)


# ----------------------------------------------------------------------------------------------------------
# score_sequences


def test_sum_and_max_on_a_hand_example():
    # a CWM for "CA": C at position 0 scores 2, A at position 1 scores 1, everything else 0. Its reverse
    # complement (the reverse strand) is "TG": T at 0 scores 1, G at 1 scores 2.
    cwm = np.zeros((2, 4))
    cwm[0, 1], cwm[1, 0] = 2.0, 1.0
    motif = motif_from(np.full((2, 4), 0.25), cwm=cwm)
    seq = "CATG"  # windows CA, AT, TG: forward 3, 0, 0; reverse 0, 0, 3
    expected = brute_force_windows(seq, cwm)
    np.testing.assert_allclose(expected, [[3, 0, 0], [0, 0, 3]])
    assert score_sequences([seq], motif, use="cwm", reduce="sum")[0] == pytest.approx(6.0)
    assert score_sequences([seq], motif, use="cwm", reduce="max")[0] == pytest.approx(3.0)
    assert score_sequences([seq], motif, use="cwm", reduce="logsumexp")[0] == pytest.approx(
        np.log(2 * np.exp(3) + 4 * np.exp(0)))


def test_pwm_sum_and_max_match_brute_force_for_mixed_lengths(random_motif):
    seqs = random_seqs(7, 16, seed=1) + random_seqs(5, 9, seed=2) + ["acgtacgtnn"] + random_seqs(3, 30, seed=3)
    order = np.random.default_rng(0).permutation(len(seqs))
    seqs = [seqs[i] for i in order]  # interleave the lengths
    lo = log_odds(random_motif.pwm)
    windows = [brute_force_windows(s.upper(), lo) for s in seqs]
    np.testing.assert_allclose(score_sequences(seqs, random_motif), [w.sum() for w in windows], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(score_sequences(seqs, random_motif, reduce="max"), [w.max() for w in windows],
                               rtol=1e-5, atol=1e-5)
    cwm_windows = [brute_force_windows(s.upper(), random_motif.cwm) for s in seqs]
    np.testing.assert_allclose(score_sequences(seqs, random_motif, use="cwm", reduce="max"),
                               [w.max() for w in cwm_windows], rtol=1e-5, atol=1e-5)


def test_scores_are_per_sequence_independent(random_motif):
    seqs = random_seqs(40, 20, seed=8)
    together = score_sequences(seqs, random_motif, reduce="max")
    alone = np.array([score_sequences([s], random_motif, reduce="max")[0] for s in seqs])
    np.testing.assert_array_equal(together, alone)


def test_best_site_scores_highest():
    pwm = np.full((6, 4), 0.02)
    for j, base in enumerate("CACGTG"):
        pwm[j, ALPHABET.index(base)] = 0.94
    motif = motif_from(pwm)
    scores = score_sequences(["TTTTCACGTGTTTT", "TTTTCACGTTTTTT", "TTTTTTTTTTTTTT"], motif, reduce="max")
    assert scores[0] > scores[1] > scores[2]


def test_score_table_columns_and_values(random_motif):
    seqs = random_seqs(30, 15, seed=9)
    other = motif_from(np.random.default_rng(2).dirichlet(np.ones(4), size=5), motif_id="jaspar1", method="jaspar")
    table = score_table(seqs, [random_motif, other], uses=("pwm", "cwm"), index=[f"s{i}" for i in range(30)])
    assert list(table.columns) == ["m:pwm:sum", "m:pwm:max", "m:cwm:sum", "m:cwm:max", "jaspar1:pwm:sum",
                                   "jaspar1:pwm:max"]  # no CWM for the JASPAR motif
    assert table.index[0] == "s0"
    np.testing.assert_array_equal(table["m:cwm:max"].to_numpy(),
                                  score_sequences(seqs, random_motif, use="cwm", reduce="max"))
    assert isinstance(table, pd.DataFrame)


def test_option_errors(random_motif):
    with pytest.raises(ValueError, match="reduce"):
        score_sequences(["ACGTACGT"], random_motif, reduce="mean")
    with pytest.raises(ValueError, match="use"):
        score_sequences(["ACGTACGT"], random_motif, use="pfm")
    with pytest.raises(ValueError, match="single string"):
        score_sequences("ACGTACGT", random_motif)


def test_betseq_library_with_the_jaspar_pho4_matrix():
    """All 1,048,576 BET-seq 16-mers with MA0357.1: fast, and higher motif scores mean tighter binding."""
    import time

    from affdist_core.io.library import load_builtin_library
    from affdist_core.io.motif_files import jaspar_motif

    library = load_builtin_library("betseq_pho4")
    motif = jaspar_motif("MA0357.1")
    t0 = time.perf_counter()
    table = score_table(library.sequences, [motif])
    elapsed = time.perf_counter() - t0
    assert table.shape == (4**10, 2)
    assert np.isfinite(table.to_numpy()).all()
    assert elapsed < 30  # ~1 s on a 2-core VM; generous for a loaded machine
    ddg = library.values  # lower = tighter
    r_max = np.corrcoef(table["MA0357.1:pwm:max"], ddg)[0, 1]
    r_sum = np.corrcoef(table["MA0357.1:pwm:sum"], ddg)[0, 1]
    assert r_max < -0.5 and r_sum < -0.3
