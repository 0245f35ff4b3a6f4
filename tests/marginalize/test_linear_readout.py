"""The linear read-out: the analytic answer on a linear model, additive scoring against brute force, the
matrices' JSON round trip and the errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from affdist_core.marginalize.linear_readout import (
    LinearReadout,
    additive_scores,
    best_windows,
    linear_matrix,
    site_matrix,
    symmetrise,
)
from affdist_core.seq.alphabet import one_hot_batch, reverse_complement

L, K = 40, 8


def _linear_model(weights: np.ndarray) -> keras.Model:
    inp = keras.Input((L, 4))
    dense = keras.layers.Dense(1, name="linear")
    model = keras.Model(inp, dense(keras.layers.Flatten()(inp)))
    dense.set_weights([weights.reshape(L * 4, 1).astype(np.float32), np.array([0.1], np.float32)])
    return model


def _random_seqs(rng, n: int, k: int) -> list[str]:
    return ["".join(rng.choice(list("ACGT"), k)) for _ in range(n)]


def test_linear_model_gives_its_own_weights_at_the_insert():
    """For f(x) = Σ W·x the mean hypothetical contribution of base b at insert position p is W[start + p, b]
    minus a per-position constant, whatever the queries, backgrounds or references: the read-out is W's insert
    block, RC-symmetrised and centred."""
    rng = np.random.default_rng(3)
    weights = rng.normal(0, 1, (L, 4))
    model = _linear_model(weights)
    backgrounds = one_hot_batch(_random_seqs(rng, 3, L))
    queries = _random_seqs(rng, 6, K)
    matrix = linear_matrix(model, backgrounds, queries, n_shuffles=4, seed=1)
    start = (L - K) // 2
    expected = symmetrise(weights[start:start + K])
    np.testing.assert_allclose(matrix, expected, atol=1e-5)
    assert np.allclose(matrix, matrix[::-1, ::-1]) and np.allclose(matrix.sum(axis=1), 0)
    # an asymmetric model is symmetrised: the plain block differs from the read-out
    assert not np.allclose(matrix, weights[start:start + K] - weights[start:start + K].mean(axis=1, keepdims=True))


def test_additive_scores_match_brute_force_and_are_strand_symmetric():
    rng = np.random.default_rng(5)
    m = rng.normal(0, 1, (K, 4))
    seqs = _random_seqs(rng, 20, K)
    idx = {b: i for i, b in enumerate("ACGT")}

    def plain(s: str) -> float:
        return sum(m[p, idx[c]] for p, c in enumerate(s))

    expected = [(plain(s) + plain(reverse_complement(s))) / 2 for s in seqs]
    np.testing.assert_allclose(additive_scores(m, seqs), expected, atol=1e-12)
    np.testing.assert_allclose(additive_scores(m, [reverse_complement(s) for s in seqs]), expected, atol=1e-12)
    with pytest.raises(ValueError, match=r"sequences\[1\]: length 7"):
        additive_scores(m, [seqs[0], seqs[1][:-1]])
    with pytest.raises(ValueError, match=r"sequences\[0\].*A, C, G, T"):
        additive_scores(m, ["ACGTNACG"])


def test_build_scores_every_length_and_round_trips(tmp_path):
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 1, (L, 4))
    models = [_linear_model(weights), _linear_model(weights * 2)]
    backgrounds = one_hot_batch(_random_seqs(rng, 2, L))
    seqs = _random_seqs(rng, 10, K) + _random_seqs(rng, 5, K + 1)
    readout = LinearReadout.build(models, backgrounds, seqs, n_queries=4, n_backgrounds=2, n_shuffles=3, seed=0)
    assert readout.lengths() == [K, K + 1] and readout.provenance["n_queries"] == {K: 4, K + 1: 4}
    # the ensemble's matrix is the members' mean; member 1 (2 W) doubles member 0
    np.testing.assert_allclose(readout.members[K][1], 2 * readout.members[K][0], atol=1e-5)
    np.testing.assert_allclose(readout.matrices[K], 1.5 * readout.members[K][0], atol=1e-5)
    scores = readout.score(seqs)
    np.testing.assert_allclose(scores[:10], additive_scores(readout.matrices[K], seqs[:10]))
    np.testing.assert_allclose(readout.score(seqs, member=1), 2 * readout.score(seqs, member=0), atol=1e-5)
    path = readout.save(tmp_path / "readouts.json")
    again = LinearReadout.load(path)
    np.testing.assert_allclose(again.score(seqs), scores, atol=1e-7)
    with pytest.raises(ValueError, match="length 5 has no linear read-out matrix"):
        readout.score(["ACGTA"])
    with pytest.raises(ValueError, match=r"matrix for length 8 has shape \(2, 4\)"):
        LinearReadout.from_dict({"matrices": {"8": [[0, 0, 0, 0]] * 2}, "members": {}})


def test_site_matrix_registers_and_orients_each_window():
    """Sequences with a planted site at a random position and strand, hypothetical contributions equal to a
    known pattern H at the site (reverse complemented on the reverse strand) and noise elsewhere: the site
    matrix is H symmetrised, and ``best_windows`` finds every site's start and strand."""
    rng = np.random.default_rng(11)
    n, length = 60, 50
    site = "GACCACGTGGTC"[:K]  # any k-mer the registration matrix prefers
    registration = np.eye(4)[["ACGT".index(c) for c in site]] * 3.0
    pattern = rng.normal(0, 1, (K, 4))
    seqs, starts, strands = [], [], []
    hypothetical = rng.normal(0, 0.1, (n, length, 4))
    for i in range(n):
        background = "".join(rng.choice(list("AT"), length))  # no second copy of the site
        start, rc = int(rng.integers(0, length - K + 1)), int(rng.integers(0, 2))
        planted = reverse_complement(site) if rc else site
        seqs.append(background[:start] + planted + background[start + K:])
        hypothetical[i, start:start + K] = pattern[::-1, ::-1] if rc else pattern
        starts.append(start)
        strands.append(rc)
    onehot = one_hot_batch(seqs)
    found_start, found_strand, _ = best_windows(onehot, registration)
    palindrome = site == reverse_complement(site)
    np.testing.assert_array_equal(found_start, starts)
    if not palindrome:
        np.testing.assert_array_equal(found_strand, strands)
    np.testing.assert_allclose(site_matrix(onehot, hypothetical, registration), symmetrise(pattern), atol=1e-12)
    # a mis-registered read (every window taken forward) is not the pattern
    assert not np.allclose(site_matrix(onehot, hypothetical, np.zeros((K, 4))), symmetrise(pattern), atol=0.05)
    with pytest.raises(ValueError, match="hypothetical: shape"):
        site_matrix(onehot, hypothetical[:, :-1], registration)


