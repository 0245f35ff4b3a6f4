"""Training and evaluating a tiny BPNet on a tiny synthetic ChIP-nexus dataset with a planted motif."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from affdist_core.model.params import BPNetParams, TrainingSettings
from affdist_core.model.evaluate import evaluate_model_dir
from affdist_core.model.train import train_bpnet

from tiny_dataset import TINY, write_dataset as _write_dataset


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_chip")
    spec = _write_dataset(root)
    settings = TrainingSettings(batch_size=32, max_epochs=25, patience=25, max_minutes=None, jit_compile=False,
                                min_epoch_examples=0)
    result = train_bpnet(TINY, spec, root / "model", settings)
    return root, spec, result


def test_training_learns_the_planted_motif(trained):
    root, _, result = trained
    history = json.loads((root / "model" / "history.json").read_text())
    first, last = history[0], history[-1]
    assert result.epochs_run == 25
    assert last["loss"] < first["loss"] / 1.5
    assert last["profile_loss"] < first["profile_loss"] / 1.5
    for name in ("model.keras", "params.json", "data.json", "training.json"):
        assert (root / "model" / name).exists()
    training = json.loads((root / "model" / "training.json").read_text())
    assert training["split"] == {"train": ["chrA"], "valid": ["chrB"], "test": ["chrC"]}


def test_evaluation_on_held_out_chromosome(trained):
    root, _, _ = trained
    evaluation = evaluate_model_dir(root / "model")
    test = evaluation.metrics["test"]
    assert test["n_windows"] == 38
    # the profile shape (two 5′-end piles around the motif) is learned on held-out data
    assert test["profile_jsd"] < test["profile_jsd_uniform"] - 0.2
    assert test["profile_nll"] < 0.7 * test["profile_nll_uniform"]
    table = evaluation.counts_table
    assert set(table["split"]) == {"train", "valid", "test"}
    held_out = table[table["split"] == "test"]
    r = np.corrcoef(held_out["observed_log_counts"], held_out["predicted_log_counts"])[0, 1]
    assert r == pytest.approx(test["counts_pearson"], abs=1e-9)
    assert (root / "model" / "metrics.json").exists() and (root / "model" / "counts.parquet").exists()


def test_interpret_held_out_peaks(trained):
    from affdist_core.interpret.contributions import load_contributions
    from affdist_core.interpret.run import interpret_model_dir

    root, _, _ = trained
    summary = interpret_model_dir(root / "model", n_shuffles=4, modisco_window=None)
    assert summary["n_sequences"] == 76  # chrB + chrC peaks
    assert summary["max_completeness_error"] < 1e-3
    scores = load_contributions(root / "model" / "interpret" / "contributions.npz")
    assert scores.onehot.shape == (76, TINY.seq_len, 4)
    assert set(scores.regions["split"]) == {"test", "valid"}
    assert (root / "model" / "interpret" / "motifs.parquet").exists()


def test_small_training_sets_get_epochs_of_min_epoch_examples(tmp_path):
    spec = _write_dataset(tmp_path, seed=1)
    settings = TrainingSettings(batch_size=32, max_epochs=1, patience=5, jit_compile=False, min_epoch_examples=200)
    train_bpnet(TINY, spec, tmp_path / "m", settings)
    n_windows = json.loads((tmp_path / "m" / "training.json").read_text())["n_windows"]
    passes = -(-200 // n_windows["train"])
    assert passes > 1 and n_windows["passes_per_epoch"] == passes
    assert n_windows["steps_per_epoch"] == -(-passes * n_windows["train"] // 32)


def test_interrupted_training_resumes(tmp_path):
    spec = _write_dataset(tmp_path, seed=1)
    settings = TrainingSettings(batch_size=32, max_epochs=2, patience=5, max_minutes=None, jit_compile=False,
                                min_epoch_examples=0)
    train_bpnet(TINY, spec, tmp_path / "m", settings)
    resumed = train_bpnet(TINY, spec, tmp_path / "m", TrainingSettings(
        batch_size=32, max_epochs=3, patience=5, max_minutes=None, jit_compile=False, min_epoch_examples=0))
    history = json.loads((tmp_path / "m" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert resumed.epochs_run == 3


def test_resuming_another_training_starts_afresh(tmp_path, caplog):
    """A checkpoint left by a training with another seed (or parameters) is not resumed: the run warns, deletes it
    and trains from scratch; the same training with a higher epoch limit resumes."""
    from affdist_core.model.train import finished_training, training_fingerprint

    spec = _write_dataset(tmp_path, seed=2)
    settings = TrainingSettings(batch_size=32, max_epochs=1, patience=5, max_minutes=None, jit_compile=False,
                                min_epoch_examples=0)
    train_bpnet(TINY, spec, tmp_path / "m", settings)
    first = json.loads((tmp_path / "m" / "history.json").read_text())
    assert finished_training(tmp_path / "m", TINY, spec, settings)
    assert json.loads((tmp_path / "m" / "training.json").read_text())["fingerprint"] == \
        training_fingerprint(TINY, spec, settings)

    other = TrainingSettings(batch_size=32, max_epochs=2, patience=5, max_minutes=None, jit_compile=False,
                              min_epoch_examples=0, seed=1)
    assert not finished_training(tmp_path / "m", TINY, spec, other)
    with caplog.at_level("INFO", logger="affdist_core.model.train"):
        train_bpnet(TINY, spec, tmp_path / "m", other)
    assert "written by another training (settings differ); starting afresh" in caplog.text
    assert "resuming after" not in caplog.text
    restarted = json.loads((tmp_path / "m" / "history.json").read_text())
    assert [h["epoch"] for h in restarted] == [1, 2] and restarted[0]["loss"] != first[0]["loss"]
    state = json.loads((tmp_path / "m" / "checkpoint" / "state.json").read_text())
    assert state["fingerprint"] == training_fingerprint(TINY, spec, other)

    caplog.clear()
    longer = dataclasses.replace(other, max_epochs=3)  # a stopping rule: the same training, continued
    with caplog.at_level("INFO", logger="affdist_core.model.train"):
        train_bpnet(TINY, spec, tmp_path / "m", longer)
    assert "resuming after epoch 2" in caplog.text and "starting afresh" not in caplog.text
    assert json.loads((tmp_path / "m" / "history.json").read_text())[:2] == restarted

    with caplog.at_level("INFO", logger="affdist_core.model.train"):
        train_bpnet(dataclasses.replace(TINY, lr=0.001), spec, tmp_path / "m", longer)
    assert "(params differ); starting afresh" in caplog.text


def test_stopping_never_depends_on_the_machine_by_default():
    """Stopping uses epochs and patience only: no wall-time rule unless the user asks for a guard."""
    assert TrainingSettings().max_minutes is None


def test_wall_time_guard_warns_and_is_recorded(tmp_path, caplog):
    spec = _write_dataset(tmp_path, seed=3)
    settings = TrainingSettings(batch_size=32, max_epochs=3, patience=5, max_minutes=1e-6, jit_compile=False)
    with caplog.at_level("WARNING", logger="affdist_core.model.train"):
        result = train_bpnet(TINY, spec, tmp_path / "m", settings)
    assert result.epochs_run == 1 and "wall-time guard" in result.stop_reason
    assert "depends on the machine's speed" in caplog.text
    training = json.loads((tmp_path / "m" / "training.json").read_text())
    assert training["wall_time_guard"] == {"max_minutes": 1e-6, "hit": True}

    from affdist_core.pipeline.finish import training_records

    (record,) = training_records(tmp_path / "m")
    assert record["wall_time_guard"]["hit"] and record["epochs_run"] == 1 and "wall_s" not in record
    # the same training continued without the guard reaches its epoch limit, and says the guard did not decide
    result = train_bpnet(TINY, spec, tmp_path / "m", dataclasses.replace(settings, max_minutes=None))
    assert result.epochs_run == 3 and result.stop_reason == "max_epochs reached"
    assert json.loads((tmp_path / "m" / "training.json").read_text())["wall_time_guard"]["hit"] is False


def test_the_same_training_twice_gives_the_same_model(tmp_path):
    """Same data, settings and seed → bit-identical losses and weights (what makes two demos' reports equal)."""
    spec = _write_dataset(tmp_path, seed=4)
    settings = TrainingSettings(batch_size=32, max_epochs=2, patience=5, jit_compile=False)
    histories = []
    for name in ("a", "b"):
        train_bpnet(TINY, spec, tmp_path / name, settings)
        histories.append(json.loads((tmp_path / name / "history.json").read_text()))
    assert histories[0] == histories[1]


def test_settings_are_validated():
    with pytest.raises(ValueError, match="patience"):
        TrainingSettings(patience=0)
    with pytest.raises(ValueError, match="max_minutes"):
        TrainingSettings(max_minutes=-1)


def test_mixture_counts_head_starts_with_the_bound_term():
    """The background term starts 3 log units under the mean and the bound term at the mean with no nuisance
    effect, so the sequence gets the gradient from the first epoch (a random start could hand every read to
    the background and leave the sequence untrained)."""
    from types import SimpleNamespace

    from affdist_core.model.bpnet import build_bpnet, predict_outputs
    from affdist_core.model.train import BACKGROUND_START_BELOW, _initialise_counts_bias

    params = BPNetParams(seq_len=61, out_pred_len=21, c_task_weight=1.0, filters=4, n_dil_layers=1,
                         conv1_kernel_size=11, dil_kernel_size=3, outconv_kernel_size=11, lr=0.001)
    model = build_bpnet(params)
    counts = np.zeros((3, 21 + 2 * 5, 2), np.uint16)
    counts[:, 5:26, 0], counts[:, 5:26, 1] = 4, 9  # per window: 84 reads on +, 189 on −
    _initialise_counts_bias(model, SimpleNamespace(counts=counts, max_jitter=5))
    mean_log = np.log1p([84.0, 189.0])
    np.testing.assert_allclose(model.get_layer("background_logcounts").get_weights()[1],
                               mean_log - BACKGROUND_START_BELOW, rtol=1e-6)
    assert not model.get_layer("bound_nuisance").get_weights()[0].any()
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (2, 61))]
    ctl = np.random.default_rng(1).random((2, 4)).astype(np.float32) * 5
    out = predict_outputs(model, x, control_logcounts=ctl, rc_average=False)["logcounts"]
    seq_part = model.get_layer("logcounts_seq")  # kernel random, bias = mean log counts
    assert np.allclose(seq_part.get_weights()[1], mean_log)
    # bound ≈ mean + small sequence term, background = mean − 3: the total sits just above the bound term
    assert np.all(out > mean_log - 1.0) and np.all(out < mean_log + 1.0)


