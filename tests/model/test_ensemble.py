"""Tests of affdist_core.model.ensemble: ensemble scores are exactly the mean of the members' scores (analytic k-mer
models), the ensemble file round trip and its errors, and the demo's member training is resumable."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest

from affdist_core.pipeline.method_stages import MethodSettings
from affdist_core.calibrate.calibration import calibrate, choose_calibration_sample
from affdist_core.compare.compare import member_metrics, sd_ratio
from affdist_core.common.names import ENSEMBLE_FILE
from affdist_core.model.ensemble import (
    member_dir,
    member_dirs,
    training_seed,
    write_ensemble,
)
from affdist_core.marginalize.backgrounds import BackgroundSet
from affdist_core.marginalize.marginalizer import Marginalizer, scoring_ensemble
from affdist_core.seq.alphabet import one_hot


def _weighted_kmer_model(weight: float, kmer: str, seq_len: int = 30) -> keras.Model:
    """(n, seq_len, 4) → (n, 1): ``weight`` × forward-strand occurrences of ``kmer`` (every model is named
    the same, as loaded BPNets are)."""
    inp = keras.Input((seq_len, 4))
    conv = keras.layers.Conv1D(1, len(kmer), use_bias=True)
    hits = keras.layers.ReLU()(conv(inp))
    out = keras.layers.Dense(1, use_bias=False)(keras.layers.GlobalAveragePooling1D()(hits))
    model = keras.Model(inp, out, name="same_name")
    conv.set_weights([one_hot(kmer)[:, :, None], np.array([-(len(kmer) - 1)], dtype=np.float32)])
    model.layers[-1].set_weights([np.array([[weight * (seq_len - len(kmer) + 1)]], dtype=np.float32)])
    return model


def _a_only_backgrounds(n: int = 3, seq_len: int = 30) -> BackgroundSet:
    return BackgroundSet(np.stack([one_hot("A" * seq_len)] * n))


def test_ensemble_score_is_the_mean_of_member_scores():
    # member 1 counts CACGTG with weight 2, member 2 counts GGG with weight 1: on A-only backgrounds the score
    # of an insert is (2 × #CACGTG + 1 × #GGG) / 2 exactly
    members = [_weighted_kmer_model(2.0, "CACGTG"), _weighted_kmer_model(1.0, "GGG")]
    queries = ["CACGTG", "GGGAGGG", "CACGTGGG", "ATATAT"]
    expected = np.array([2 * 1 + 0, 0 + 2, 2 * 1 + 1, 0]) / 2
    ensemble = Marginalizer(members, _a_only_backgrounds(), rc_average=False)
    assert ensemble.n_models == 2 and ensemble.scoring_model.name == "ensemble_of_2"
    result = ensemble.score(queries, progress=False)
    np.testing.assert_allclose(result.mean, expected, atol=1e-5)
    singles = [Marginalizer(m, _a_only_backgrounds(), rc_average=False).score(queries, progress=False).mean
               for m in members]
    np.testing.assert_allclose(result.mean, np.mean(singles, axis=0), atol=1e-5)
    np.testing.assert_allclose(result.member_means, np.array(singles).T, atol=1e-5)  # each model's own score
    assert Marginalizer(members[0], _a_only_backgrounds(), rc_average=False).score(queries, progress=False
                                                                                   ).member_means is None
    assert Marginalizer([members[0]], _a_only_backgrounds(), rc_average=False).n_models == 1
    with pytest.raises(ValueError, match="non-empty list"):
        Marginalizer([], _a_only_backgrounds())


def test_members_must_share_the_input_length():
    with pytest.raises(ValueError, match="members must share the input length"):
        scoring_ensemble([_weighted_kmer_model(1.0, "GGG", 30), _weighted_kmer_model(1.0, "GGG", 31)])


def _fake_model_dir(path, seed: int):
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.keras").write_bytes(b"")
    (path / "training.json").write_text(json.dumps({"settings": {"seed": seed}}))
    return path


def test_ensemble_file_round_trip_and_missing_members(tmp_path):
    primary = _fake_model_dir(tmp_path / "model", 0)
    assert member_dirs(primary) == [primary]  # no ensemble.json: the primary alone
    members = [_fake_model_dir(member_dir(primary, s), s) for s in (1, 2)]
    write_ensemble(primary, members)
    listed = json.loads((primary / ENSEMBLE_FILE).read_text())["members"]
    assert listed == [".", "members/seed_1", "members/seed_2"]  # relative: the run directory can move
    assert member_dirs(primary) == [primary] + members
    assert [training_seed(d) for d in member_dirs(primary)] == [0, 1, 2]
    (members[1] / "model.keras").unlink()
    with pytest.raises(ValueError, match="seed_2.*rerun `affdist demo`"):
        member_dirs(primary)
    write_ensemble(primary, [])
    assert not (primary / ENSEMBLE_FILE).exists() and member_dirs(primary) == [primary]


def test_demo_trains_missing_members_only(tmp_path, monkeypatch):
    """The members stage trains each member its model directory lacks (or holds from another seed), once."""
    import dataclasses

    from tiny_dataset import TINY, passing_check, write_dataset as _write_dataset

    from affdist_core.model import quality, train
    from affdist_core.pipeline.train_step import train_members

    _write_dataset(tmp_path)
    split = {"valid_chroms": ["chrB"], "test_chroms": ["chrC"]}
    trained = []

    def fake_train_bpnet(params, spec, out, settings, accessibility_from=None):
        trained.append(settings.seed)
        _fake_model_dir(out, settings.seed)
        record = json.loads((out / "training.json").read_text())
        record.update(settings=dataclasses.asdict(settings),
                      fingerprint=train.training_fingerprint(params, spec, settings))
        (out / "training.json").write_text(json.dumps(record))

    monkeypatch.setattr(train, "train_bpnet", fake_train_bpnet)
    monkeypatch.setattr(quality, "check_learning", passing_check)  # fake models: no real check
    primary = _fake_model_dir(tmp_path / "model", 5)
    assert train_members(tmp_path, primary, TINY, split, False, [6, 7]) == 2
    assert trained == [6, 7]
    assert [training_seed(d) for d in member_dirs(primary)] == [5, 6, 7]
    assert train_members(tmp_path, primary, TINY, split, False, [6, 7]) == 0  # all there: nothing to do
    record = json.loads((member_dir(primary, 7) / "training.json").read_text())
    record["settings"]["seed"] = 9
    (member_dir(primary, 7) / "training.json").write_text(json.dumps(record))
    assert train_members(tmp_path, primary, TINY, split, False, [6, 7]) == 1  # wrong seed: retrained
    assert trained == [6, 7, 7]
    assert train_members(tmp_path, primary, TINY, split, False, []) == 0  # fewer models: file removed
    assert member_dirs(primary) == [primary]


def test_member_metrics_calibrate_each_member_on_the_comparison_sample():
    rng = np.random.default_rng(0)
    measured = rng.normal(0, 1, 400)
    ids = [f"r{i}" for i in range(400)]
    members = pd.DataFrame({"score_member_0": 2 * measured + rng.normal(0, 0.3, 400),
                            "score_member_1": -measured + rng.normal(0, 1.0, 400)})
    sample = choose_calibration_sample(ids, n=100, random_state=1)
    out = member_metrics(members, measured, ids, sample, seeds=[4, 5])
    held = ~sample.mask(ids)
    for k, entry in enumerate(out):
        fit, pred = calibrate(members.iloc[:, k].to_numpy(), measured, ids, sample)
        assert entry["member"] == k and entry["seed"] == 4 + k
        assert entry["rmse"] == pytest.approx(fit.rmse) and entry["pearson"] == pytest.approx(fit.pearson)
        assert entry["sd_ratio"] == pytest.approx(sd_ratio(pred[held], measured[held]))
    assert out[0]["rmse"] < out[1]["rmse"] and out[1]["pearson"] > 0  # calibration flips the negative slope
    assert "seed" not in member_metrics(members, measured, ids, sample)[0]


def test_distilled_scores_keep_each_members_score(tmp_path):
    from affdist_core.marginalize.distill import SCORE_COLUMNS, distill_library, member_columns

    members = [_weighted_kmer_model(2.0, "CACGTG"), _weighted_kmer_model(1.0, "GGG")]
    frame = pd.DataFrame({"id": ["a", "b", "c"], "sequence": ["CACGTG", "GGGAGGG", "ATATAT"]})
    marginalizer = Marginalizer(members, _a_only_backgrounds(), rc_average=False)
    scores = distill_library(marginalizer, frame, tmp_path, chunk_rows=2, progress=False)
    assert scores.columns.tolist() == SCORE_COLUMNS + ["score_member_0", "score_member_1"]
    assert member_columns(scores) == ["score_member_0", "score_member_1"]
    np.testing.assert_allclose(scores[member_columns(scores)].to_numpy(), [[2, 0], [0, 2], [0, 0]], atol=1e-5)
    np.testing.assert_allclose(scores["score"], scores[member_columns(scores)].mean(axis=1), atol=1e-9)
    assert json.loads((tmp_path / "manifest.json").read_text())["n_models"] == 2


def test_demo_sizes_average_three_models_by_default():
    from affdist_core.pipeline.method_stages import method_settings

    default = method_settings(quick=False, full=False, n_scored=None, n_backgrounds=None)
    assert (default.n_scored, default.n_backgrounds, default.n_models) == (20_000, 10, 3)
    assert (default.background_pool, default.curve_heldout_rows, default.curve_calibration_rows) == (100, 300, 300)
    assert default.curve_models == 1
    assert method_settings(quick=True, full=False, n_scored=None, n_backgrounds=None).n_models == 1
    full = method_settings(quick=False, full=True, n_scored=None, n_backgrounds=None, n_models=2)
    assert (full.n_scored, full.n_backgrounds, full.n_models) == (None, 5, 2)
    assert (full.curve_heldout_rows, full.curve_calibration_rows) == (3_000, 1_000)
    assert method_settings(quick=False, full=True, n_scored=None, n_backgrounds=10).n_backgrounds == 10
    assert method_settings(quick=True, full=True, n_scored=None, n_backgrounds=None).n_backgrounds == 5
    with pytest.raises(ValueError, match="n_models: expected a positive number"):
        method_settings(quick=False, full=False, n_scored=None, n_backgrounds=None, n_models=0)
    with pytest.raises(ValueError, match=r"curve_models: expected 1..n_models \(1\)"):
        MethodSettings(n_models=1, curve_models=2)
