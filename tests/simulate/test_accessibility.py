"""The simulator's accessibility model: regions from genes, sequence-encoded nucleosome depletion, noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from affdist_core.simulate.accessibility import (
    INTERGENIC,
    ORF,
    PROMOTER,
    accessibility_track,
    gc_openness_score,
    nucleosome_disfavouring_score,
    region_classes,
    sequence_score,
)


def test_region_classes_follow_gene_strand():
    genes = pd.DataFrame({"start": [100, 600], "end": [300, 800], "strand": ["+", "-"]})
    labels = region_classes(1000, genes, promoter_length=50)
    assert labels[60] == PROMOTER and labels[49] == INTERGENIC  # upstream of the + gene
    assert labels[820] == PROMOTER and labels[860] == INTERGENIC  # upstream of the − gene is to its right
    assert labels[150] == ORF and labels[700] == ORF


def test_poly_da_dt_tracts_score_high():
    rng = np.random.default_rng(0)
    codes = rng.choice(4, 3000, p=[0.2, 0.3, 0.3, 0.2]).astype(np.uint8)
    codes[1400:1600] = np.tile([0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3], 20)[:200]  # A6T6 repeats
    score = nucleosome_disfavouring_score(codes, 150)
    assert score[1500] > 3 and abs(score.mean()) < 1e-3
    assert score[1500] == score.max()


def test_track_levels_noise_and_determinism():
    labels = np.repeat(np.array([INTERGENIC, PROMOTER, ORF], dtype=np.uint8), 30_000)
    baseline = {"intergenic": 0.1, "promoter": 0.3, "orf": 0.01}
    zero = np.zeros(len(labels), dtype=np.float32)
    flat = accessibility_track(labels, zero, baseline, 1.0, 150, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(flat[[0, 30_000, 60_000]], [0.1, 0.3, 0.01], rtol=1e-5)
    one = np.ones(len(labels), dtype=np.float32)
    shifted = accessibility_track(labels, one, baseline, 1.0, 150, 0.0, np.random.default_rng(0))
    assert shifted[0] == pytest.approx(1 / (1 + np.exp(-(np.log(0.1 / 0.9) + 1))), rel=1e-5)
    noisy = accessibility_track(labels, zero, baseline, 1.0, 150, 0.9, np.random.default_rng(1))
    again = accessibility_track(labels, zero, baseline, 1.0, 150, 0.9, np.random.default_rng(1))
    np.testing.assert_array_equal(noisy, again)
    assert len(np.unique(noisy[:150])) == 1  # one draw per nucleosome-sized bin
    assert noisy[30_000:60_000].mean() > noisy[:30_000].mean() > noisy[60_000:].mean()


# ---------------------------------------------------------------------------------------------------------
# worlds: the sequence mechanism of accessibility and the tract rule


def _window_fraction(mask: np.ndarray, window: int) -> np.ndarray:
    """Fraction of ``mask`` in the ``window`` bp around each base (brute force over a cumulative sum)."""
    csum = np.r_[0, np.cumsum(mask, dtype=np.float64)]
    idx = np.arange(len(mask))
    lo, hi = np.clip(idx - window // 2, 0, len(mask)), np.clip(idx - window // 2 + window, 0, len(mask))
    return (csum[hi] - csum[lo]) / (hi - lo)


@pytest.fixture(scope="module")
def chr_codes():
    """A yeast-like sequence: A/T-rich stretches and GC-rich stretches in 2-kb blocks, 300 kb."""
    rng = np.random.default_rng(5)
    blocks = [rng.choice(4, 2000, p=[0.35, 0.15, 0.15, 0.35] if k % 2 else [0.2, 0.3, 0.3, 0.2])
              for k in range(150)]
    return np.concatenate(blocks).astype(np.uint8)


@pytest.mark.parametrize(("mechanism", "sign"), [("at_tracts", 1), ("gc", -1), ("none", 0)])
def test_mechanism_decides_how_accessibility_follows_at_content(chr_codes, mechanism, sign):
    """Same regions and noise; only the mechanism differs: A/T opens (at_tracts), closes (gc) or does nothing
    (none: accessibility uncorrelated with A/T content)."""
    labels = np.full(len(chr_codes), INTERGENIC, dtype=np.uint8)
    score = sequence_score(chr_codes, mechanism, 150)
    track = accessibility_track(labels, score, {"intergenic": 0.1, "promoter": 0.3, "orf": 0.01}, 1.0, 150, 0.9,
                                np.random.default_rng(0))
    at = _window_fraction(np.isin(chr_codes, (0, 3)), 150)
    r = np.corrcoef(np.log(track / (1 - track)), at)[0, 1]
    if sign == 0:
        assert abs(r) < 0.1 and not score.any()  # 2,000 noise bins: sd of r about 0.02
    else:
        assert sign * r > 0.5, r


def test_tract_rule_and_weight(chr_codes):
    at = np.isin(chr_codes, (0, 3)).astype(np.float64)
    only_at = nucleosome_disfavouring_score(chr_codes, 150, tract_weight=0.0)
    expected = _window_fraction(at, 150)
    np.testing.assert_allclose(only_at, (expected - expected.mean()) / expected.std(), atol=1e-4)
    codes = np.tile(np.array([1, 2], dtype=np.uint8), 1500)  # GCGC…: no A/T at all
    codes[1400:1406] = 0  # one A6 tract
    five = nucleosome_disfavouring_score(codes, 150, tract_min_length=5, tract_weight=1.0)
    seven = nucleosome_disfavouring_score(codes, 150, tract_min_length=7, tract_weight=1.0)
    assert five[1403] > 3 and not seven.any()  # an A6 run is a tract under the rule ≥ 5, not under ≥ 7
    with pytest.raises(ValueError, match="mechanism: expected one of at_tracts, gc, none"):
        sequence_score(codes, "cpg", 150)


def test_gc_openness_counts_cpg_dinucleotides():
    codes = np.zeros(4000, dtype=np.uint8)  # poly-A
    codes[2000:2200] = np.tile([1, 2], 100)  # CGCG…: GC and CpG-rich
    score = gc_openness_score(codes, 150)
    assert score[2100] == score.max() > 3 and abs(score.mean()) < 1e-3
