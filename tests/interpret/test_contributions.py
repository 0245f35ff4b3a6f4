"""DeepSHAP contribution scores of the counts head: completeness on a dilated BPNet, analytic answer on a
linear model, agreement with shap's own ``shap_values``, seeds, batch-size independence, save/load."""

from __future__ import annotations

import logging

import numpy as np
import pytest

keras = pytest.importorskip("keras")
shap = pytest.importorskip("shap")
tf = pytest.importorskip("tensorflow")

from affdist_core.model import bpnet  # noqa: E402
from affdist_core.model.params import BPNetParams  # noqa: E402
from affdist_core.interpret.contributions import (  # noqa: E402
    ContributionScores,
    deepshap_counts,
    load_contributions,
    save_contributions,
)
from affdist_core.interpret.shap_patch import PASSTHROUGH_OPS, apply_shap_patches  # noqa: E402
from affdist_core.seq.shuffle import shuffle_batch_one_hot  # noqa: E402

TINY = BPNetParams(
    seq_len=120,
    out_pred_len=40,
    c_task_weight=10.0,
    filters=8,
    n_dil_layers=2,
    conv1_kernel_size=5,
    dil_kernel_size=3,
    outconv_kernel_size=9,
    lr=0.001,
)
L = TINY.seq_len
S = 6  # shuffles per sequence in most tests (keeps them fast)


def _onehot(n: int, length: int = L, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]


def _randomize(model: keras.Model, seed: int, scale: float = 0.4) -> None:
    """Random N(0, scale) weights (biases too), so the counts output varies by O(1) between sequences; the
    nuisance standardisation keeps its statistics (mean 0, variance 1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights and not isinstance(layer, keras.layers.Normalization):
            layer.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in weights])


@pytest.fixture(scope="module")
def tiny_bpnet():
    model = bpnet.build_bpnet(TINY, use_control=True)
    _randomize(model, seed=3)
    return model


@pytest.fixture(scope="module")
def x8():
    return _onehot(8, seed=1)


@pytest.fixture(scope="module")
def scores8(tiny_bpnet, x8):
    return deepshap_counts(tiny_bpnet, x8, n_shuffles=S, random_state=7, batch_size=3)


# ----------------------------------------------------------------------------------------------- patch


def _op_types(model: keras.Model) -> set[str]:
    fn = tf.function(lambda x: model(x, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec((None, L, 4), tf.float32)).graph
    return {op.type for op in graph.get_operations()}


def test_counts_model_lowers_dilated_convs_and_every_op_has_a_handler(tiny_bpnet):
    table = apply_shap_patches()
    ops = _op_types(bpnet.counts_model(tiny_bpnet))
    assert {"SpaceToBatchND", "BatchToSpaceND"} <= ops
    unhandled = ops - set(table) - {"Const", "Placeholder", "ReadVariableOp", "NoOp"}
    assert not unhandled


def test_patch_is_idempotent_and_keeps_existing_handlers():
    from shap.explainers._deep import deep_tf

    before = dict(deep_tf.op_handlers)
    first = dict(apply_shap_patches())
    second = dict(apply_shap_patches())
    assert first == second
    for name, handler in before.items():
        assert first[name] is handler
    assert set(PASSTHROUGH_OPS) <= set(first)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_without_the_patch_shap_fails_on_dilated_convs(tiny_bpnet):
    """The exact error the patch fixes (so the patch is not dead code on a future shap)."""
    from shap.explainers._deep import deep_tf

    saved = {name: deep_tf.op_handlers.pop(name) for name in PASSTHROUGH_OPS if name in deep_tf.op_handlers}
    try:
        cm = bpnet.build_bpnet(TINY, use_control=False)  # a fresh model: no traced graph cached anywhere
        counts = bpnet.counts_model(cm)
        x = _onehot(1, seed=5)
        explainer = shap.DeepExplainer(counts, lambda inp: shuffle_batch_one_hot(inp[0][None], 2, 0)[0])
        # a LookupError, re-raised by tf.function's autograph as a StagingError quoting it
        missing = r"gradient registry has no entry for: shap_(BatchToSpaceND|SpaceToBatchND)"
        with pytest.raises(Exception, match=missing):
            explainer.shap_values(x, check_additivity=False)
    finally:
        deep_tf.op_handlers.update(saved)


# ----------------------------------------------------------------------------------------------- correctness


def test_completeness_on_random_dilated_bpnet(scores8):
    s = scores8
    assert isinstance(s, ContributionScores) and len(s) == 8
    assert s.onehot.shape == s.hypothetical.shape == s.contrib.shape == (8, L, 4)
    assert all(a.dtype == np.float32 for a in (s.onehot, s.hypothetical, s.contrib, s.delta, s.prediction))
    assert np.abs(s.delta).max() > 0.1  # the model really varies, so the check is not trivial
    total = s.contrib.sum(axis=(1, 2), dtype=np.float64)
    np.testing.assert_allclose(total, s.delta, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(s.completeness_error, np.abs(total - s.delta), atol=1e-6)
    assert s.max_completeness_error < 1e-4


def test_delta_and_prediction_match_the_model(tiny_bpnet, x8, scores8):
    pred = bpnet.predict_logcounts(tiny_bpnet, x8, rc_average=False)
    np.testing.assert_allclose(scores8.prediction, pred, atol=1e-5)
    refs = shuffle_batch_one_hot(x8, S, 7)
    ref_pred = bpnet.predict_logcounts(tiny_bpnet, refs.reshape(-1, L, 4), rc_average=False).reshape(8, S)
    np.testing.assert_allclose(scores8.delta, pred - ref_pred.mean(axis=1), atol=1e-5)


def test_hypothetical_at_observed_base_is_contrib(scores8):
    s = scores8
    observed = s.onehot.astype(bool)
    np.testing.assert_array_equal(s.contrib[observed], s.hypothetical[observed])
    assert np.all(s.contrib[~observed] == 0)
    assert np.any(s.hypothetical[~observed] != 0)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_matches_shap_values_of_plain_deepexplainer(tiny_bpnet, x8, scores8):
    """Batched computation == shap's own one-sequence-at-a-time shap_values with the same references."""
    refs = shuffle_batch_one_hot(x8, S, 7)
    counts = bpnet.counts_model(tiny_bpnet)
    apply_shap_patches()
    explainer = shap.DeepExplainer(counts, lambda inp: refs[0])
    phi = np.asarray(explainer.shap_values(x8[:1], check_additivity=False)).reshape(1, L, 4)
    np.testing.assert_allclose(scores8.contrib[0].sum(axis=1), phi[0].sum(axis=1), atol=1e-6)


