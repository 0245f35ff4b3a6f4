"""The linear read-out: the analytic answer on a linear model, additive scoring against brute force, the
matrices' JSON round trip and the errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from affdist_core.marginalize.linear_readout import (
    MIN_SPLIT_SITES,
    LinearReadout,
    additive_scores,
    best_windows,
    carries_core,
    constant_bases,
    linear_matrix,
    site_matrix,
    split_sites,
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


CORE_SITE, WEAK_SITE = "GGCACGCC", "GGCATGCC"  # the library's core CACG at positions 2–5; one base off it


def test_constant_bases_are_the_librarys_core_and_carries_core_reads_both_strands():
    rng = np.random.default_rng(19)
    library = ["".join(rng.choice(list("ACGT"), 2)) + "CACG" + "".join(rng.choice(list("ACGT"), 2))
               for _ in range(30)]
    positions, codes = constant_bases(library)
    np.testing.assert_array_equal(positions, [2, 3, 4, 5])
    assert "".join("ACGT"[c] for c in codes) == "CACG"
    for degenerate in (library[:1], [library[0]] * 5, ["AAAA", "CCCC"]):
        assert constant_bases(degenerate)[0].size == 0  # one row, nothing varies, nothing shared
    windows = one_hot_batch([CORE_SITE, reverse_complement(CORE_SITE), WEAK_SITE, "AAAAAAAA"])
    np.testing.assert_array_equal(carries_core(windows, positions, codes), [True, True, False, False])


def _planted_sites(rng, n_core: int, n_weak: int, length: int = 40):
    """Windows of A/T with CORE_SITE or WEAK_SITE planted at a random place and strand; hypothetical
    contributions pattern A at core sites, B at weak ones (oriented with the site), noise elsewhere."""
    pattern_core, pattern_weak = rng.normal(0, 1, (K, 4)), rng.normal(0, 1, (K, 4))
    seqs, hyp = [], rng.normal(0, 0.1, (n_core + n_weak, length, 4))
    for i in range(n_core + n_weak):
        site, pattern = (CORE_SITE, pattern_core) if i < n_core else (WEAK_SITE, pattern_weak)
        background = "".join(rng.choice(list("AT"), length))
        start, rc = int(rng.integers(0, length - K + 1)), bool(rng.integers(0, 2))
        seqs.append(background[:start] + (reverse_complement(site) if rc else site) + background[start + K:])
        hyp[i, start:start + K] = pattern[::-1, ::-1] if rc else pattern
    return one_hot_batch(seqs), hyp, pattern_core, pattern_weak


def test_split_sites_reads_core_and_weakened_sites_apart():
    """Each kind of site gets its own pattern back; the all-sites matrix is their mixture; with too few sites
    of one kind there is no split."""
    rng = np.random.default_rng(23)
    registration = np.eye(4)[["ACGT".index(c) for c in CORE_SITE]] * 3.0
    core_pos, core_codes = np.array([2, 3, 4, 5]), np.array([1, 0, 1, 2])
    onehot, hyp, pattern_core, pattern_weak = _planted_sites(rng, 30, 30)
    everything, parts, counts = split_sites(onehot, hyp, registration, core_pos, core_codes)
    assert counts == {"core": 30, "weak": 30}
    np.testing.assert_allclose(parts["core"], symmetrise(pattern_core), atol=1e-12)
    np.testing.assert_allclose(parts["weak"], symmetrise(pattern_weak), atol=1e-12)
    np.testing.assert_allclose(everything, (parts["core"] + parts["weak"]) / 2, atol=1e-12)
    np.testing.assert_allclose(everything, site_matrix(onehot, hyp, registration), atol=1e-12)
    onehot, hyp, *_ = _planted_sites(rng, 30, MIN_SPLIT_SITES - 1)
    _, parts, counts = split_sites(onehot, hyp, registration, core_pos, core_codes)
    assert parts == {} and counts == {"core": 30, "weak": MIN_SPLIT_SITES - 1}
    assert split_sites(onehot, hyp, registration, np.zeros(0, int), np.zeros(0, int))[1] == {}


def test_build_keeps_the_split_scores_it_and_round_trips():
    """A library with a constant core and enough sites of both kinds: the readout holds core and weak
    matrices per member, scores with them as additive matrices, survives JSON, and refuses a subset it lacks."""
    rng = np.random.default_rng(29)
    weights = rng.normal(0, 0.1, (L, 4))
    start = (L - K) // 2
    weights[start:start + K] += one_hot_batch([CORE_SITE])[0] * 3  # its query matrix registers CORE_SITE
    model = _linear_model(weights)
    onehot, hyp, *_ = _planted_sites(rng, 30, 30, length=L)
    library = ["".join(rng.choice(list("ACGT"), 2)) + "CACG" + "".join(rng.choice(list("ACGT"), 2))
               for _ in range(12)]
    backgrounds = one_hot_batch(_random_seqs(rng, 2, L))
    readout = LinearReadout.build([model, model], backgrounds, library, site_windows=onehot,
                                  site_contributions=[hyp, hyp], n_queries=4, n_backgrounds=1, n_shuffles=3)
    assert readout.has_split([K]) and not readout.has_split([K, K + 1])
    core_entry = readout.provenance["core"][str(K)]
    assert core_entry["bases"] == "CACG" and core_entry["positions"] == [2, 3, 4, 5] and core_entry["split"]
    assert len(readout.subsets["core"][K]) == 2
    for subset in ("core", "weak"):
        matrix = np.mean(readout.subsets[subset][K], axis=0)
        np.testing.assert_allclose(readout.score(library, subset=subset), additive_scores(matrix, library))
        np.testing.assert_allclose(readout.score(library, member=1, subset=subset),
                                   additive_scores(readout.subsets[subset][K][1], library))
    again = LinearReadout.from_dict(readout.to_dict())
    np.testing.assert_allclose(again.score(library, subset="weak"), readout.score(library, subset="weak"), atol=1e-6)
    with pytest.raises(ValueError, match="subset"):
        readout.score(library, subset="strong")
    # a library with nothing in common: no split, and asking for it names why
    plain = LinearReadout.build([model], backgrounds, _random_seqs(rng, 6, K), site_windows=onehot,
                                site_contributions=[hyp], n_queries=4, n_backgrounds=1, n_shuffles=3)
    assert plain.subsets == {} and not plain.has_split([K])
    with pytest.raises(ValueError, match="no 'core'-site matrix"):
        plain.score(library, subset="core")
    with pytest.raises(ValueError, match="unknown site subset"):
        LinearReadout.from_dict({**readout.to_dict(), "subsets": {"strong": {}}})
