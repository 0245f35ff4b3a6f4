"""The TF energy model: core penalties, flank lookup, both strands, incomplete libraries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from affdist_core.simulate.energy import build_energy_model, core_weights_from_matrix, locate_core
from affdist_core.io.library import load_builtin_library
from affdist_core.seq.alphabet import encode, reverse_complement


@pytest.fixture(scope="module")
def pho4_model():
    from affdist_core.io.jaspar import fetch_jaspar

    library = load_builtin_library("betseq_pho4")
    model = build_energy_model(
        library.frame["sequence"].to_numpy(), library.frame["value"].to_numpy(), "CACGTG",
        flank_kcal_per_unit=3.4, core_mismatch_kcal=4.0, core_counts=fetch_jaspar("MA0357.1").counts,
    )
    return model, library.frame.set_index("sequence")["value"]


def test_flank_term_is_the_library_scaled_and_centred(pho4_model):
    model, values = pho4_model
    assert model.flank_source == "complete table"
    assert (model.left, model.right, model.palindromic) == (5, 5, True)
    for seq in ["GGTCGCACGTGCGCCA", "AAAAACACGTGAAAAA", "TTTTTCACGTGTTTTT"]:
        expected = 3.4 * (values[seq] - values.mean())
        assert model.energy_of(seq) == pytest.approx(expected, abs=1e-5)
    assert model.energy_of("AAAAACACGTGAAAAA") > model.energy_of("GGTCGCACGTGCGCCA")  # A/T flanks weaker


def test_core_penalties_mean_single_substitution_is_the_configured_cost(pho4_model):
    model, _ = pho4_model
    weights = model.core_weights_kcal
    canonical = encode("CACGTG")
    assert np.all(weights[np.arange(6), canonical] == 0)
    assert weights.sum() / 18 == pytest.approx(4.0, rel=1e-5)
    np.testing.assert_allclose(weights, weights[::-1, ::-1], atol=1e-6)  # palindromic core → symmetric
    site = "AAAAACACGTGAAAAA"
    mutated = site[:5] + "A" + site[6:]  # C→A at core position 0
    assert model.energy_of(mutated) - model.energy_of(site) == pytest.approx(weights[0, 0], abs=1e-5)


def test_uniform_core_penalty_without_matrix():
    weights = core_weights_from_matrix("CAGCTG", None, 3.0)
    assert weights.sum() == pytest.approx(3.0 * 18)
    assert set(np.unique(weights)) == {0.0, 3.0}


def test_strand_energies_read_the_reverse_complement(pho4_model):
    model, _ = pho4_model
    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), 200)) + "TTGACCACGTGAAGCT" + "".join(rng.choice(list("ACGT"), 50))
    plus, minus = model.strand_energies(encode(seq), max_core_kcal=np.inf)
    for start in (0, 37, 200, len(seq) - 16):
        window = seq[start : start + 16]
        assert plus[start] == pytest.approx(model.energy_of(window), abs=1e-5)
        assert minus[start] == pytest.approx(model.energy_of(reverse_complement(window)), abs=1e-5)


def test_max_core_cutoff_and_n_give_unbound_windows(pho4_model):
    model, _ = pho4_model
    codes = encode("AAAAACACGTGAAAAA" + "AAAAAGGGGGGAAAAA" + "AAAAACANGTGAAAAA")
    energies = model.window_energies(codes, max_core_kcal=10.0)
    assert np.isfinite(energies[0])
    assert np.isinf(energies[16]) and np.isinf(energies[32])


def test_incomplete_library_is_filled_by_an_exact_additive_model():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3, 4))  # flank 1 left + 2 right around core "GATA"
    flanks = ["".join(p) for p in itertools.product("ACGT", repeat=3)]
    sequences = np.array([f[0] + "GATA" + f[1:] for f in flanks], dtype=object)
    values = np.array([sum(weights[j, "ACGT".index(b)] for j, b in enumerate(f)) for f in flanks])
    keep = rng.random(len(flanks)) < 0.6
    model = build_energy_model(sequences[keep], values[keep], "GATA", flank_kcal_per_unit=2.0,
                               core_mismatch_kcal=4.0)
    assert model.flank_source.startswith("table with additive fill")
    assert not model.palindromic
    energies = np.array([model.energy_of(s) for s in sequences])
    truth = 2.0 * (values - values.mean())
    np.testing.assert_allclose(energies, truth, atol=1e-4)


def test_locate_core_errors():
    with pytest.raises(ValueError, match="no offset at which every sequence carries the core"):
        locate_core(np.array(["AACACGTGAA", "AACAGGTGAA"], dtype=object), "CACGTG")
    with pytest.raises(ValueError, match="equal-length"):
        locate_core(np.array(["AACACGTGAA", "ACACGTGAA"], dtype=object), "CACGTG")