def test_linear_model_gives_the_analytic_answer():
    rng = np.random.default_rng(11)
    weights = rng.normal(0, 1, (L, 4)).astype(np.float32)
    inp = keras.Input((L, 4))
    dense = keras.layers.Dense(1, name="linear")
    model = keras.Model(inp, dense(keras.layers.Flatten()(inp)))
    dense.set_weights([weights.reshape(L * 4, 1), np.array([0.3], np.float32)])
    x = _onehot(5, seed=2)
    s = deepshap_counts(model, x, n_shuffles=S, random_state=4, batch_size=2)
    mean_ref = shuffle_batch_one_hot(x, S, 4).mean(axis=1)  # (n, L, 4)
    hyp = weights[None] - (weights[None] * mean_ref).sum(axis=2, keepdims=True)
    np.testing.assert_allclose(s.hypothetical, hyp, atol=1e-5)
    np.testing.assert_allclose(s.contrib.sum(axis=2), (weights[None] * (x - mean_ref)).sum(axis=2), atol=1e-5)
    np.testing.assert_allclose(s.delta, (weights[None] * (x - mean_ref)).sum(axis=(1, 2)), atol=1e-4)
    assert s.task is None and s.rc_average is False
    assert s.max_completeness_error < 1e-4


def test_full_bpnet_and_its_counts_model_agree(tiny_bpnet, x8, scores8):
    direct = deepshap_counts(bpnet.counts_model(tiny_bpnet), x8[:3], n_shuffles=S, random_state=7, batch_size=3)
    np.testing.assert_allclose(direct.hypothetical, scores8.hypothetical[:3], atol=1e-6)
    assert scores8.task == 0 and direct.task is None


def test_rc_average_counts_model_is_complete(tiny_bpnet, x8):
    s = deepshap_counts(tiny_bpnet, x8[:3], n_shuffles=S, random_state=0, rc_average=True)
    assert s.rc_average is True
    np.testing.assert_allclose(s.contrib.sum(axis=(1, 2)), s.delta, atol=1e-4)


# ----------------------------------------------------------------------------------------------- seeds, batching


def test_same_seed_identical_different_seed_different(tiny_bpnet, x8, scores8):
    again = deepshap_counts(tiny_bpnet, x8, n_shuffles=S, random_state=7, batch_size=3)
    np.testing.assert_array_equal(again.hypothetical, scores8.hypothetical)
    np.testing.assert_array_equal(again.delta, scores8.delta)
    other = deepshap_counts(tiny_bpnet, x8, n_shuffles=S, random_state=8, batch_size=3)
    assert not np.allclose(other.hypothetical, scores8.hypothetical, atol=1e-3)
    assert scores8.random_state == 7 and other.random_state == 8


