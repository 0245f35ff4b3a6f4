"""Tests of affdist_core.seq.kmers against a brute-force oracle: a k-mer's packed word is its rank among all
4**k words in ACGT (lexicographic) order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from affdist_core.seq.alphabet import encode, reverse_complement
from affdist_core.seq.kmers import (
    MAX_K,
    pack,
    pack_windows,
    pack_word,
    reverse_complement_words,
    unpack,
    unpack_word,
)


def _rank(word: str) -> int:
    """Oracle: position of ``word`` in the lexicographic list of all A/C/G/T words of its length."""
    return sum("ACGT".index(base) * 4 ** (len(word) - 1 - i) for i, base in enumerate(word))


def _windows_oracle(seq: str, k: int) -> tuple[list[int], list[int]]:
    """Oracle for pack_windows: every window of ``seq`` made of A/C/G/T only, by position."""
    words, starts = [], []
    for i in range(len(seq) - k + 1):
        window = seq[i : i + k].upper()
        if set(window) <= set("ACGT"):
            words.append(_rank(window))
            starts.append(i)
    return words, starts


def test_every_word_of_length_3_packs_to_its_lexicographic_rank():
    words = ["".join(w) for w in itertools.product("ACGT", repeat=3)]
    assert [pack_word(w) for w in words] == list(range(64))
    assert [unpack_word(i, 3) for i in range(64)] == words
    np.testing.assert_array_equal(pack(np.stack([encode(w) for w in words])), np.arange(64))


def test_pack_and_unpack_random_words_up_to_max_k():
    rng = np.random.default_rng(0)
    for k in (1, 2, 7, 16, 30, MAX_K):
        words = ["".join(rng.choice(list("ACGT"), size=k)) for _ in range(20)]
        codes = np.stack([encode(w) for w in words])
        packed = pack(codes)
        assert packed.dtype == np.int64 and packed.shape == (20,)
        assert packed.tolist() == [_rank(w) for w in words]
        assert all(p >= 0 for p in packed.tolist())  # 2k <= 62 bits: never the sign bit
        np.testing.assert_array_equal(unpack(packed, k), codes)
        assert [unpack_word(int(p), k) for p in packed] == words
        assert [pack_word(w.lower()) for w in words] == packed.tolist()


def test_reverse_complement_words_match_the_string_reverse_complement():
    rng = np.random.default_rng(1)
    for k in (1, 4, 11, MAX_K):
        words = ["".join(rng.choice(list("ACGT"), size=k)) for _ in range(30)]
        got = reverse_complement_words(np.array([_rank(w) for w in words]).reshape(5, 6), k)
        assert got.shape == (5, 6)
        assert got.ravel().tolist() == [_rank(reverse_complement(w)) for w in words]


@pytest.mark.parametrize("k", [1, 3, 8])
def test_pack_windows_skips_every_window_with_n(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        seq = "".join(rng.choice(list("ACGTN"), size=int(rng.integers(0, 40)), p=[0.22, 0.22, 0.22, 0.22, 0.12]))
        words, starts = pack_windows(encode(seq), k)
        assert (words.tolist(), starts.tolist()) == _windows_oracle(seq, k)
        assert words.dtype == starts.dtype == np.int64


def test_pack_windows_treats_every_code_above_3_as_n():
    codes = np.array([0, 1, 9, 2, 3, 0, 4, 1], dtype=np.uint8)
    words, starts = pack_windows(codes, 2)
    assert starts.tolist() == [0, 3, 4]
    assert words.tolist() == [_rank("AC"), _rank("GT"), _rank("TA")]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"codes: expected base codes 0..3"):
        pack(np.array([[0, 4, 1]], dtype=np.uint8))
    with pytest.raises(ValueError, match=rf"codes.shape\[-1\]: expected a k-mer length in 1..{MAX_K}"):
        pack(np.zeros((2, MAX_K + 1), dtype=np.uint8))
    with pytest.raises(ValueError, match="codes: expected a"):
        pack(np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="word"):
        pack_word("ACNT")
    with pytest.raises(ValueError, match=r"len\(word\)"):
        pack_word("A" * (MAX_K + 1))
    with pytest.raises(ValueError, match=r"k: expected a k-mer length in 1..31"):
        pack_windows(encode("ACGT"), 0)
    with pytest.raises(ValueError, match="k: expected"):
        reverse_complement_words([1, 2], MAX_K + 1)
    with pytest.raises(ValueError, match="codes: expected a 1-D array"):
        pack_windows(np.zeros((2, 5), dtype=np.uint8), 2)
