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
    nucleosome_disfavouring_score,
    region_classes,
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