def test_build_at_sites_reads_a_linear_model_at_the_registered_window():
    """For f(x) = Σ W·x the hypothetical contribution at any window is W's block there, so the site matrix of
    windows whose best site sits at one known offset is W's block at that offset (symmetrised)."""
    rng = np.random.default_rng(13)
    weights = rng.normal(0, 1, (L, 4))
    model = _linear_model(weights)
    site = "TTGACGCA"
    offset = 5
    windows = []
    for _ in range(4):
        s = "".join(rng.choice(list("ACGT"), L))
        windows.append(s[:offset] + site + s[offset + K:])
    readout = LinearReadout.build([model], one_hot_batch(_random_seqs(rng, 2, L)), [site] * 3,
                                  site_windows=one_hot_batch(windows), n_queries=3, n_backgrounds=2, n_shuffles=3)
    query = np.asarray(readout.provenance["registration"][str(K)][0])
    start, strand, _ = best_windows(one_hot_batch(windows), query)
    assert readout.provenance["source"] == "sites" and readout.provenance["n_site_windows"] == 4
    blocks = [weights[s:s + K][::-1, ::-1] if rc else weights[s:s + K] for s, rc in zip(start, strand)]
    np.testing.assert_allclose(readout.members[K][0], symmetrise(np.mean(blocks, axis=0)), atol=1e-5)


def test_given_site_contributions_replace_the_computed_ones():
    """With ``site_contributions`` the matrix is read from the given arrays (the interpret stage's DeepSHAP), not
    recomputed: contributions equal to the computed ones give the same matrix, others a different one; wrong
    shapes or counts are refused."""
    rng = np.random.default_rng(17)
    weights = rng.normal(0, 1, (L, 4))
    model = _linear_model(weights)
    site = "TTGACGCA"
    windows = one_hot_batch(["".join(rng.choice(list("ACGT"), L)) for _ in range(5)])
    backgrounds = one_hot_batch(_random_seqs(rng, 2, L))
    kwargs = dict(site_windows=windows, n_queries=3, n_backgrounds=1, n_shuffles=3)
    computed = LinearReadout.build([model], backgrounds, [site] * 3, **kwargs)
    exact = np.broadcast_to(weights - weights.mean(axis=1, keepdims=True), windows.shape).astype(np.float32)
    given = LinearReadout.build([model], backgrounds, [site] * 3, site_contributions=[exact], **kwargs)
    assert given.provenance["site_contributions"] == "given"
    np.testing.assert_allclose(given.members[K][0], computed.members[K][0], atol=1e-5)
    other = LinearReadout.build([model], backgrounds, [site] * 3, site_contributions=[np.zeros_like(exact)], **kwargs)
    np.testing.assert_allclose(other.members[K][0], 0.0)
    with pytest.raises(ValueError, match="1 model"):
        LinearReadout.build([model], backgrounds, [site] * 3, site_contributions=[exact, exact], **kwargs)
    with pytest.raises(ValueError, match=r"site_contributions\[0\]: shape"):
        LinearReadout.build([model], backgrounds, [site] * 3, site_contributions=[exact[:, 1:]], **kwargs)