def test_nuisance_features_are_standardised_on_the_training_windows():
    """After the trainer's start-up, the counts head's nuisance features (control, GC, composition) have mean 0
    and variance 1 over the training windows (unscaled, the composition features vary by hundredths)."""
    import keras

    from affdist_core.model.bpnet import build_bpnet
    from affdist_core.model.train import _standardise_nuisance
    from affdist_core.model.inputs import fixed_arrays
    from affdist_core.model.windows import WindowSet

    params = BPNetParams(seq_len=61, out_pred_len=21, c_task_weight=1.0, filters=4, n_dil_layers=1,
                         conv1_kernel_size=11, dil_kernel_size=3, outconv_kernel_size=11, lr=0.001)
    rng = np.random.default_rng(2)
    n, jitter = 40, 5
    windows = WindowSet("train", rng.integers(0, 4, (n, 61 + 2 * jitter)).astype(np.uint8),
                        rng.poisson(3, (n, 21 + 2 * jitter, 2)).astype(np.uint16),
                        rng.poisson(rng.uniform(0.5, 20, (n, 1, 1)), (n, 21 + 2 * jitter, 2)).astype(np.float32),
                        pd.DataFrame({"chrom": ["chrA"] * n, "centre": np.arange(n), "is_peak": True,
                                      "name": [f"p{i}" for i in range(n)], "gc": 0.5}),
                        61, 21, jitter)
    model = build_bpnet(params)
    _standardise_nuisance(model, windows, params)
    inputs = fixed_arrays(windows, params, use_control=True)[0]
    z = keras.Model(model.inputs, model.get_layer("nuisance_norm").output).predict(inputs, verbose=0)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.var(axis=0), 1.0, atol=1e-3)



