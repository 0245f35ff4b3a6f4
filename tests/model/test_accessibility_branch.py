"""The accessibility branch learns the control's sequence rule from the control alone, and stays frozen."""

import keras
import numpy as np
import pandas as pd

from affdist_core.model import accessibility, bpnet
from affdist_core.model.inputs import LAYERS
from affdist_core.model.params import load_params
from affdist_core.model.windows import WindowSet

TINY = {"seq_len": 70, "out_pred_len": 20, "c_task_weight": 10, "filters": 8, "n_dil_layers": 2,
        "conv1_kernel_size": 5, "dil_kernel_size": 3, "outconv_kernel_size": 3, "lr": 0.004,
        "genome_fasta": "", "genome_sizes": ""}


def _windows(n: int, seed: int, split: str) -> WindowSet:
    """Random windows whose control reads grow with the number of ``GGG`` triplets (a rule no feature names)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, 70)).astype(np.uint8)
    g = codes == 2
    triplets = (g[:, :-2] & g[:, 1:-1] & g[:, 2:]).sum(axis=1)
    rate = np.exp(0.6 * (triplets - triplets.mean()))
    control = rng.poisson(rate[:, None, None] * np.ones((1, 20, 2))).astype(np.float32)
    meta = pd.DataFrame({"chrom": "chrT", "centre": np.arange(n), "is_peak": True,
                         "name": [f"w{i}" for i in range(n)], "gc": 0.5})
    return WindowSet(split, codes, np.zeros((n, 20, 2), np.float32), control, meta, 70, 20, 0), triplets


def test_branch_learns_the_controls_sequence_rule_and_is_frozen():
    keras.utils.set_random_seed(0)
    params = load_params(TINY)
    train, _ = _windows(6000, 0, "train")
    valid, triplets = _windows(600, 1, "valid")
    model = bpnet.build_bpnet(params)
    before = model.get_layer(LAYERS.bound_hidden).get_weights()[0].copy()
    record = accessibility.fit_accessibility(model, train, valid, params)
    observed = np.log1p(valid.control.sum(axis=1)[:, 0])
    oracle = np.corrcoef(triplets, observed)[0, 1]  # the best any function of the sequence can do
    assert record["epochs"] >= 1 and record["valid_r_total"] > 0.5 * oracle, (record, oracle)
    predicted = keras.Model(model.input["sequence"], model.get_layer(LAYERS.access_logcounts).output).predict(
        np.eye(4, dtype=np.float32)[valid.codes], verbose=0)
    assert np.corrcoef(predicted[:, 0], triplets)[0, 1] > 0.5
    # the rest of BPNet is untouched by the fit, and every branch layer is frozen for BPNet's training
    np.testing.assert_array_equal(model.get_layer(LAYERS.bound_hidden).get_weights()[0], before)
    assert all(not model.get_layer(name).trainable for name in accessibility.ACCESS_LAYER_NAMES)
    frozen = [w.copy() for name in accessibility.ACCESS_LAYER_NAMES for w in model.get_layer(name).get_weights()]
    from affdist_core.model.train import compile_bpnet
    from affdist_core.model.inputs import fixed_arrays
    compile_bpnet(model, params, jit_compile=False)
    inputs, targets = fixed_arrays(train.subset(np.arange(256)), params, use_control=True)
    targets["profile"] = targets["profile"] + 1.0
    model.fit(inputs, targets, epochs=1, batch_size=64, verbose=0)
    after = [w for name in accessibility.ACCESS_LAYER_NAMES for w in model.get_layer(name).get_weights()]
    for a, b in zip(frozen, after):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.get_layer(LAYERS.bound_hidden).get_weights()[0], before)


def test_a_copied_branch_is_the_sources_frozen_branch_and_nothing_else():
    keras.utils.set_random_seed(0)
    params = load_params(TINY)
    train, _ = _windows(600, 0, "train")
    valid, _ = _windows(100, 1, "valid")
    source = bpnet.build_bpnet(params)
    record = accessibility.fit_accessibility(source, train, valid, params)
    keras.utils.set_random_seed(1)
    member = bpnet.build_bpnet(params)
    untouched = member.get_layer(LAYERS.bound_hidden).get_weights()[0].copy()
    copied = accessibility.copy_accessibility(member, source, record, "runs/x/model")
    for name in accessibility.ACCESS_LAYER_NAMES:
        for a, b in zip(member.get_layer(name).get_weights(), source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
        assert not member.get_layer(name).trainable
    np.testing.assert_array_equal(member.get_layer(LAYERS.bound_hidden).get_weights()[0], untouched)
    assert copied["shared_from"] == "runs/x/model" and copied["epochs"] == record["epochs"]
    wider = bpnet.build_bpnet(load_params({**TINY, "seq_len": 90}))
    import pytest
    with pytest.raises(ValueError, match="access_hidden|geometry"):
        accessibility.copy_accessibility(wider, source, record, "runs/x/model")