def test_batch_size_independence(tiny_bpnet, x8, scores8):
    for batch_size in (1, 8):
        s = deepshap_counts(tiny_bpnet, x8, n_shuffles=S, random_state=7, batch_size=batch_size)
        np.testing.assert_allclose(s.hypothetical, scores8.hypothetical, atol=1e-6)
        np.testing.assert_allclose(s.delta, scores8.delta, atol=1e-6)


def test_generator_random_state_and_single_sequence(tiny_bpnet, x8):
    s = deepshap_counts(tiny_bpnet, x8[0], n_shuffles=2, random_state=np.random.default_rng(0))
    assert len(s) == 1 and s.random_state is None and s.n_shuffles == 2


# ----------------------------------------------------------------------------------------------- N, validation


def test_sequences_with_n_warn_about_n(tiny_bpnet, caplog):
    x = _onehot(2, seed=9)
    x[0, 30:34] = 0.0  # N run: shuffles move it, so the N positions carry attribution no channel can hold
    with caplog.at_level(logging.WARNING, logger="affdist_core.interpret.contributions"):
        s = deepshap_counts(tiny_bpnet, x, n_shuffles=S, random_state=1)
    assert s.completeness_error[1] < 1e-4
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # the N positions' share of delta breaks completeness beyond the warning's tolerance
    assert s.completeness_error[0] > 1e-4 + 1e-3 * abs(float(s.delta[0]))
    assert any("1 sequence(s) with N positions" in m for m in messages)
    assert not any("handled badly" in m for m in messages)


def test_no_warning_on_clean_input(scores8, tiny_bpnet, x8, caplog):
    with caplog.at_level(logging.WARNING, logger="affdist_core.interpret.contributions"):
        deepshap_counts(tiny_bpnet, x8[:2], n_shuffles=2, random_state=0)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"onehot": np.zeros((2, L + 1, 4), np.float32)}, "onehot: expected shape"),
        ({"onehot": np.full((1, L, 4), 0.5, np.float32)}, "onehot: expected 0/1"),
        ({"n_shuffles": 0}, "n_shuffles"),
        ({"batch_size": 0}, "batch_size"),
        ({"completeness_rtol": -1.0}, "completeness_rtol"),
        ({"task": 1}, "task"),
    ],
)
def test_validation(tiny_bpnet, x8, kwargs, match):
    args = {"onehot": x8[:1], **kwargs}
    with pytest.raises(ValueError, match=match):
        deepshap_counts(tiny_bpnet, **args)


def test_empty_input(tiny_bpnet):
    s = deepshap_counts(tiny_bpnet, np.zeros((0, L, 4), np.float32))
    assert len(s) == 0 and s.max_completeness_error == 0.0


# ----------------------------------------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path, scores8):
    pd = pytest.importorskip("pandas")
    regions = pd.DataFrame(
        {
            "name": [f"peak{i}" for i in range(7)] + [None],
            "chrom": ["chrI"] * 8,
            "start": np.arange(8, dtype=np.int64) * 1000,
            "score": np.linspace(0, 1, 8),
        }
    )
    s = ContributionScores(**{**scores8.__dict__, "regions": regions})
    path = save_contributions(s, tmp_path / "sub" / "contrib.npz")
    back = load_contributions(path)
    for name in ("onehot", "hypothetical", "contrib", "prediction", "delta", "completeness_error"):
        np.testing.assert_array_equal(getattr(back, name), getattr(s, name))
        assert getattr(back, name).dtype == np.float32
    assert (back.n_shuffles, back.random_state, back.task, back.rc_average, back.model_name) == (
        s.n_shuffles,
        s.random_state,
        s.task,
        s.rc_average,
        s.model_name,
    )
    assert list(back.regions.columns) == ["name", "chrom", "start", "score"]
    assert back.regions["name"].tolist()[:7] == regions["name"].tolist()[:7]
    assert back.regions["name"].isna().tolist() == [False] * 7 + [True]
    np.testing.assert_array_equal(back.regions["start"].to_numpy(), regions["start"].to_numpy())
    np.testing.assert_array_equal(back.regions["score"].to_numpy(), regions["score"].to_numpy())
    assert not list(tmp_path.joinpath("sub").glob(".*tmp*"))  # atomic write left no temp file

    small = load_contributions(save_contributions(scores8, tmp_path / "half.npz", dtype="float16"))
    np.testing.assert_allclose(small.hypothetical, scores8.hypothetical, rtol=2e-3, atol=1e-6)
    assert small.regions is None


def test_save_validation(tmp_path, scores8):
    with pytest.raises(ValueError, match=r"\.npz"):
        save_contributions(scores8, tmp_path / "x.npy")
    with pytest.raises(ValueError, match="dtype"):
        save_contributions(scores8, tmp_path / "x.npz", dtype="int8")
    with pytest.raises(ValueError, match="does not exist"):
        load_contributions(tmp_path / "missing.npz")
