"""Tests for the exact uniform dinucleotide shuffle."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from affdist_core.common.rng import resolve_rng
from affdist_core.seq.alphabet import encode, from_one_hot, one_hot
from affdist_core.seq.shuffle import (
    dinucleotide_shuffle,
    dinucleotide_shuffle_codes,
    dinucleotide_shuffle_one_hot,
    shuffle_batch_one_hot,
)

K = 5  # A, C, G, T, N


def dinuc_counts(codes: np.ndarray) -> np.ndarray:
    """Adjacent-pair counts of each row: (..., L) codes → (..., K*K)."""
    codes = np.atleast_2d(codes).astype(np.int64)
    pair = codes[:, :-1] * K + codes[:, 1:]
    offsets = np.arange(codes.shape[0])[:, None] * K * K
    return np.bincount((pair + offsets).ravel(), minlength=codes.shape[0] * K * K).reshape(-1, K * K)


def assert_dinucleotide_shuffles(codes: np.ndarray, shuffled: np.ndarray) -> None:
    assert shuffled.dtype == np.uint8
    assert shuffled.shape[1:] == codes.shape
    np.testing.assert_array_equal(dinuc_counts(shuffled), np.broadcast_to(dinuc_counts(codes), (len(shuffled), K * K)))
    assert np.all(shuffled[:, 0] == codes[0])
    assert np.all(shuffled[:, -1] == codes[-1])


def random_codes(length: int, seed: int, p: list[float] | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = p or [0.25, 0.25, 0.25, 0.25]
    return rng.choice(len(p), size=length, p=p).astype(np.uint8)


@pytest.mark.parametrize(
    "codes",
    [
        random_codes(1346, 0),
        random_codes(300, 1),
        random_codes(300, 2, p=[0.24, 0.24, 0.24, 0.24, 0.04]),  # scattered N
        np.concatenate([random_codes(100, 3), np.full(20, 4, np.uint8), random_codes(100, 4)]),  # N block
        np.full(50, 4, np.uint8),  # all N
        np.full(80, 0, np.uint8),  # homopolymer
        random_codes(400, 5, p=[0.94, 0.02, 0.02, 0.02]),  # very skewed
        encode("ACGTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTG"),
        encode("ATATATATATATATATATATATATATATATATGC"),
        encode("AAAAAAAAAAAAAAAAAAAAC"),  # last symbol appears once
    ],
    ids=["random1346", "random300", "scatteredN", "Nblock", "allN", "homopolymer", "skewed", "polyT",
         "ATrepeat", "uniqueLast"],
)
def test_preserves_dinucleotides_and_ends(codes: np.ndarray) -> None:
    assert_dinucleotide_shuffles(codes, dinucleotide_shuffle_codes(codes, 50, random_state=0))


def test_string_api_preserves_characters_and_dinucleotides() -> None:
    seq = "ACGTNacgtRYACGTTTGCAnNNACGGA"
    for shuffled in dinucleotide_shuffle(seq, n_shuffles=30, random_state=1):
        assert len(shuffled) == len(seq)
        assert (shuffled[0], shuffled[-1]) == (seq[0], seq[-1])
        pairs = sorted(a + b for a, b in itertools.pairwise(shuffled))
        assert pairs == sorted(a + b for a, b in itertools.pairwise(seq))


def test_actually_shuffles() -> None:
    codes = random_codes(200, 10)
    shuffled = dinucleotide_shuffle_codes(codes, 100, random_state=0)
    n_equal_to_input = int(np.all(shuffled == codes, axis=1).sum())
    assert n_equal_to_input <= 1
    assert (shuffled != codes).mean() > 0.5  # positions differ substantially, not just a swap or two


def test_distinct_outputs_grow_with_number_of_shuffles() -> None:
    codes = random_codes(50, 11)
    n_distinct = {n: len(np.unique(dinucleotide_shuffle_codes(codes, n, random_state=n), axis=0))
                  for n in (10, 100, 1000)}
    assert n_distinct[10] == 10
    assert n_distinct[100] >= 98
    assert n_distinct[1000] >= 980


def all_valid_orderings(codes: np.ndarray, alphabet_size: int) -> np.ndarray:
    """Brute force: every sequence with the same first/last symbol and the same dinucleotide counts."""
    middles = np.array(list(itertools.product(range(alphabet_size), repeat=codes.size - 2)), dtype=np.uint8)
    n = len(middles)
    candidates = np.column_stack([np.full(n, codes[0], np.uint8), middles, np.full(n, codes[-1], np.uint8)])
    keep = np.all(dinuc_counts(candidates) == dinuc_counts(codes), axis=1)
    return candidates[keep]


@pytest.mark.parametrize(
    ("seq", "alphabet_size", "n_expected"),
    [("ACGAGCAGCA", 4, 21), ("AACACAGAGA", 4, 30), ("ANCANACGA", 5, 12)],
)
def test_uniform_over_all_valid_orderings(seq: str, alphabet_size: int, n_expected: int) -> None:
    codes = encode(seq)
    valid = all_valid_orderings(codes, alphabet_size)
    assert len(valid) == n_expected
    n_draws = 20_000
    shuffled = dinucleotide_shuffle_codes(codes, n_draws, random_state=123)
    found, inverse = np.unique(np.vstack([valid, shuffled]), axis=0, return_inverse=True)
    assert len(found) == len(valid), "a shuffle fell outside the brute-force set"
    counts = np.bincount(inverse.ravel()[len(valid):], minlength=len(valid))
    assert np.all(counts > 0), "some valid ordering was never drawn"
    assert chisquare(counts).pvalue > 1e-3


def test_same_seed_same_result_different_seed_different() -> None:
    codes = random_codes(200, 12)
    a = dinucleotide_shuffle_codes(codes, 5, random_state=42)
    np.testing.assert_array_equal(a, dinucleotide_shuffle_codes(codes, 5, random_state=42))
    assert not np.array_equal(a, dinucleotide_shuffle_codes(codes, 5, random_state=43))


def test_generator_input_is_used_and_advanced() -> None:
    codes = random_codes(200, 13)
    gen = np.random.default_rng(7)
    first = dinucleotide_shuffle_codes(codes, 3, random_state=gen)
    second = dinucleotide_shuffle_codes(codes, 3, random_state=gen)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, dinucleotide_shuffle_codes(codes, 3, random_state=np.random.default_rng(7)))
    assert dinucleotide_shuffle("ACGTTGCAAGCT", 2, random_state=3) == dinucleotide_shuffle("ACGTTGCAAGCT", 2, 3)


def test_resolve_rng() -> None:
    gen = np.random.default_rng(0)
    assert resolve_rng(gen) is gen
    assert resolve_rng(5).integers(1 << 30) == resolve_rng(5).integers(1 << 30)
    assert resolve_rng(5).integers(1 << 30) != resolve_rng(6).integers(1 << 30)
    assert isinstance(resolve_rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="random_state"):
        resolve_rng("seed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="random_state"):
        resolve_rng(-1)


@pytest.mark.parametrize("codes", [np.array([], np.uint8), np.array([2], np.uint8), np.array([1, 3], np.uint8)])
def test_short_sequences_returned_unchanged(codes: np.ndarray) -> None:
    out = dinucleotide_shuffle_codes(codes, 4, random_state=0)
    assert out.shape == (4, codes.size) and out.dtype == np.uint8
    assert np.all(out == codes)
    assert dinucleotide_shuffle("AC", 2) == ["AC", "AC"]


def test_one_hot_round_trip_and_shapes() -> None:
    seq = "ACGTNNACGTTGCANACGGATC"
    x = one_hot(seq)
    out = dinucleotide_shuffle_one_hot(x, 6, random_state=0)
    assert out.shape == (6, len(seq), 4) and out.dtype == np.float32
    for row in out:
        shuffled = from_one_hot(row)
        assert_dinucleotide_shuffles(encode(seq), encode(shuffled)[None])
    np.testing.assert_array_equal(from_one_hot(dinucleotide_shuffle_one_hot(one_hot("AC"), 1)[0]), "AC")


def test_batch_shapes_and_content() -> None:
    seqs = ["ACGTACGTTGCANNAC", "TTTTGGGGCCCCAAAA", "ACACACACACACACAC"]
    x = np.stack([one_hot(s) for s in seqs])
    out = shuffle_batch_one_hot(x, 4, random_state=0)
    assert out.shape == (3, 4, 16, 4) and out.dtype == np.float32
    for seq, rows in zip(seqs, out):
        codes = np.stack([encode(from_one_hot(r)) for r in rows])
        assert_dinucleotide_shuffles(encode(seq), codes)
    np.testing.assert_array_equal(out, shuffle_batch_one_hot(x, 4, random_state=0))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_invalid_n_shuffles(bad: object) -> None:
    codes = random_codes(20, 14)
    with pytest.raises(ValueError, match="n_shuffles"):
        dinucleotide_shuffle_codes(codes, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_shuffles"):
        dinucleotide_shuffle_one_hot(one_hot(codes), bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_shuffles"):
        shuffle_batch_one_hot(one_hot(codes)[None], bad)  # type: ignore[arg-type]


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match=r"x: .*\(seq_len, 4\)"):
        dinucleotide_shuffle_one_hot(np.zeros((10, 5), np.float32), 1)
    with pytest.raises(ValueError, match=r"x: .*\(seq_len, 4\)"):
        dinucleotide_shuffle_one_hot(np.zeros((2, 10, 4), np.float32), 1)
    with pytest.raises(ValueError, match="one 1 per row"):
        dinucleotide_shuffle_one_hot(np.full((10, 4), 0.25, np.float32), 1)
    with pytest.raises(ValueError, match=r"x: .*\(n, seq_len, 4\)"):
        shuffle_batch_one_hot(np.zeros((10, 4), np.float32), 1)
    with pytest.raises(ValueError, match="codes"):
        dinucleotide_shuffle_codes(np.zeros((3, 3), np.uint8), 1)
    with pytest.raises(ValueError, match="codes"):
        dinucleotide_shuffle_codes(np.array([0, -1, 2]), 1)
