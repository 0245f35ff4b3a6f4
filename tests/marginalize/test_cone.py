"""Tests of affdist_core.marginalize.cone: cone recomputation equals the full counts model (the oracle: every
inserted sequence evaluated whole) on random-weight BPNets of both presets and odd/even lengths, inserts of
1–40 bp at the centre, off-centre and at both ends, with and without RC averaging, with and without the
control inputs, single models and ensembles; and models it cannot prove exact fall back to full evaluation."""

from __future__ import annotations

import dataclasses
import logging

import keras
import numpy as np
import pytest

from affdist_core.marginalize.backgrounds import BackgroundSet
from affdist_core.marginalize.cone import ConeScorer, cone_plan
from affdist_core.marginalize.marginalizer import CONE_MIN_QUERIES, Marginalizer
from affdist_core.model.bpnet import build_bpnet, predict_logcounts
from affdist_core.model.params import PARAM_PRESETS, BPNetParams
from affdist_core.seq.alphabet import ONE_HOT_TABLE, decode
from affdist_core.seq.insert import centre_start

TOLERANCE = 1e-5


def _params(seq_len: int, out_len: int, n_dil: int = 3) -> BPNetParams:
    return BPNetParams(seq_len=seq_len, out_pred_len=out_len, c_task_weight=1.0, filters=8, n_dil_layers=n_dil,
                       conv1_kernel_size=7, dil_kernel_size=3, outconv_kernel_size=5, lr=0.001)


def _bpnet(params: BPNetParams, seed: int, use_control: bool = True) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = build_bpnet(params, use_control=use_control)
    dense = model.get_layer("logcounts_seq" if use_control else "logcounts")
    w, b = dense.get_weights()
    dense.set_weights([w * 20.0, b])  # scores far from zero, so a wrong cone is visible
    return model


def _backgrounds(n: int, seq_len: int, seed: int) -> np.ndarray:
    return ONE_HOT_TABLE[np.random.default_rng(seed).integers(0, 4, (n, seq_len))].astype(np.float32)


def _oracle(model: keras.Model, bg: np.ndarray, codes: np.ndarray, start: int, rc_average: bool) -> np.ndarray:
    """(Q, N) Δ log counts, every inserted sequence evaluated whole."""
    q, k = codes.shape
    x = np.repeat(bg[None], q, axis=0)
    x[:, :, start : start + k] = ONE_HOT_TABLE[codes][:, None]
    full = predict_logcounts(model, x.reshape(-1, *bg.shape[1:]), rc_average=rc_average).astype(np.float64)
    base = predict_logcounts(model, bg, rc_average=rc_average).astype(np.float64)
    return full.reshape(q, len(bg)) - base[None]


