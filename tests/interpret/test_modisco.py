"""Tests for the shared Motif record (seq/motif.py) and TF-MoDISco motif discovery (interpret/modisco.py)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from affdist_core.interpret.modisco import discover_motifs, trim_bounds
from affdist_core.seq.motif import Motif, load_motifs, motifs_to_frame, save_motifs
from affdist_core.seq.alphabet import ALPHABET, one_hot, reverse_complement

MOTIF_A = "GCACGTGC"  # Pho4-like E-box with flanks (palindromic)
MOTIF_B = "TTGATAAGGA"  # a second, non-palindromic motif, as real data has more than one
N_SEQ, LENGTH, WINDOW = 400, 200, 180


def planted_data(seed: int = 0):
    """Random sequences with MOTIF_A planted in ~80% and MOTIF_B in ~50% of them (random strand).

    Hypothetical scores are N(0, 0.02) noise everywhere; at a planted position the planted base scores 1 and
    the other three bases 0, as a model that has learnt the motif would give.
    Returns onehot (n, L, 4) float32, hypothetical (n, L, 4) float32, and the planted (seq, start) of MOTIF_A.
    """
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (N_SEQ, LENGTH))
    hyp = rng.normal(0.0, 0.02, (N_SEQ, LENGTH, 4))
    plants_a = []

    def plant(i: int, start: int, motif: str) -> None:
        if rng.random() < 0.5:
            motif = reverse_complement(motif)
        for j, base in enumerate(motif):
            k = ALPHABET.index(base)
            codes[i, start + j] = k
            hyp[i, start + j, :] = 0.0
            hyp[i, start + j, k] = 1.0

    for i in range(N_SEQ):
        if rng.random() < 0.8:
            start = int(rng.integers(20, LENGTH - 20 - len(MOTIF_A)))
            plant(i, start, MOTIF_A)
            plants_a.append((i, start))
        if rng.random() < 0.5:
            start = int(rng.integers(20, LENGTH - 20 - len(MOTIF_B)))
            if plants_a and plants_a[-1][0] == i and abs(start - plants_a[-1][1]) < 12:
                continue  # keep the two motifs apart
            plant(i, start, MOTIF_B)
    onehot = np.eye(4, dtype=np.float32)[codes]
    return onehot, hyp.astype(np.float32), plants_a


@pytest.fixture(scope="module")
def planted():
    """discover_motifs on the whole length (window=None)."""
    onehot, hyp, plants = planted_data()
    t0 = time.perf_counter()
    motifs = discover_motifs(onehot, hyp, random_state=0)
    print(f"\nplanted-motif discovery (400 × 200): {time.perf_counter() - t0:.1f} s, {len(motifs)} motifs")
    return onehot, hyp, plants, motifs


@pytest.fixture(scope="module")
def planted_window():
    """discover_motifs on the central WINDOW positions, examples permuted by seed 1."""
    onehot, hyp, plants = planted_data()
    return onehot, hyp, plants, discover_motifs(onehot, hyp, window=WINDOW, random_state=1)


def covered_plants(motif: Motif, plants: list[tuple[int, int]]) -> tuple[int, int]:
    """(seqlets of ``motif`` containing a planted MOTIF_A, distinct plants covered), from provenance."""
    start_of = dict(plants)
    s = motif.provenance["seqlets"]
    hits = {i for i, a, b in zip(s["example_idx"], s["start"], s["end"])
            if i in start_of and a <= start_of[i] and start_of[i] + len(MOTIF_A) <= b}
    n_hits = sum(1 for i, a, b in zip(s["example_idx"], s["start"], s["end"])
                 if i in start_of and a <= start_of[i] and start_of[i] + len(MOTIF_A) <= b)
    return n_hits, len(hits)


# ---------------------------------------------------------------------------------------------- discovery


def test_planted_motif_is_top_motif(planted):
    _, _, plants, motifs = planted
    assert motifs, "no motif found"
    top = motifs[0]
    assert top.motif_id == "modisco_pos_0" and top.method == "modisco"
    assert "CACGTG" in top.consensus or "CACGTG" in reverse_complement(top.consensus)
    n_hits, n_plants_found = covered_plants(top, plants)
    print(f"top motif {top.consensus}: {top.n_sites} seqlets, {n_plants_found} of {len(plants)} plants")
    assert n_hits >= 0.95 * top.n_sites  # its seqlets are the plants ...
    # ... and most plants are among them (modisco-lite drops some seqlets while aligning and splitting
    # patterns; 50-70% recovery, with no false sites, is typical on this synthetic set)
    assert n_plants_found >= 0.6 * len(plants)
    assert top.n_sites >= 0.6 * len(plants)
    # both strands of a palindromic plant can be separate seqlets: n_distinct_sites counts each plant once
    assert top.provenance["n_distinct_sites"] == n_plants_found
    assert top.score > 0
    # hCWM: the planted base scores ~1, the others ~0, at the core
    core = top.consensus.find("CACGTG")
    if core < 0:
        top = top.reverse_complement()
        core = top.consensus.find("CACGTG")
    for j, base in enumerate("CACGTG"):
        assert top.hcwm[core + j, ALPHABET.index(base)] > 0.8
        assert top.pwm[core + j, ALPHABET.index(base)] > 0.9


def test_second_motif_and_ordering(planted):
    _, _, _, motifs = planted
    found = [m for m in motifs if "GATAAG" in m.consensus or "CTTATC" in m.consensus]
    assert found, [m.consensus for m in motifs]
    pos = [m for m in motifs if m.provenance["metacluster"] == "pos"]
    assert [m.motif_id for m in pos] == [f"modisco_pos_{i}" for i in range(len(pos))]
    assert [m.n_sites for m in pos] == sorted((m.n_sites for m in pos), reverse=True)
    assert all(m.motif_id.startswith("modisco_neg_") for m in motifs[len(pos):])


def test_trimming_and_provenance(planted):
    _, _, _, motifs = planted
    for m in motifs:
        prov = m.provenance
        assert m.width <= 30
        assert prov["trim_end"] - prov["trim_start"] == m.width <= prov["untrimmed_width"]
        assert prov["modiscolite_version"] == "3.0.0"
        assert prov["parameters"]["window"] is None and prov["parameters"]["random_state"] == 0
        assert prov["window_offset"] == 0 and prov["n_sequences"] == N_SEQ
        assert len(prov["seqlets"]["example_idx"]) == m.n_sites
    top = motifs[0]
    # an 8-bp motif with strong scores: trimmed to the motif plus 4 pad positions per side
    assert top.width == len(MOTIF_A) + 2 * 4


def test_window_finds_the_motif(planted_window):
    _, _, plants, motifs = planted_window
    top = motifs[0]
    assert "CACGTG" in top.consensus or "CACGTG" in reverse_complement(top.consensus)
    n_hits, n_plants_found = covered_plants(top, plants)
    assert n_hits >= 0.95 * top.n_sites
    assert n_plants_found >= 0.5 * len(plants)
    for m in motifs:
        assert m.provenance["window_offset"] == (LENGTH - WINDOW) // 2
        assert m.provenance["parameters"]["window"] == WINDOW


@pytest.mark.parametrize("fixture", ["planted", "planted_window"])
def test_seqlet_coordinates_rebuild_the_matrices(fixture, request):
    """Provenance seqlets (caller's example indices, full-length coordinates) give back PWM, CWM and hCWM,
    through the example permutation and the window offset."""
    onehot, hyp, _, motifs = request.getfixturevalue(fixture)
    lo, hi = ((LENGTH - WINDOW) // 2, (LENGTH + WINDOW) // 2) if fixture == "planted_window" else (0, LENGTH)
    assert motifs
    for m in motifs:
        s = m.provenance["seqlets"]
        a, b = m.provenance["trim_start"], m.provenance["trim_end"]
        seqs, contribs, hyps = [], [], []
        for i, start, end, rc in zip(s["example_idx"], s["start"], s["end"], s["is_revcomp"]):
            assert lo <= start < end <= hi
            x, h = onehot[i, start:end].astype(np.float64), hyp[i, start:end].astype(np.float64)
            if rc:
                x, h = x[::-1, ::-1], h[::-1, ::-1]
            seqs.append(x[a:b])
            hyps.append(h[a:b])
            contribs.append((x * h)[a:b])
        np.testing.assert_allclose(np.mean(seqs, axis=0), m.pwm, atol=1e-9)
        np.testing.assert_allclose(np.mean(contribs, axis=0), m.cwm, atol=1e-6)
        np.testing.assert_allclose(np.mean(hyps, axis=0), m.hcwm, atol=1e-6)


def test_same_seed_same_motifs(planted_window):
    onehot, hyp, _, motifs = planted_window
    again = discover_motifs(onehot, hyp, window=WINDOW, random_state=1)
    assert again == motifs


def test_pure_noise_does_not_crash():
    rng = np.random.default_rng(3)
    onehot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (300, 150))]
    hyp = rng.normal(0.0, 0.05, onehot.shape)
    motifs = discover_motifs(onehot, hyp)
    assert isinstance(motifs, list)
    assert all(isinstance(m, Motif) for m in motifs)
    assert all(m.n_sites < 150 for m in motifs)


def test_constant_scores_return_empty_list():
    onehot = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (20, 80))]
    assert discover_motifs(onehot, np.zeros_like(onehot)) == []


def test_one_signed_scores_raise_clear_error():
    rng = np.random.default_rng(0)
    onehot = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (20, 80))]
    with pytest.raises(ValueError, match="both signs"):
        discover_motifs(onehot, rng.random(onehot.shape))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda x, h: (x[0], h[0]), "onehot: expected a one-hot array of shape"),
        (lambda x, h: (x, h[:, :-1]), "hypothetical: expected the shape"),
        (lambda x, h: (x * 0.5, h), "onehot: every row must be one-hot"),
        (lambda x, h: (x + np.roll(x, 1, axis=2), h), "onehot: every row must be one-hot"),
        (lambda x, h: (x, np.where(h > 0, np.nan, h)), "hypothetical: all values must be finite"),
    ],
    ids=["ndim", "shape-mismatch", "half", "two-ones", "nan"],
)
def test_input_validation(make, match):
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (5, 60))]
    h = rng.normal(size=x.shape)
    with pytest.raises(ValueError, match=match):
        discover_motifs(*make(x, h))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"window": 61}, "window: must be <="),
        ({"window": 20}, "window: the 20 positions"),
        ({"target_seqlet_fdr": 1.5}, "target_seqlet_fdr"),
        ({"trim_threshold": -0.1}, "trim_threshold"),
        ({"trim_pad": -1}, "trim_pad"),
        ({"max_length": 0}, "max_length"),
        ({"sliding_window_size": 2.5}, "sliding_window_size"),
        ({"random_state": -1}, "random_state"),
    ],
)
def test_parameter_validation(kwargs, match):
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (5, 60))]
    with pytest.raises(ValueError, match=match):
        discover_motifs(x, rng.normal(size=x.shape), **kwargs)


def test_n_rows_are_accepted():
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (5, 60))]
    x[:, :3] = 0  # N
    assert isinstance(discover_motifs(x, np.zeros_like(x)), list)


# ------------------------------------------------------------------------------------------------ trimming


def cwm_with(importance: list[float]) -> np.ndarray:
    cwm = np.zeros((len(importance), 4))
    cwm[:, 0] = importance
    return cwm


def test_trim_threshold_and_pad():
    imp = [0.0] * 10 + [0.2, 1.0, 0.5, 0.31, 0.29] + [0.0] * 10
    assert trim_bounds(cwm_with(imp), threshold=0.3, pad=0) == (11, 14)
    assert trim_bounds(cwm_with(imp), threshold=0.3, pad=4) == (7, 18)
    assert trim_bounds(cwm_with(imp), threshold=0.1, pad=0) == (10, 15)
    assert trim_bounds(cwm_with(imp), threshold=0.0, pad=0, max_length=None) == (0, 25)


def test_trim_uses_absolute_values_over_bases():
    cwm = np.zeros((12, 4))
    cwm[3] = [-0.5, 0.0, 0.0, -0.5]  # |.| sums to 1
    cwm[8] = [0.0, 0.4, 0.0, 0.0]
    assert trim_bounds(cwm, threshold=0.3, pad=0) == (3, 9)
    assert trim_bounds(cwm, threshold=0.5, pad=0) == (3, 4)


def test_trim_pad_is_clipped_to_bounds():
    imp = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9]
    assert trim_bounds(cwm_with(imp), threshold=0.5, pad=4) == (0, 7)
    assert trim_bounds(cwm_with([0.0, 1.0, 0.0]), threshold=0.5, pad=10) == (0, 3)


def test_trim_cap_keeps_the_strongest_window():
    imp = [0.5] + [0.0] * 10 + [1.0, 1.0, 1.0, 0.9] + [0.0] * 10 + [0.6]
    start, end = trim_bounds(cwm_with(imp), threshold=0.3, pad=0, max_length=6)
    assert end - start == 6
    assert start <= 11 and end >= 15  # the strong block is inside the cap
    assert trim_bounds(cwm_with(imp), threshold=0.3, pad=0, max_length=None) == (0, len(imp))
    # a tie: equal blocks at both ends → the window nearest the centre (the leftmost among equals)
    start, end = trim_bounds(cwm_with([1.0] * 10), threshold=0.3, pad=0, max_length=4)
    assert (start, end) == (3, 7)


def test_trim_all_zero_and_bad_input():
    assert trim_bounds(np.zeros((5, 4)), pad=0) == (0, 5)
    with pytest.raises(ValueError, match="cwm: expected shape"):
        trim_bounds(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="threshold"):
        trim_bounds(np.zeros((5, 4)), threshold=2)
    with pytest.raises(ValueError, match="pad"):
        trim_bounds(np.zeros((5, 4)), pad=-1)


# ----------------------------------------------------------------------------------------------- the record


def make_motif(**overrides) -> Motif:
    pwm = np.array([[0.7, 0.1, 0.1, 0.1], [0.0, 1.0, 0.0, 0.0], [0.25, 0.25, 0.4, 0.1]])
    kw = dict(motif_id="m1", method="modisco", pwm=pwm, cwm=np.arange(12.0).reshape(3, 4) / 7,
              hcwm=-np.arange(12.0).reshape(3, 4) / 3, n_sites=17, score=1.5,
              provenance={"params": {"a": 1, "b": [1, 2]}, "version": "3.0.0"})
    kw.update(overrides)
    return Motif(**kw)


def test_motif_basics():
    m = make_motif()
    assert m.consensus == "ACG"
    assert m.width == 3
    assert m.pwm.dtype == np.float64 and not m.pwm.flags.writeable
    with pytest.raises(ValueError):
        m.pwm[0, 0] = 1.0
    with pytest.raises(AttributeError):
        m.n_sites = 3  # frozen


def test_reverse_complement():
    m = make_motif()
    rc = m.reverse_complement()
    assert rc.consensus == reverse_complement(m.consensus)
    assert rc.motif_id == "m1_rc"
    np.testing.assert_array_equal(rc.cwm, m.cwm[::-1, ::-1])
    assert rc.reverse_complement() == m
    assert rc != m
    no_cwm = make_motif(cwm=None, hcwm=None)
    assert no_cwm.reverse_complement().reverse_complement() == no_cwm


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"pwm": np.ones((3, 3)) / 3}, "pwm: expected shape"),
        ({"pwm": np.ones(4) / 4}, "pwm: expected shape"),
        ({"pwm": np.zeros((0, 4))}, "pwm: expected shape"),
        ({"pwm": np.full((3, 4), 0.3)}, "pwm: every row must sum to 1"),
        ({"pwm": np.array([[1.2, -0.2, 0, 0]] * 3)}, "pwm: probabilities must be >= 0"),
        ({"pwm": np.full((3, 4), np.nan)}, "pwm: all values must be finite"),
        ({"cwm": np.zeros((4, 4))}, "cwm: expected width 3"),
        ({"hcwm": np.zeros((3, 5))}, "hcwm: expected shape"),
        ({"hcwm": np.full((3, 4), np.inf)}, "hcwm: all values must be finite"),
        ({"method": "meme"}, "method: expected one of"),
        ({"motif_id": ""}, "motif_id"),
        ({"n_sites": -1}, "n_sites"),
        ({"n_sites": 2.5}, "n_sites"),
        ({"score": "high"}, "score"),
        ({"provenance": {"x": object()}}, "provenance: must be JSON"),
        ({"provenance": [1]}, "provenance: expected a dict"),
    ],
)
def test_motif_validation(overrides, match):
    with pytest.raises(ValueError, match=match):
        make_motif(**overrides)


def test_provenance_is_normalised_to_json_types():
    m = make_motif(provenance={"n": np.int64(3), "x": np.array([1.5, 2.0]), "t": (1, 2)})
    assert m.provenance == {"n": 3, "x": [1.5, 2.0], "t": [1, 2]}
    assert type(m.provenance["n"]) is int


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    raw = rng.random((7, 4))
    motifs = [
        make_motif(),
        make_motif(motif_id="m2", method="jaspar", cwm=None, hcwm=None, score=float("nan"), n_sites=0,
                   pwm=raw / raw.sum(axis=1, keepdims=True), provenance={}),
        make_motif(motif_id="m3", method="streme", score=1e-300, cwm=rng.normal(size=(3, 4)) * 1e-7,
                   provenance={"nested": {"nan": float("nan"), "list": [[1, 2], [3]], "s": "ü"}}),
    ]
    path = save_motifs(motifs, tmp_path / "sub" / "motifs.parquet")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["motifs.parquet"]  # no temporary left behind
    loaded = load_motifs(path)
    assert len(loaded) == 3
    for a, b in zip(motifs, loaded):
        assert a.motif_id == b.motif_id and a.method == b.method and a.n_sites == b.n_sites
        assert (a.score == b.score) or (math.isnan(a.score) and math.isnan(b.score))
        assert np.array_equal(a.pwm, b.pwm)  # bit-exact
        assert (a.cwm is None) == (b.cwm is None)
    assert loaded[:2] == motifs[:2]
    assert math.isnan(loaded[2].provenance["nested"]["nan"])
    assert loaded[2].provenance["nested"]["list"] == [[1, 2], [3]]
    np.testing.assert_array_equal(loaded[2].cwm, motifs[2].cwm)


def test_save_load_empty_and_errors(tmp_path):
    path = save_motifs([], tmp_path / "empty.parquet")
    assert load_motifs(path) == []
    with pytest.raises(ValueError, match="unique"):
        save_motifs([make_motif(), make_motif()], tmp_path / "dup.parquet")
    with pytest.raises(FileNotFoundError):
        load_motifs(tmp_path / "missing.parquet")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="not a motif file"):
        load_motifs(tmp_path / "other.parquet")


def test_motifs_to_frame():
    frame = motifs_to_frame([make_motif(), make_motif(motif_id="m2", cwm=None, hcwm=None)])
    assert list(frame.columns) == ["motif_id", "method", "width", "consensus", "rc_consensus", "n_sites",
                                   "score", "has_cwm"]
    assert frame["consensus"].tolist() == ["ACG", "ACG"]
    assert frame["rc_consensus"].tolist() == ["CGT", "CGT"]
    assert frame["has_cwm"].tolist() == [True, False]
    assert motifs_to_frame([]).empty


def test_one_hot_consensus_matches_sequence():
    m = Motif(motif_id="x", method="external", pwm=one_hot("CACGTG"))
    assert m.consensus == "CACGTG"
    assert m.reverse_complement().consensus == "CACGTG"
