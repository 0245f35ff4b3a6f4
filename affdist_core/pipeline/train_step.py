"""The train stages: the primary BPNet of a run and its ensemble members, on the run's data directory.

Each model is trained unless its directory already holds a finished model of exactly this training
(:func:`affdist_core.model.train.finished_training`: same parameters, data, settings — seed included — and
training code); an interrupted training resumes from its checkpoint, and a checkpoint of another training is
discarded by :func:`affdist_core.model.train.train_bpnet` itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

from affdist_core.model.data_spec import DataSpec
from affdist_core.model.params import BPNetParams, TrainingSettings

log = logging.getLogger(__name__)

#: The quick demo's split of chrI–chrIII (the default split is the data spec's yeast split).
QUICK_SPLIT = {"valid_chroms": ["chrII"], "test_chroms": ["chrIII"]}


def training_settings(quick: bool, seed: int) -> TrainingSettings:
    """The demo's training settings: the defaults, or 4 epochs with patience 2 when ``quick``."""
    return (TrainingSettings(max_epochs=4, patience=2, seed=seed, min_epoch_examples=0) if quick
            else TrainingSettings(seed=seed))


LEARNING_ATTEMPTS = 3
"""Trainings per model before a run stops: the given seed, then ``seed + RETRY_SEED_STEP``, ``+ 2 ×`` …"""
RETRY_SEED_STEP = 1000


class ModelDidNotLearn(RuntimeError):
    """Every attempt to train a model failed :func:`affdist_core.model.quality.check_learning`; the message
    gives each attempt's numbers and what to check."""


def train_model(data: Path | DataSpec, model_dir: Path, params: BPNetParams, split: dict,
                settings: TrainingSettings, enforce_learning: bool = True,
                accessibility_from: Path | None = None) -> bool:
    """Train a BPNet on ``data`` — the simulated data directory (``split``: data-spec overrides) or a user's data
    spec (used as it is) — into ``model_dir``; returns False when ``model_dir`` already holds this very
    training's finished model.

    The finished model is checked (:func:`affdist_core.model.quality.check_learning` on the validation
    chromosomes, recorded in ``learning_check.json``). With ``enforce_learning`` one that did not learn is
    retrained with the next seed (``seed + RETRY_SEED_STEP``, up to :data:`LEARNING_ATTEMPTS` trainings), and
    when none learns :class:`ModelDidNotLearn` stops the run; a model directory holding a later attempt's model
    resumes there (the earlier seeds failed before). Without it (quick smoke runs: a few epochs) a failed check
    is only logged. ``accessibility_from``: a finished model directory whose accessibility branch this model
    shares (:func:`~affdist_core.model.train.train_bpnet`; used only when the data have a control track)."""
    from dataclasses import replace

    from affdist_core.model.data_spec import default_data_spec
    from affdist_core.model.train import finished_training, train_bpnet

    spec = data if isinstance(data, DataSpec) else default_data_spec(data, **split)
    shared = accessibility_from if spec.has_control else None
    seeds = [settings.seed + RETRY_SEED_STEP * k for k in range(LEARNING_ATTEMPTS if enforce_learning else 1)]
    start = next((k for k, seed in enumerate(seeds)
                  if finished_training(model_dir, params, spec, replace(settings, seed=seed), shared)), 0)
    trained, failures = False, []
    for seed in seeds[start:]:
        attempt = replace(settings, seed=seed)
        if finished_training(model_dir, params, spec, attempt, shared):
            log.info("%s: trained already with these parameters, data and settings (seed %d)", model_dir, seed)
        else:
            if seed != settings.seed:
                log.warning("%s: retraining with seed %d (attempt %d of %d)", model_dir, seed,
                            seeds.index(seed) + 1, len(seeds))
            train_bpnet(params, spec, model_dir, attempt, accessibility_from=shared)
            trained = True
        verdict = _learning_check(model_dir, spec, seed)
        if verdict.passed:
            return trained
        log.warning("%s: the model did not learn: %s", model_dir, "; ".join(verdict.problems))
        if not enforce_learning:
            return trained
        failures.append(verdict)
    raise ModelDidNotLearn(
        f"{model_dir}: no training of {len(seeds)} learned (each checked on the validation chromosomes "
        f"{', '.join(spec.valid_chroms) or '(default)'}):\n  - " + "\n  - ".join(v.summary() for v in failures)
        + "\nCheck that the peaks lie where the reads are, that the strand tracks hold read 5′ ends (not coverage),"
          " and that the validation chromosomes have enough peaks; or train longer (experiment.max_epochs, "
          "max_minutes, patience).")


