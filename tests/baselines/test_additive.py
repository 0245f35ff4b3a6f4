"""The additive in-vivo baseline: layout, sites on both strands, and recovery of a planted energy matrix."""

import numpy as np
import pytest

from affdist_core.baselines import additive
from affdist_core.baselines.pwm_scoring import score_table
from affdist_core.seq.alphabet import encode


def test_layout_finds_the_fixed_core_and_its_symmetry():
    layout = additive.library_layout(["AACACGTGTT", "GTCACGTGCA", "TGCACGTGAC"])
    assert layout.fixed.tolist() == [False, False, True, True, True, True, True, True, False, False]
    assert layout.palindromic
    assert not additive.library_layout(["AAGATC", "TTGATC"]).palindromic
    with pytest.raises(ValueError, match="one length"):
        additive.library_layout(["ACGT", "ACG"])
    with pytest.raises(ValueError, match="fixed positions"):
        additive.library_layout(["ACGT", "TGCA"])


def test_sites_are_found_on_both_strands():
    layout = additive.library_layout(["AAGAAC", "TTGAAC"])  # core GAAC, reverse complement GTTC
    chrom = encode("CCCCAAGAACCCCCGTTCTTCCCC").astype(np.int64)
    sites = additive.find_sites(chrom, layout)
    # + at 4 (AAGAAC); − : GTTCTT at 14 is the reverse complement of AAGAAC
    assert sorted(sites) == [(4, 1), (14, -1)]
    windows = np.stack([chrom[4:10], chrom[14:20]])
    features = additive._site_features(windows, np.array([1, -1]), layout).reshape(2, 2, 4)
    assert features[0].argmax(axis=1).tolist() == [0, 0] and features[1].argmax(axis=1).tolist() == [0, 0]


def test_fit_recovers_a_planted_energy_matrix_and_scores_by_it():
    rng = np.random.default_rng(0)
    library = ["".join(rng.choice(list("ACGT"), 3)) + "CACGTG" + "".join(rng.choice(list("ACGT"), 3))
               for _ in range(50)]
    layout = additive.library_layout(library)
    true = np.zeros((12, 4))
    true[~layout.fixed] = rng.normal(0, 0.5, size=(6, 4))
    true = 0.5 * (true + true[::-1, ::-1])  # strand-symmetric, like the fit of a palindromic core's sites
    true -= true.mean(axis=1, keepdims=True)
    n = 3000
    codes = rng.integers(0, 4, size=(n, 12))
    codes[:, 3:9] = encode("CACGTG")
    features = additive._site_features(codes, np.ones(n, int), layout)
    energy = true[np.arange(12), codes].sum(axis=1)
    control = rng.normal(3, 0.5, n)
    response = 2.0 + energy + 0.8 * (control - 3) + rng.normal(0, 0.3, n)
    fit = additive.fit_additive(features, response, control, layout)
    assert np.corrcoef(fit.energy[~layout.fixed].ravel(), true[~layout.fixed].ravel())[0, 1] > 0.97
    assert abs(fit.control_coef - 0.8) < 0.05 and 0.5 < fit.r2_loo < 1
    motif = additive._as_motif(fit, layout)
    scores = score_table(library, [motif], uses=("pwm",), reduces=("max",))
    planted = [true[np.arange(12), encode(s)].sum() for s in library]
    assert np.corrcoef(scores.iloc[:, 0], planted)[0, 1] > 0.95
    with pytest.raises(ValueError, match="at least"):
        additive.fit_additive(features[:5], response[:5], None, layout)
