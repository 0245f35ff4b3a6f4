"""Synthetic flank landscapes (affdist_core.io.landscapes): the JASPAR alignment, the flank enumeration, the
additive + pairwise mix against brute force, and the built Cbf1-like landscape's properties (every flank once,
reverse-complement symmetric, mean 0, sd 0.125 RT, about 30 % of its variance beyond any additive model)."""

from __future__ import annotations

import numpy as np
import pytest

from affdist_core.io.jaspar import fetch_jaspar
from affdist_core.io.landscapes import LANDSCAPES, align_matrix, flank_codes, landscape_values
from affdist_core.io.library import builtin_libraries, resolve_library


def test_the_cbf1_matrix_aligns_on_its_ebox():
    probabilities = fetch_jaspar("MA0281.2").probabilities()
    start = align_matrix(probabilities, "CACGTG")
    assert start == 4 and fetch_jaspar("MA0281.2").consensus()[start:start + 6] == "CACGTG"


def test_flank_codes_enumerate_every_flank_in_order():
    codes = flank_codes(2)
    assert codes.shape == (256, 4) and len({tuple(r) for r in codes}) == 256
    assert codes[1].tolist() == [0, 0, 0, 1] and codes[4].tolist() == [0, 0, 1, 0] and codes[-1].tolist() == [3] * 4


def test_values_mix_standardised_additive_and_pairwise_parts():
    rng = np.random.default_rng(0)
    codes = flank_codes(2)
    weights, coupling = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    additive = np.array([sum(weights[k, row[k]] for k in range(4)) for row in codes])
    pairwise = np.array([coupling[row[0], row[1]] for row in codes])
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    for share in (0.0, 0.3, 1.0):
        values = landscape_values(codes, weights, {(0, 1): coupling}, share)
        np.testing.assert_allclose(values, np.sqrt(1 - share) * z(additive) + np.sqrt(share) * z(pairwise),
                                   atol=1e-12)


@pytest.fixture(scope="module")
def cbf1():
    return resolve_library("cbf1_pairwise")


def test_the_cbf1_landscape(cbf1):
    frame = cbf1.frame
    assert "cbf1_pairwise" in builtin_libraries() and len(frame) == 4**10 and frame["sequence"].is_unique
    assert frame["sequence"].str.slice(5, 11).eq("CACGTG").all() and (frame["sequence"].str.len() == 16).all()
    assert (frame["sequence"].str.slice(0, 5) + frame["sequence"].str.slice(11)).tolist() == frame["id"].tolist()
    assert abs(frame["value"].mean()) < 1e-9 and frame["value"].std(ddof=0) == pytest.approx(0.125)
    assert "not a measurement" in cbf1.source and cbf1.units == "RT"
    values = dict(zip(frame["sequence"], frame["value"]))
    complement = str.maketrans("ACGT", "TGCA")
    sample = frame["sequence"].sample(2000, random_state=0)
    assert all(values[s] == pytest.approx(values[s[::-1].translate(complement)]) for s in sample)  # homodimer


def test_the_cbf1_landscape_is_not_additive(cbf1):
    """An additive model of the 10 flank bases (one-hot least squares) explains about 1 − pairwise_share of
    the variance; a position weight matrix cannot do better than that."""
    frame = cbf1.frame.sample(100_000, random_state=1)
    codes = np.array([[ "ACGT".index(b) for b in flank] for flank in frame["id"]])
    design = np.concatenate([np.eye(4)[codes[:, k]] for k in range(10)] + [np.ones((len(codes), 1))], axis=1)
    fitted = design @ np.linalg.lstsq(design, frame["value"].to_numpy(), rcond=None)[0]
    r2 = 1 - np.var(frame["value"].to_numpy() - fitted) / np.var(frame["value"].to_numpy())
    share = LANDSCAPES["cbf1_pairwise"].pairwise_share
    assert 1 - share - 0.15 < r2 < 1 - share + 0.1, r2


def test_the_simulator_takes_a_landscape_as_its_tf(tmp_path):
    from affdist_core.simulate.config import config_library, resolve_config

    config = resolve_config({"tf": "Cbf1", "library": "cbf1_pairwise", "jaspar_id": "MA0281.2"}, preset="pho4-yeast")
    assert config_library(config).name == "cbf1_pairwise"


def test_pure_interactions_have_no_main_effects():
    from affdist_core.io.landscapes import pure_interaction

    table = pure_interaction(np.random.default_rng(2).normal(size=(4, 4)))
    np.testing.assert_allclose(table.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(table.mean(axis=1), 0, atol=1e-12)


def test_mirrored_parts_are_symmetric_before_mixing():
    rng = np.random.default_rng(3)
    codes = flank_codes(2)
    mirror = ((3 - codes[:, ::-1]).astype(np.int64) * (4 ** np.arange(3, -1, -1))).sum(axis=1)
    values = landscape_values(codes, rng.normal(size=(4, 4)), {(0, 1): rng.normal(size=(4, 4))}, 0.5, mirror)
    np.testing.assert_allclose(values, values[mirror], atol=1e-12)
