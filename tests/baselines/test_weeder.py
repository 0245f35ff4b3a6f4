"""Tests for the Weeder 2 re-implementation: packed-word helpers, background frequencies, discovery."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from scipy.stats import binom

from affdist_core.baselines import weeder, weeder_background, weeder_balls
from affdist_core.baselines.weeder import discover_weeder
from affdist_core.baselines.weeder_background import (
    OligoFrequencies,
    oligo_frequencies_from_fasta,
    oligo_frequencies_from_sequences,
)
from affdist_core.baselines.weeder_balls import hamming_distance, mismatch_patterns, neighbourhood_sum
from affdist_core.io.fasta import GenomeReader
from affdist_core.seq.alphabet import encode, reverse_complement
from affdist_core.seq.kmers import pack_word, reverse_complement_words
from affdist_core.seq.motif import Motif

PLANTED = "GTCACGTGAC"
AT_RICH = [0.325, 0.175, 0.175, 0.325]
_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


def random_dna(rng: np.random.Generator, n: int, p=AT_RICH) -> str:
    return _BASES[rng.choice(4, size=n, p=p)].tobytes().decode()


def all_words(k: int) -> list[str]:
    return ["".join(w) for w in itertools.product("ACGT", repeat=k)]


def mismatches(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def insert(rng: np.random.Generator, seq: str, site: str) -> str:
    pos = int(rng.integers(0, len(seq) - len(site) + 1))
    return seq[:pos] + site + seq[pos + len(site):]


def degenerate_copy(rng: np.random.Generator, core: str, rate: float = 0.1) -> str:
    """``core`` with each base substituted with probability ``rate``, on a random strand."""
    site = "".join(rng.choice([c for c in "ACGT" if c != b]) if rng.random() < rate else b for b in core)
    return site if rng.random() < 0.5 else reverse_complement(site)


def make_sequences(rng: np.random.Generator, fraction: float, n: int = 100, length: int = 100) -> list[str]:
    return [insert(rng, s, degenerate_copy(rng, PLANTED)) if rng.random() < fraction else s
            for s in (random_dna(rng, length) for _ in range(n))]


def matches_planted(consensus: str) -> bool:
    """Contains the core CACGTG, or aligns within/around GTCACGTGAC (either strand) with <= 1 mismatch."""
    if "CACGTG" in consensus:
        return True
    for c in (consensus, reverse_complement(consensus)):
        short, long_ = sorted((c, PLANTED), key=len)
        if any(mismatches(short, long_[o:o + len(short)]) <= 1 for o in range(len(long_) - len(short) + 1)):
            return True
    return False


@pytest.fixture(scope="module")
def at_background() -> OligoFrequencies:
    """Oligo frequencies of 2 Mb of random AT-rich (GC 35 %) sequence."""
    rng = np.random.default_rng(0)
    return oligo_frequencies_from_sequences([random_dna(rng, 1_000_000) for _ in range(2)])


@pytest.fixture(scope="module")
def planted_sequences() -> list[str]:
    return make_sequences(np.random.default_rng(1), fraction=0.6)


@pytest.fixture(scope="module")
def planted_motifs(planted_sequences, at_background) -> list[Motif]:
    return discover_weeder(planted_sequences, at_background)


# ---------------------------------------------------------------------------------------------------------
# Hamming balls of packed words (packing itself: tests/seq/test_kmers.py)


def test_hamming_distance_matches_brute_force():
    rng = np.random.default_rng(2)
    for k in (1, 5, 12):
        a = [random_dna(rng, k, p=[0.25] * 4) for _ in range(300)]
        b = [random_dna(rng, k, p=[0.25] * 4) for _ in range(300)]
        got = hamming_distance([pack_word(x) for x in a], [pack_word(y) for y in b])
        np.testing.assert_array_equal(got, [mismatches(x, y) for x, y in zip(a, b)])


@pytest.mark.parametrize(("k", "e", "size"), [(6, 1, 19), (8, 2, 277), (10, 3, 3676), (4, 0, 1), (3, 2, 37)])
def test_mismatch_pattern_counts(k, e, size):
    patterns = mismatch_patterns(k, e)
    assert patterns.size == size == weeder_balls.neighbourhood_size(k, e)
    assert np.unique(patterns).size == size and patterns[0] == 0


@pytest.mark.parametrize(("k", "e"), [(4, 1), (4, 2), (5, 2)])
def test_neighbourhood_matches_brute_force(k, e):
    words = all_words(k)
    rng = np.random.default_rng(3)
    f = rng.random(4**k)
    f /= f.sum()
    for m in ("A" * k, words[77], words[-1]):
        ball = sorted(pack_word(m) ^ int(p) for p in mismatch_patterns(k, e))
        brute = [i for i, w in enumerate(words) if mismatches(w, m) <= e]
        assert ball == brute
        assert neighbourhood_sum(f, pack_word(m), k, e) == pytest.approx(f[brute].sum(), rel=1e-12)


def test_window_probability_is_the_exact_two_strand_union():
    rng = np.random.default_rng(4)
    for k, e, m in ((6, 1, "CACGTG"), (6, 1, "CACGTA"), (5, 2, "ACGTT"), (6, 2, "AAATTT")):
        words = all_words(k)
        f = rng.random(4**k)
        f /= f.sum()
        brute = sum(f[i] for i, w in enumerate(words)
                    if mismatches(w, m) <= e or mismatches(w, reverse_complement(m)) <= e)
        got = weeder_balls.window_probability(np.array([pack_word(m)]), k, e, mismatch_patterns(k, e), f)[0]
        assert got == pytest.approx(brute, rel=1e-12)


def test_sequence_counts_match_brute_force():
    rng = np.random.default_rng(5)
    seqs = [random_dna(rng, int(n)) for n in rng.integers(3, 30, size=12)] + ["ACGNNTTGCA", "NNN"]
    k, e = 5, 1
    win = weeder._windows([encode(s) for s in seqs], k)
    counts = weeder._count_sequences(win.words, win.seq, k, mismatch_patterns(k, e))
    for i, m in enumerate(all_words(k)):
        rc = reverse_complement(m)
        expected = sum(any("N" not in s[j:j + k] and min(mismatches(s[j:j + k], m), mismatches(s[j:j + k], rc)) <= e
                           for j in range(len(s) - k + 1)) for s in seqs)
        assert counts[i] == expected, m


@pytest.mark.parametrize(("observed", "n", "p"), [(1, 10, 0.3), (5, 10, 0.3), (60, 100, 0.2), (30, 100, 0.3),
                                                  (100, 100, 0.9), (3, 1000, 0.001)])
def test_binomial_tail_matches_scipy(observed, n, p):
    assert weeder._log10_binom_sf(observed, n, p) == pytest.approx(np.log10(binom.sf(observed - 1, n, p)),
                                                                   rel=1e-9, abs=1e-12)


def test_binomial_tail_does_not_underflow():
    value = weeder._log10_binom_sf(100, 100, 1e-5)
    assert value == pytest.approx(-500.0)  # P = p**n = 1e-500


# ---------------------------------------------------------------------------------------------------------
# background frequencies


def test_frequencies_count_both_strands():
    rng = np.random.default_rng(6)
    seq = random_dna(rng, 5000)
    a = oligo_frequencies_from_sequences([seq], lengths=(2, 6))
    b = oligo_frequencies_from_sequences([reverse_complement(seq)], lengths=(2, 6))
    for k in (2, 6):
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-15)
        assert a[k].sum() == pytest.approx(1.0)
        np.testing.assert_allclose(a[k], a[k][reverse_complement_words(np.arange(4**k), k)], atol=1e-15)
    assert a.n_windows == {2: 2 * 4999, 6: 2 * 4995}


def test_frequencies_exact_counts_skip_n():
    freqs = oligo_frequencies_from_sequences(["AAAA", "acNca"], lengths=(2,), pseudocount=0.0)
    # AA x3 (+ TT x3 on the other strand), AC x1 (+ GT), CA x1 (+ TG): 10 windows
    expected = dict.fromkeys(all_words(2), 0.0)
    expected.update(AA=0.3, TT=0.3, AC=0.1, GT=0.1, CA=0.1, TG=0.1)
    np.testing.assert_allclose(freqs[2], list(expected.values()))
    assert freqs.n_windows == {2: 10}
    with_pseudo = oligo_frequencies_from_sequences(["AAAA"], lengths=(1,), pseudocount=1.0)
    np.testing.assert_allclose(with_pseudo[1], np.array([5, 1, 1, 5]) / 12)


def test_frequencies_from_fasta_equal_sequences_and_cache(mini_genome_fasta, tmp_path, monkeypatch):
    reader = GenomeReader(mini_genome_fasta)
    records = [reader.fetch(c, 0, reader.chrom_sizes[c]) for c in reader.chroms]
    reader.close()
    lengths = (3, 6, 8)
    direct = oligo_frequencies_from_sequences(records, lengths=lengths)
    fasta = tmp_path / "genome.fa"
    fasta.write_bytes(mini_genome_fasta.read_bytes())
    # several chunks per record: windows across chunk edges
    monkeypatch.setattr(weeder_background, "_FASTA_CHUNK", 7_001)
    cache = tmp_path / "cache"
    first = oligo_frequencies_from_fasta(fasta, lengths=lengths, cache_dir=cache)
    for k in lengths:
        np.testing.assert_allclose(first[k], direct[k], rtol=1e-13, atol=0)
    assert first.n_windows == direct.n_windows
    files = list(cache.glob("genome.fa.oligofreq-*.npz"))
    assert len(files) == 1 and not list(cache.glob(".tmp-*"))

    calls = []
    real_count = weeder_background._count_fasta
    monkeypatch.setattr(weeder_background, "_count_fasta", lambda *a: calls.append(a) or real_count(*a))
    again = oligo_frequencies_from_fasta(fasta, lengths=lengths, cache_dir=cache)
    assert calls == []  # served from the cache
    for k in lengths:
        np.testing.assert_array_equal(again[k], first[k])
    assert again.n_windows == first.n_windows and again.pseudocount == 1.0

    stat = fasta.stat()
    os.utime(fasta, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a changed file is recounted
    oligo_frequencies_from_fasta(fasta, lengths=lengths, cache_dir=cache)
    assert len(calls) == 1 and len(list(cache.glob("*.npz"))) == 2

    default = oligo_frequencies_from_fasta(fasta, lengths=(3,))  # default cache: next to the FASTA
    assert list(tmp_path.glob("genome.fa.oligofreq-3-*.npz"))
    np.testing.assert_allclose(default[3], direct[3], rtol=1e-13)


def test_oligo_frequencies_validation():
    with pytest.raises(ValueError, match="frequencies"):
        OligoFrequencies({6: np.ones(10)})
    with pytest.raises(ValueError, match="summing to 1"):
        OligoFrequencies({1: np.ones(4)})
    with pytest.raises(ValueError, match="lengths"):
        oligo_frequencies_from_sequences(["ACGT"], lengths=(13,))
    with pytest.raises(ValueError, match="single string"):
        oligo_frequencies_from_sequences("ACGT")
    with pytest.raises(ValueError, match="path"):
        oligo_frequencies_from_fasta("/nonexistent/genome.fa")


# ---------------------------------------------------------------------------------------------------------
# discovery


def test_planted_motif_is_recovered(planted_motifs, planted_sequences):
    assert 1 <= len(planted_motifs) <= 10
    top = planted_motifs[0]
    assert matches_planted(top.provenance["consensus"]), top.provenance
    assert top.motif_id == "weeder_1" and top.method == "weeder"
    prov = top.provenance
    assert prov["observed"] >= 50 and prov["expected"] < prov["observed"] / 2
    assert top.n_sites == prov["observed"]
    assert (prov["n_sequences"], prov["top"]) == (100, 100)
    assert top.width == prov["length"]
    # the PWM is oriented to the consensus and rows sum to 1
    np.testing.assert_allclose(top.pwm.sum(axis=1), 1.0)
    assert top.consensus == prov["consensus"]
    assert [m.motif_id for m in planted_motifs] == [f"weeder_{i}" for i in range(1, len(planted_motifs) + 1)]
    scores = [m.score for m in planted_motifs]
    assert scores == sorted(scores, reverse=True)
    # redundancy: the planted motif is reported once, not as shifted / reverse-complement variants
    assert sum(matches_planted(m.provenance["consensus"]) for m in planted_motifs) == 1


def test_no_plant_scores_far_lower(planted_motifs, at_background):
    plain = discover_weeder(make_sequences(np.random.default_rng(1), fraction=0.0), at_background)
    assert planted_motifs[0].score > 10
    assert plain[0].score < 0.5 * planted_motifs[0].score


def test_genome_background_matters():
    """Poly-A runs frequent in the input but as frequent in the genome do not make the top motif."""
    rng = np.random.default_rng(0)
    uniform = [0.25] * 4

    def run_of_a_or_t() -> str:
        return "A" * 12 if rng.random() < 0.5 else "T" * 12

    plain = oligo_frequencies_from_sequences([random_dna(rng, 2_000_000, uniform)])
    poly_a = oligo_frequencies_from_sequences(
        ["".join(random_dna(rng, 80, uniform) + run_of_a_or_t() for _ in range(10_000))])
    seqs = []
    for _ in range(100):
        seq = random_dna(rng, 100, uniform)
        if rng.random() < 0.9:
            seq = insert(rng, seq, run_of_a_or_t())
        if rng.random() < 0.5:
            seq = insert(rng, seq, degenerate_copy(rng, PLANTED))
        seqs.append(seq)

    def a_rich(consensus: str) -> bool:
        return max(consensus.count("A"), consensus.count("T")) >= len(consensus) / 2

    with_plain = discover_weeder(seqs, plain)
    assert a_rich(with_plain[0].provenance["consensus"])  # poly-A (run edges) wins against a poly-A-poor genome
    with_poly_a = discover_weeder(seqs, poly_a)
    assert matches_planted(with_poly_a[0].provenance["consensus"])
    assert not a_rich(with_poly_a[0].provenance["consensus"])


def test_deterministic_and_top_limits_input(planted_sequences, planted_motifs, at_background):
    extra = make_sequences(np.random.default_rng(9), fraction=0.0, n=50)
    again = discover_weeder(planted_sequences + extra, at_background, top=100)
    assert len(again) == len(planted_motifs)
    for a, b in zip(planted_motifs, again):
        assert a.provenance["consensus"] == b.provenance["consensus"] and a.score == b.score
        np.testing.assert_array_equal(a.pwm, b.pwm)
    assert again[0].provenance["n_input_sequences"] == 150
    few = discover_weeder(planted_sequences, at_background, n_motifs=2, lengths_mismatches=((8, 2),))
    assert len(few) == 2 and all(m.width == 8 for m in few)


def test_sequences_with_n_and_short_sequences(at_background):
    rng = np.random.default_rng(10)
    seqs = [random_dna(rng, 100) for _ in range(20)] + ["ACGT", "N" * 50, "acgtNNNNacgtacgtacgt"]
    motifs = discover_weeder(seqs, at_background, lengths_mismatches=((6, 1),), n_motifs=3)
    assert motifs and all(np.isfinite(m.score) for m in motifs)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sequences": []}, "sequences"),
    ({"sequences": "ACGTACGT"}, "sequences"),
    ({"sequences": ["ACGTACGT", ""]}, r"sequences\[1\]"),
    ({"top": 0}, "top"),
    ({"lengths_mismatches": ((6, 6),)}, "lengths_mismatches"),
    ({"lengths_mismatches": ((13, 2),)}, "lengths_mismatches"),
    ({"lengths_mismatches": ((12, 6),)}, "lengths_mismatches"),
    ({"lengths_mismatches": ((6, -1),)}, "lengths_mismatches"),
    ({"lengths_mismatches": ((6, 1), (6, 2))}, "lengths_mismatches"),
    ({"lengths_mismatches": ((7, 1),)}, "background"),
    ({"background": None}, "background"),
    ({"n_motifs": 0}, "n_motifs"),
    ({"min_sequence_fraction": 1.5}, "min_sequence_fraction"),
])
def test_input_validation(kwargs, match):
    small = OligoFrequencies({k: np.full(4**k, 4.0**-k) for k in (6, 8, 10)})
    args = {"sequences": ["ACGTACGTAC"] * 3, "background": small} | kwargs
    with pytest.raises(ValueError, match=match):
        discover_weeder(args.pop("sequences"), args.pop("background"), **args)