def _learning_check(model_dir: Path, spec: DataSpec, seed: int):
    """The recorded learning check of the model trained with ``seed`` in ``model_dir``, or a fresh one."""
    import json

    from affdist_core.common.names import ModelDir
    from affdist_core.model.quality import LearningCheck, check_learning

    path = ModelDir.at(model_dir).learning_check
    if path.is_file():
        recorded = json.loads(path.read_text())
        if recorded.get("seed") == seed and path.stat().st_mtime >= ModelDir.at(model_dir).model.stat().st_mtime:
            fields = {f: recorded[f] for f in LearningCheck.__dataclass_fields__ if f in recorded}
            return LearningCheck(**fields)
    return check_learning(model_dir, spec)


def train_members(data: Path | DataSpec, model_dir: Path, params: BPNetParams, split: dict, quick: bool,
                  seeds: list[int], training: dict | None = None) -> int:
    """Train the ensemble members with ``seeds`` (``model_dir/members/seed_<K>``; each as :func:`train_model`)
    and record them in ``model_dir/ensemble.json`` (removed when ``seeds`` is empty); returns how many were
    trained now. ``training``: overrides of :func:`training_settings` (e.g. ``max_epochs``). Each member must
    learn unless ``quick`` (:func:`train_model`'s ``enforce_learning``). With a control track every member
    takes the primary model's (``model_dir``'s) fitted accessibility branch instead of fitting its own: the
    branch models the control, the same for every member, and fitting it was a third of each member's
    training time (issue 26); the members differ in BPNet's initialisation and batch order."""
    from dataclasses import replace

    from affdist_core.model.ensemble import member_dir, write_ensemble

    members = [member_dir(model_dir, s) for s in seeds]
    trained = 0
    for k, (seed, directory) in enumerate(zip(seeds, members), start=2):
        log.info("member seed %d (model %d of %d)", seed, k, len(seeds) + 1)
        settings = training_settings(quick, seed)
        trained += train_model(data, directory, params, split, replace(settings, **training) if training else settings,
                               enforce_learning=not quick, accessibility_from=model_dir)
    write_ensemble(model_dir, members)
    return trained


def write_task_views(joint_dir: Path, task: int, model_dir: Path, spec: DataSpec,
                     member_seeds: list[int] | None = None) -> None:
    """A multi-task project's TF as a single-task model directory: task ``task`` of the multi-task model in
    ``joint_dir`` into ``model_dir`` (:func:`affdist_core.model.task_views.write_task_view`, recorded with
    ``spec``, the TF's own data spec) with its learning check on the TF's own validation peaks; with
    ``member_seeds`` instead the task of each of the joint model's members (``joint_dir/members/seed_<K>``)
    into ``model_dir/members/seed_<K>``, recorded in ``model_dir/ensemble.json``. The joint training already
    required every task to learn (:func:`train_model`), so the checks here are the TF's record."""
    from affdist_core.model.ensemble import member_dir, write_ensemble
    from affdist_core.model.quality import check_learning
    from affdist_core.model.task_views import write_task_view

    if member_seeds is None:
        write_task_view(joint_dir, task, model_dir, spec)
        check_learning(model_dir, spec)
        return
    members = []
    for seed in member_seeds:
        members.append(write_task_view(member_dir(joint_dir, seed), task, member_dir(model_dir, seed), spec))
        check_learning(members[-1], spec)
    write_ensemble(model_dir, members)
