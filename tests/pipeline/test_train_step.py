"""The train stage's learning gate (affdist_core.pipeline.train_step.train_model): a model that did not learn
is retrained with the next seed, a model directory resumes at the attempt it holds, and when no attempt learns
the run stops with every attempt's numbers. Training and the check are replaced by fakes keyed on the seed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from affdist_core.common.names import ModelDir
from affdist_core.model.params import TrainingSettings
from affdist_core.model.quality import LearningCheck
from affdist_core.pipeline import train_step

from tiny_dataset import TINY, write_dataset


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Fake training (writes a finished model record) and a fake check that passes for seeds ≥ ``learns_from``."""
    import affdist_core.model.quality as quality
    import affdist_core.model.train as train

    state = {"trained": [], "learns_from": 2000}

    def fake_train(params, spec, out_dir, settings, accessibility_from=None):
        paths = ModelDir.at(out_dir)
        paths.root.mkdir(parents=True, exist_ok=True)
        paths.model.write_bytes(b"model")
        paths.training.write_text(json.dumps({
            "fingerprint": train.training_fingerprint(params, spec, settings),
            "settings": dataclasses.asdict(settings)}))
        state["trained"].append(settings.seed)

    def fake_check(model_dir, spec=None, write=True):
        seed = json.loads(ModelDir.at(model_dir).training.read_text())["settings"]["seed"]
        good = seed >= state["learns_from"]
        return LearningCheck(0.8 if good else 0.1, 0.3, "control read totals + G/C fraction", 0.4 if good else 0.6,
                             0.5, 100, seed)

    monkeypatch.setattr(train, "train_bpnet", fake_train)
    monkeypatch.setattr(quality, "check_learning", fake_check)
    return state, write_dataset(tmp_path / "data")


def test_a_model_that_did_not_learn_is_retrained_with_the_next_seed(tmp_path, fake):
    state, spec = fake
    settings = TrainingSettings(seed=0, max_minutes=None)
    assert train_step.train_model(spec, tmp_path / "model", TINY, {}, settings)
    assert state["trained"] == [0, 1000, 2000]
    # a rerun finds the attempt that learned and trains nothing, not even the seeds that failed before
    assert not train_step.train_model(spec, tmp_path / "model", TINY, {}, settings)
    assert state["trained"] == [0, 1000, 2000]


def test_without_enforcement_a_failed_check_keeps_the_first_model(tmp_path, fake):
    state, spec = fake
    state["learns_from"] = 10**9
    assert train_step.train_model(spec, tmp_path / "model", TINY, {}, TrainingSettings(seed=5),
                                  enforce_learning=False)
    assert state["trained"] == [5]  # reported, not retrained


def test_when_no_attempt_learns_the_run_stops_with_the_numbers(tmp_path, fake):
    state, spec = fake
    state["learns_from"] = 10**9
    with pytest.raises(train_step.ModelDidNotLearn) as caught:
        train_step.train_model(spec, tmp_path / "model", TINY, {}, TrainingSettings(seed=3))
    message = str(caught.value)
    assert state["trained"] == [3, 1003, 2003]
    for seed in (3, 1003, 2003):
        assert f"seed {seed}: validation counts r 0.100 (baseline 0.300" in message
    assert "no training of 3 learned" in message and "chrB" in message and "max_epochs" in message