@pytest.mark.parametrize("seq_len, out_len, rc_average", [(61, 21, True), (60, 20, False), (60, 20, True)])
def test_cone_equals_full_model_for_every_length_and_position(seq_len, out_len, rc_average):
    """Odd and even input lengths (odd and even ``seq_len - k``, so RC inserts land one base off too)."""
    model = _bpnet(_params(seq_len, out_len), seed=seq_len)
    plan, reason = cone_plan(model)
    assert plan is not None, reason
    bg = _backgrounds(5, seq_len, seed=1)
    scorer = ConeScorer(plan, bg, rc_average=rc_average, batch_rows=7)  # batches that split queries
    rng = np.random.default_rng(2)
    largest = 0.0
    for k in (1, 16, 17, 40):
        for start in sorted({0, (seq_len - k) // 2, 5, seq_len - k}):
            codes = rng.integers(0, 4, (4, k), dtype=np.uint8)
            want = _oracle(model, bg, codes, start, rc_average)
            got = scorer.deltas(codes, start)
            largest = max(largest, float(np.abs(want).max()))
            np.testing.assert_allclose(got, want, atol=TOLERANCE, err_msg=f"k={k} start={start}")
    assert largest > 0.05  # the inserts do change the score, so a wrong cone would be visible


def test_cone_on_model_without_control_and_whole_sequence_insert():
    params = _params(45, 21, n_dil=2)
    model = _bpnet(params, seed=4, use_control=False)
    plan, reason = cone_plan(model)
    assert plan is not None, reason
    bg = _backgrounds(3, 45, seed=3)
    codes = np.random.default_rng(5).integers(0, 4, (2, 45), dtype=np.uint8)
    np.testing.assert_allclose(ConeScorer(plan, bg).deltas(codes, 0), _oracle(model, bg, codes, 0, True),
                               atol=TOLERANCE)


@pytest.mark.parametrize("preset", ["yeast-compact", "seed-max"])
def test_cone_on_the_shipped_presets(preset):
    params = PARAM_PRESETS[preset]
    model = _bpnet(params, seed=7)
    plan, reason = cone_plan(model)
    assert plan is not None, reason
    bg = _backgrounds(2, params.seq_len, seed=8)
    scorer = ConeScorer(plan, bg)
    rng = np.random.default_rng(9)
    for k, start in ((16, (params.seq_len - 16) // 2), (40, 100))[: 2 if preset == "yeast-compact" else 1]:
        codes = rng.integers(0, 4, (2, k), dtype=np.uint8)
        np.testing.assert_allclose(scorer.deltas(codes, start), _oracle(model, bg, codes, start, True),
                                   atol=TOLERANCE)


def test_marginalizer_cone_and_full_engines_agree_for_an_ensemble():
    params = _params(61, 21)
    models = [_bpnet(params, seed=s) for s in (11, 12)]
    bg = BackgroundSet(_backgrounds(6, 61, seed=13))
    rng = np.random.default_rng(14)
    queries = [decode(rng.integers(0, 4, k)) for k in (16, 9, 40, 1) * CONE_MIN_QUERIES]
    cone = Marginalizer(models, bg, engine="cone")
    full = Marginalizer(models, bg, engine="full")
    assert (cone.engine, full.engine) == ("cone", "full")
    a = cone.score(queries, keep_deltas=True, progress=False)
    b = full.score(queries, keep_deltas=True, progress=False)
    np.testing.assert_allclose(a.deltas, b.deltas, atol=TOLERANCE)
    np.testing.assert_allclose(a.member_means, b.member_means, atol=TOLERANCE)
    np.testing.assert_allclose(a.sd, b.sd, atol=TOLERANCE)
    assert cone.n_evaluations == full.n_evaluations == len(queries) * 6 + 6
    assert all(c.has_geometry(centre_start(61, k), k) for c in cone._cones for k in (16, 9, 40, 1))
    # a few queries of a length whose cone is not traced yet are evaluated whole (tracing costs more)
    few = [decode(rng.integers(0, 4, 12)) for _ in range(3)]
    np.testing.assert_allclose(cone.score(few, progress=False).mean, full.score(few, progress=False).mean,
                               atol=TOLERANCE)
    assert not any(c.has_geometry(centre_start(61, 12), 12) for c in cone._cones)
    many = few * CONE_MIN_QUERIES
    np.testing.assert_allclose(cone.score(many, progress=False).mean, full.score(many, progress=False).mean,
                               atol=TOLERANCE)
    assert all(c.has_geometry(centre_start(61, 12), 12) for c in cone._cones)
    # prepare(): a length traced ahead is scored by the cone even for one query
    cone.prepare([7])
    assert all(c.has_geometry(centre_start(61, 7), 7) for c in cone._cones)
    one = [decode(rng.integers(0, 4, 7))]
    np.testing.assert_allclose(cone.score(one, progress=False).mean, full.score(one, progress=False).mean,
                               atol=TOLERANCE)
    full.prepare([7])  # nothing to do for the full engine
    assert Marginalizer(models, bg).engine == "cone"  # auto picks the cone for BPNets


def test_models_the_cone_cannot_prove_fall_back_to_full_evaluation(caplog):
    inp = keras.Input((30, 4), name="sequence")
    hidden = keras.layers.Conv1D(4, 5, padding="same", name="conv1")(inp)  # 'same' padding: not a valid cone
    out = keras.layers.Dense(2, name="logcounts")(keras.layers.GlobalAveragePooling1D(name="pool")(hidden))
    plan, reason = cone_plan(keras.Model(inp, out))
    assert plan is None and "padding" in reason
    plain = keras.Model(inp, keras.layers.Dense(1)(out))  # (n, 30, 4) → (n, 1), not a BPNet
    bg = BackgroundSet(_backgrounds(3, 30, seed=0))
    with caplog.at_level(logging.INFO, logger="affdist_core.marginalize.marginalizer"):
        assert Marginalizer(plain, bg).engine == "full"
    assert "full-sequence evaluation" in caplog.text and "not a BPNet" in caplog.text
    with pytest.raises(ValueError, match="cannot be proven exact"):
        Marginalizer(plain, bg, engine="cone")
    with pytest.raises(ValueError, match="engine"):
        Marginalizer(plain, bg, engine="fast")


def test_cone_verify_catches_a_wrong_cone():
    params = _params(61, 21)
    model = _bpnet(params, seed=21)
    plan, _ = cone_plan(model)
    bg = _backgrounds(4, 61, seed=22)
    scorer = ConeScorer(plan, bg)
    assert scorer.verify(model, np.random.default_rng(0), off_centre=True) < TOLERANCE
    scorer._logits[0] = scorer._logits[0] + np.array([[0.5, -0.5]])  # wrong cached background logits
    with pytest.raises(ValueError, match="they differ by"):
        scorer.verify(model, np.random.default_rng(0))
    # a plan that misreads the last layer's dilation: its cone is too narrow and its convolution wrong
    last = plan.layers[-1]
    wrong = dataclasses.replace(plan, layers=plan.layers[:-1] + (dataclasses.replace(last, dilation=1),),
                                lengths=plan.lengths[:-1] + (plan.lengths[-2] - 2,))
    with pytest.raises(ValueError, match="does not reproduce the full model"):
        ConeScorer(wrong, bg).verify(model, np.random.default_rng(0))
