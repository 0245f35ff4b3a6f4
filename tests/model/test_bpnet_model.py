"""BPNet parameters and model definition: lengths, validation, save/load, RC averaging, counts model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from affdist_core.model.params import (
    PARAM_KEYS,
    SEED_MAX_PARAMS,
    YEAST_COMPACT_PARAMS,
    BPNetParams,
    body_length,
    load_params,
    output_length,
    receptive_field,
    save_params,
)
from affdist_core.common.names import INPUTS_FILE, MODEL_FILE
from affdist_core.model.inputs import LAYERS, LOCAL_CONTROL_RULE, ModelContractError
from affdist_core.seq.alphabet import reverse_complement_one_hot

keras = pytest.importorskip("keras")
bpnet = pytest.importorskip("affdist_core.model.bpnet")

TINY = {
    "seq_len": 70,
    "out_pred_len": 20,
    "c_task_weight": 10,
    "filters": 8,
    "n_dil_layers": 2,
    "conv1_kernel_size": 5,
    "dil_kernel_size": 3,
    "outconv_kernel_size": 9,
    "lr": 0.004,
    "genome_fasta": "",
    "genome_sizes": "",
}


def _onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]
    x[:, 3] = 0.0  # an N position
    return x


def _logsumexp2(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1)
    return m + np.log(np.exp(a[:, 0] - m) + np.exp(a[:, 1] - m))


@pytest.fixture(scope="module")
def tiny_model():
    return bpnet.build_bpnet(load_params(TINY))


@pytest.fixture(scope="module")
def tiny_x():
    return _onehot(7, TINY["seq_len"], seed=1)


# ----------------------------------------------------------------------------------------------- params


def test_presets_lengths_and_roundtrip(tmp_path):
    assert output_length(SEED_MAX_PARAMS) == 1346 - 20 - 2 * (2 + 4 + 8 + 16 + 32 + 64) - 74 == 1000
    assert receptive_field(SEED_MAX_PARAMS) == 347
    assert output_length(YEAST_COMPACT_PARAMS) == 546 - 20 - 2 * (2 + 4 + 8 + 16 + 32) - 74 == 328
    assert body_length(YEAST_COMPACT_PARAMS) == 402
    path = save_params(YEAST_COMPACT_PARAMS, tmp_path / "sub" / "params.json")
    assert list(json.loads(path.read_text())) == list(PARAM_KEYS)
    assert load_params(path) == YEAST_COMPACT_PARAMS
    overrides = {"seq_len": 1346, "out_pred_len": 1000, "n_dil_layers": 6, "lr": 0.001, "c_task_weight": 100}
    assert load_params(overrides, YEAST_COMPACT_PARAMS) == SEED_MAX_PARAMS
    assert load_params(YEAST_COMPACT_PARAMS.to_dict()).to_dict() == YEAST_COMPACT_PARAMS.to_dict()
    assert load_params({**TINY, "filters": 8.0, "genome_fasta": None}).filters == 8


@pytest.mark.parametrize(
    ("change", "drop", "names"),
    [
        ({}, ["lr", "filters"], ["lr", "filters"]),  # missing keys, no defaults
        ({"dropout": 0.1, "seqlen": 3}, [], ["dropout", "seqlen", "valid keys"]),
        ({"seq_len": 24}, [], ["seq_len", "n_dil_layers", "no output"]),  # out == 0
        ({"out_pred_len": 48}, [], ["out_pred_len", "46"]),  # too long
        ({"out_pred_len": 21}, [], ["seq_len", "out_pred_len", "even"]),  # crop not central
        ({"dil_kernel_size": 4}, [], ["dil_kernel_size", "odd", "4"]),
        ({"filters": 0}, [], ["filters", ">= 1", "0"]),
        ({"filters": "64"}, [], ["filters", "'64'"]),
        ({"n_dil_layers": True}, [], ["n_dil_layers"]),
        ({"lr": 0}, [], ["lr", "> 0"]),
        ({"c_task_weight": -1}, [], ["c_task_weight", "-1"]),
        ({"genome_fasta": 3}, [], ["genome_fasta"]),
    ],
)
def test_invalid_params_name_the_keys(change, drop, names):
    raw = {k: v for k, v in {**TINY, **change}.items() if k not in drop}
    with pytest.raises(ValueError) as info:
        load_params(raw)
    for name in names:
        assert name in str(info.value)


def test_unknown_default_key_and_bad_file(tmp_path):
    with pytest.raises(ValueError, match="defaults.*bogus"):
        load_params(TINY, defaults={"bogus": 1})
    (tmp_path / "p.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        load_params(tmp_path / "p.json")
    with pytest.raises(ValueError, match="does not exist"):
        load_params(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="unknown"):
        YEAST_COMPACT_PARAMS.replace(filter=3)


# ----------------------------------------------------------------------------------------------- model


@pytest.mark.parametrize(
    ("change", "n_tasks", "use_control"),
    [
        ({}, 1, True),  # 46 valid positions, centre 20 kept
        ({"n_dil_layers": 0, "seq_len": 40, "out_pred_len": 28}, 1, False),  # no dilated layers, no crop
        ({"n_dil_layers": 3, "seq_len": 100, "out_pred_len": 30, "conv1_kernel_size": 7}, 2, True),
    ],
)
def test_output_shapes_follow_length_formula(change, n_tasks, use_control):
    params = load_params({**TINY, **change})
    model = bpnet.build_bpnet(params, n_tasks=n_tasks, use_control=use_control)
    assert output_length(params) >= params.out_pred_len
    assert tuple(model.get_layer("pool").input.shape) == (None, body_length(params), params.filters)
    n = 3
    out = bpnet.predict_outputs(model, _onehot(n, params.seq_len), rc_average=False)
    assert out["profile"].shape == (n, params.out_pred_len, 2 * n_tasks)
    assert out["logcounts"].shape == (n, 2 * n_tasks)
    assert set(model.input) == ({"sequence", "control_profile", "control_logcounts"} if use_control else {"sequence"})
    probs = bpnet.predict_profile_probs(model, _onehot(n, params.seq_len))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    if n_tasks > 1:
        with pytest.raises(ValueError, match="task"):
            bpnet.counts_model(model)
        assert bpnet.predict_logcounts(model, _onehot(n, params.seq_len), task=1).shape == (n,)


def test_presets_build_with_expected_sizes():
    seed = bpnet.build_bpnet(SEED_MAX_PARAMS, use_control=False)
    assert seed.output["profile"].shape[1:] == (1000, 2)
    assert seed.count_params() == 89284
    yeast = bpnet.build_bpnet(YEAST_COMPACT_PARAMS)
    assert yeast.output["profile"].shape[1:] == (300, 2)
    assert yeast.output["logcounts"].shape[1:] == (2,)
    # + 1x1 control conv, nuisance standardisation (mean, variance, count), two nuisance MLPs on 8 features,
    # and the accessibility branch: 2 convs (32 filters, kernel 9), 8 bins × 32 → 32 hidden → 4
    access = (9 * 4 * 32 + 32) + (9 * 32 * 32 + 32) + (8 * 32 * 32 + 32) + (32 * 4 + 4)
    assert yeast.count_params() == 76932 + 4 + (8 + 8 + 1) + 2 * (8 * 16 + 16 + 16 * 2 + 2) + access


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras saving
def test_save_load_roundtrip_identical(tiny_model, tiny_x, tmp_path):
    path = bpnet.save_model(tiny_model, tmp_path / "m.keras")
    assert sorted(p.name for p in tmp_path.iterdir()) == [INPUTS_FILE, "m.keras"]  # no temporary left behind
    stored = json.loads((tmp_path / INPUTS_FILE).read_text())
    assert stored["inputs"] == {"sequence": [70, 4], "control_profile": [20, 2], "control_logcounts": [4]}
    assert stored["outputs"] == {"profile": [20, 2], "logcounts": [2]}
    assert stored["local_control_rule"] == LOCAL_CONTROL_RULE and stored["layer_names"] == LAYERS.to_dict()
    loaded = bpnet.load_model(path)
    ctl_p = np.random.default_rng(2).random((len(tiny_x), 20, 2)).astype(np.float32)
    ctl_c = np.random.default_rng(3).random((len(tiny_x), 4)).astype(np.float32)
    a = bpnet.predict_outputs(tiny_model, tiny_x, ctl_p, ctl_c)
    b = bpnet.predict_outputs(loaded, tiny_x, ctl_p, ctl_c)
    for key in ("profile", "logcounts"):
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        bpnet.predict_logcounts(tiny_model, tiny_x), bpnet.predict_logcounts(loaded, tiny_x), rtol=0, atol=1e-6
    )
    with pytest.raises(ValueError, match=r"\.keras"):
        bpnet.save_model(tiny_model, tmp_path / "m.h5")


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("local_control_rule", "fixed_150bp"),
        ("control_logcounts_width", 2),
        ("contract_version", 0),
        ("layer_names", {**LAYERS.to_dict(), "logcounts_seq": "logcounts_sequence"}),
        ("inputs", {"sequence": [70, 4]}),
    ],
)
def test_a_model_with_a_changed_contract_is_refused(tiny_model, tmp_path, key, value):
    bpnet.save_model(tiny_model, tmp_path / MODEL_FILE)
    contract = tmp_path / INPUTS_FILE
    stored = json.loads(contract.read_text())
    bpnet.load_model(tmp_path)  # a model directory loads its model.keras
    contract.write_text(json.dumps({**stored, key: value}))
    with pytest.raises(ModelContractError) as info:
        bpnet.load_model(tmp_path / MODEL_FILE)
    message = str(info.value)
    for part in (INPUTS_FILE, key, repr(value)[:30], "affdist train"):
        assert part in message
    if key != "inputs":
        assert repr(stored[key])[:30] in message  # the expected (the code's) value


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_a_model_without_a_contract_loads_with_a_warning_after_the_graph_checks(tiny_model, tmp_path, caplog):
    path = bpnet.save_model(tiny_model, tmp_path / MODEL_FILE)
    (tmp_path / INPUTS_FILE).unlink()
    with caplog.at_level("WARNING"):
        bpnet.load_model(path)
    assert INPUTS_FILE in caplog.text
    # the graph itself is still checked: a control_logcounts input of the wrong width is refused
    params = load_params(TINY)
    sequence = keras.Input((params.seq_len, 4), name="sequence")
    control = keras.Input((2,), name="control_logcounts")
    profile = keras.Input((params.out_pred_len, 2), name="control_profile")
    pooled = [keras.layers.GlobalAveragePooling1D()(t) for t in (sequence, profile)]
    odd = keras.Model({"sequence": sequence, "control_profile": profile, "control_logcounts": control},
                      {"logcounts": keras.layers.Dense(2)(keras.layers.Concatenate()([control, *pooled]))})
    odd.save(tmp_path / "odd.keras")  # keras' own save: no contract beside it
    with pytest.raises(ModelContractError, match=r"control_logcounts: expected shape \[4\].*got \[2\]"):
        bpnet.load_model(tmp_path / "odd.keras")


def test_rc_average_is_rc_invariant(tiny_model, tiny_x):
    rc = reverse_complement_one_hot(tiny_x)
    fwd = bpnet.predict_logcounts(tiny_model, tiny_x, rc_average=True)
    np.testing.assert_allclose(fwd, bpnet.predict_logcounts(tiny_model, rc, rc_average=True), atol=1e-5)
    plain = bpnet.predict_logcounts(tiny_model, tiny_x, rc_average=False)
    plain_rc = bpnet.predict_logcounts(tiny_model, rc, rc_average=False)
    assert np.abs(plain - plain_rc).max() > 1e-4  # the untrained net is not RC-symmetric by itself
    np.testing.assert_allclose(fwd, 0.5 * (plain + plain_rc), atol=1e-5)
    # profiles: the RC input's profile is the forward one reversed with strands swapped
    a = bpnet.predict_outputs(tiny_model, tiny_x)
    b = bpnet.predict_outputs(tiny_model, rc)
    np.testing.assert_allclose(a["profile"], b["profile"][:, ::-1, ::-1], atol=1e-5)
    np.testing.assert_allclose(a["logcounts"], b["logcounts"][:, ::-1], atol=1e-5)


def test_batch_size_independence(tiny_model, tiny_x):
    ref = bpnet.predict_logcounts(tiny_model, tiny_x, batch_size=256)
    for bs in (1, 3):
        np.testing.assert_allclose(bpnet.predict_logcounts(tiny_model, tiny_x, batch_size=bs), ref, atol=1e-5)
    single = bpnet.predict_outputs(tiny_model, tiny_x[2], rc_average=False)
    batch = bpnet.predict_outputs(tiny_model, tiny_x, batch_size=2, rc_average=False)
    np.testing.assert_allclose(single["profile"][0], batch["profile"][2], atol=1e-5)


@pytest.mark.parametrize("counts_control", ["mixture", "linear"])
def test_counts_model_matches_full_model(tiny_x, counts_control):
    """The counts model equals the FULL model's sequence term: logsumexp over strands of the output of the
    full graph's ``logcounts_seq`` layer, and — with the nuisance / control terms switched off by their
    weights — of the full model's own ``logcounts`` output. Fails if counts_model wires any other layer."""
    model = bpnet.build_bpnet(load_params(TINY), counts_control=counts_control)  # own model: weights edited
    rng = np.random.default_rng(5)
    for layer in model.layers:  # non-zero biases everywhere, so a skipped or wrong layer shows
        weights = layer.get_weights()
        if layer.name != LAYERS.nuisance_norm and len(weights) == 2:
            layer.set_weights([weights[0], rng.normal(0, 0.3, weights[1].shape).astype(np.float32)])
    cm = bpnet.counts_model(model)
    assert len(cm.inputs) == 1 and tuple(cm.output.shape) == (None, 1)
    assert bpnet.counts_model(model) is cm  # cached
    assert cm.get_layer(LAYERS.conv1) is model.get_layer(LAYERS.conv1)  # shared weights
    got = cm.predict(tiny_x, verbose=0)[:, 0].astype(np.float64)
    np.testing.assert_allclose(got, bpnet.predict_logcounts(model, tiny_x, rc_average=False), atol=1e-6)

    controls = {"control_profile": rng.random((len(tiny_x), 20, 2)).astype(np.float32),
                "control_logcounts": 3 * rng.random((len(tiny_x), 4)).astype(np.float32)}
    feed = {"sequence": tiny_x, **controls}
    # 1. the full graph's sequence-term layer, computed through the full model's inputs
    seq_term = keras.Model(model.inputs, model.get_layer(LAYERS.logcounts_seq).output).predict(feed, verbose=0)
    np.testing.assert_allclose(got, _logsumexp2(seq_term.astype(np.float64)), atol=1e-5)
    full = bpnet.predict_outputs(model, tiny_x, **controls, rc_average=False)["logcounts"].astype(np.float64)
    assert np.abs(_logsumexp2(full) - got).max() > 1e-3  # with its nuisance terms the full output differs

    # 2. switch the nuisance / control terms off by their weights: the full output IS the sequence term
    if counts_control == "mixture":
        # (the accessibility branch's output, zeroed, also switches off its unit offset of the bound reads)
        for name in (LAYERS.bound_nuisance, LAYERS.background_logcounts, LAYERS.access_logcounts):
            w, b = model.get_layer(name).get_weights()
            fill = -1e4 if name == LAYERS.background_logcounts else 0.0  # exp(background) = 0
            model.get_layer(name).set_weights([np.zeros_like(w), np.full_like(b, fill)])
    else:
        dense = model.get_layer(LAYERS.control_logcounts_dense)
        dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    full = bpnet.predict_outputs(model, tiny_x, **controls, rc_average=False)["logcounts"].astype(np.float64)
    np.testing.assert_allclose(got, _logsumexp2(full), atol=1e-5)
    np.testing.assert_allclose(bpnet.predict_logcounts(model, tiny_x, rc_average=True),
                               0.5 * (got + _logsumexp2(bpnet.predict_outputs(
                                   model, reverse_complement_one_hot(tiny_x), rc_average=False)["logcounts"]
                                   .astype(np.float64))), atol=1e-5)