def test_a_trained_model_passes_the_learning_check(trained):
    from affdist_core.model.quality import check_learning, baseline_pearson

    root, spec, _ = trained
    check = check_learning(root / "model")
    assert check.passed, check.summary()
    assert check.seed == 0 and check.baseline == "G/C fraction (no control track)"
    metrics = evaluate_model_dir(root / "model", splits=("valid",)).metrics["valid"]
    assert (check.counts_pearson, check.profile_jsd) == (metrics["counts_pearson"], metrics["profile_jsd"])
    assert check.baseline_pearson == baseline_pearson(TINY, spec)[0] < check.counts_pearson
    recorded = json.loads((root / "model" / "learning_check.json").read_text())
    assert recorded["passed"] and recorded["problems"] == [] and recorded["seed"] == 0


def test_a_model_that_predicts_nothing_fails_the_learning_check(trained, tmp_path):
    """Every weight zero: constant counts (Pearson undefined) and a uniform profile — both criteria fail."""
    import shutil

    from affdist_core.model.bpnet import load_model, save_model
    from affdist_core.model.quality import check_learning

    root, _, _ = trained
    blank = tmp_path / "blank"
    shutil.copytree(root / "model", blank)
    model = load_model(blank / "model.keras")
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    save_model(model, blank / "model.keras")
    check = check_learning(blank)
    assert not check.passed and len(check.problems) == 2
    assert "counts Pearson nan is not 0.1 above the baseline" in check.problems[0]
    assert "profile JSD" in check.problems[1] and "did not learn" in check.summary()