def _relu_dense(x: np.ndarray, model, hidden: str, out: str) -> np.ndarray:
    w1, b1 = model.get_layer(hidden).get_weights()
    w2, b2 = model.get_layer(out).get_weights()
    return np.maximum(x @ w1 + b1, 0.0) @ w2 + b2


def test_mixture_counts_head_is_bound_plus_background(tiny_x):
    """logcounts = log(exp(seq + MLP_bound(z) + a_local) + exp(MLP_background(z))), z = the standardised nuisance
    [control, accessibility branch(sequence)]; the counts model is the sequence part alone, whatever the control."""
    import keras

    tiny_model = bpnet.build_bpnet(load_params(TINY))  # own model: Keras bakes the statistics into its first predict
    rng = np.random.default_rng(4)
    ctl_p = rng.random((len(tiny_x), 20, 2)).astype(np.float32)
    ctl_c = rng.random((len(tiny_x), 4)).astype(np.float32) * 3
    # make the MLPs non-trivial (fresh biases are zero and half the relus may be off)
    for name in ("bound_hidden", "background_hidden"):
        w, b = tiny_model.get_layer(name).get_weights()
        tiny_model.get_layer(name).set_weights([w, np.full_like(b, 0.5)])
    norm = tiny_model.get_layer("nuisance_norm")
    mean, variance = rng.normal(size=8).astype(np.float32), rng.uniform(0.5, 2, size=8).astype(np.float32)
    norm.set_weights([mean, variance, norm.get_weights()[2]])
    norm.finalize_state()  # Keras reads the statistics into its constants here (adapt and loading do too)
    got = bpnet.predict_outputs(tiny_model, tiny_x, ctl_p, ctl_c, rc_average=False)["logcounts"].astype(np.float64)
    seq_part = keras.Model(tiny_model.inputs, tiny_model.get_layer("logcounts_seq").output).predict(
        {"sequence": tiny_x, "control_profile": ctl_p, "control_logcounts": ctl_c}, verbose=0)
    access = keras.Model(tiny_model.inputs, tiny_model.get_layer("access_logcounts").output).predict(
        {"sequence": tiny_x, "control_profile": ctl_p, "control_logcounts": ctl_c}, verbose=0)
    assert access.shape == (len(tiny_x), 4) and access.std(axis=0).min() > 0  # a function of the sequence
    nuisance = (np.column_stack([ctl_c, access]) - mean) / np.sqrt(variance)
    offset = access[:, 2:4].mean(axis=1, keepdims=True)  # the predicted local control, coefficient 1
    bound = seq_part + _relu_dense(nuisance, tiny_model, "bound_hidden", "bound_nuisance") + offset
    background = _relu_dense(nuisance, tiny_model, "background_hidden", "background_logcounts")
    np.testing.assert_allclose(got, np.logaddexp(bound, background), atol=1e-4)
    cm = bpnet.counts_model(tiny_model).predict(tiny_x, verbose=0)[:, 0]
    np.testing.assert_allclose(cm, _logsumexp2(seq_part.astype(np.float64)), atol=1e-5)


def test_linear_counts_control_adds_a_dense_mix():
    model = bpnet.build_bpnet(load_params(TINY), counts_control="linear")
    x = _onehot(5, TINY["seq_len"], seed=3)
    full = bpnet.predict_outputs(model, x, rc_average=False)["logcounts"]  # zero controls = the sequence part
    np.testing.assert_allclose(bpnet.counts_model(model).predict(x, verbose=0)[:, 0],
                               _logsumexp2(full.astype(np.float64)), atol=1e-5)
    ctl_c = np.tile(np.array([[1.0, 2.0, 0.5, 0.25]], np.float32), (len(x), 1))
    with_ctl = bpnet.predict_outputs(model, x, control_logcounts=ctl_c, rc_average=False)["logcounts"]
    w = model.get_layer("control_logcounts_dense").get_weights()[0]
    np.testing.assert_allclose(with_ctl - full, ctl_c @ w, atol=1e-5)
    with pytest.raises(ValueError, match="counts_control"):
        bpnet.build_bpnet(load_params(TINY), counts_control="offset")


def test_input_validation(tiny_model):
    with pytest.raises(ValueError, match=r"onehot.*\(n, 70, 4\)"):
        bpnet.predict_logcounts(tiny_model, np.zeros((2, 69, 4)))
    with pytest.raises(ValueError, match="batch_size"):
        bpnet.predict_logcounts(tiny_model, np.zeros((2, 70, 4)), batch_size=0)
    with pytest.raises(ValueError, match="control_profile"):
        bpnet.predict_outputs(tiny_model, np.zeros((2, 70, 4)), control_profile=np.zeros((2, 19, 2)))
    with pytest.raises(ValueError, match=r"control_logcounts.*\(2, 4\)"):  # total and local, per strand
        bpnet.predict_outputs(tiny_model, np.zeros((2, 70, 4)), control_logcounts=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="rc_mode"):
        bpnet.build_bpnet(load_params(TINY), rc_mode="symmetric")
    with pytest.raises(ValueError, match="params"):
        bpnet.build_bpnet(TINY)
    assert bpnet.predict_logcounts(tiny_model, np.zeros((0, 70, 4))).shape == (0,)


def test_crop_layer_config_roundtrip():
    layer = bpnet.CentralCrop1D(4, name="c")
    clone = bpnet.CentralCrop1D.from_config(layer.get_config())
    x = np.arange(2 * 8 * 1, dtype=np.float32).reshape(2, 8, 1)
    np.testing.assert_array_equal(np.asarray(clone(x)), x[:, 2:6])
    with pytest.raises(ValueError, match="centrally"):
        bpnet.CentralCrop1D(5)(x)
    assert isinstance(BPNetParams(**TINY), BPNetParams)