def test_baseline_line_matches_least_squares_by_hand():
    from affdist_core.model.quality import baseline_features

    onehot = np.zeros((3, 4, 4), dtype=np.float32)
    onehot[0, :, 1] = 1  # all C
    onehot[1, :2, 0], onehot[1, 2:, 2] = 1, 1  # half G
    onehot[2, :, 3] = 1  # all T
    control = np.arange(12, dtype=np.float32).reshape(3, 4)
    features = baseline_features({"sequence": onehot, "control_logcounts": control}, use_control=True)
    np.testing.assert_allclose(features, np.c_[control, [1.0, 0.5, 0.0], np.ones(3)])
    assert baseline_features({"sequence": onehot}, use_control=False).shape == (3, 2)


def test_members_share_the_primary_models_accessibility_branch(tmp_path):
    """A member trained with ``accessibility_from`` takes the primary's fitted branch (same weights, frozen,
    recorded), and its fingerprint follows the primary's: retraining the primary makes the member stale."""
    from affdist_core.model.bpnet import load_model
    from affdist_core.model.accessibility import ACCESS_LAYER_NAMES
    from affdist_core.model.inputs import LAYERS
    from affdist_core.model.train import finished_training

    spec = _write_dataset(tmp_path)
    spec = spec.replace(control_plus_bigwig=spec.plus_bigwig, control_minus_bigwig=spec.minus_bigwig)
    settings = TrainingSettings(batch_size=32, max_epochs=2, patience=2, jit_compile=False, min_epoch_examples=0)
    train_bpnet(TINY, spec, tmp_path / "primary", settings)
    member_settings = dataclasses.replace(settings, seed=1)
    train_bpnet(TINY, spec, tmp_path / "member", member_settings, accessibility_from=tmp_path / "primary")
    primary, member = load_model(tmp_path / "primary"), load_model(tmp_path / "member")
    for name in ACCESS_LAYER_NAMES:
        for a, b in zip(primary.get_layer(name).get_weights(), member.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(primary.get_layer(LAYERS.conv1).get_weights()[0],
                              member.get_layer(LAYERS.conv1).get_weights()[0])  # BPNet itself differs
    record = json.loads((tmp_path / "member" / "training.json").read_text())
    assert record["accessibility"]["shared_from"] == str(tmp_path / "primary")
    assert finished_training(tmp_path / "member", TINY, spec, member_settings, tmp_path / "primary")
    assert not finished_training(tmp_path / "member", TINY, spec, member_settings)  # another training
    primary_record = json.loads((tmp_path / "primary" / "training.json").read_text())
    (tmp_path / "primary" / "training.json").write_text(json.dumps({**primary_record, "fingerprint": "retrained"}))
    assert not finished_training(tmp_path / "member", TINY, spec, member_settings, tmp_path / "primary")
