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
    return TrainingSettings(max_epochs=4, patience=2, seed=seed) if quick else TrainingSettings(seed=seed)


def train_model(data: Path | DataSpec, model_dir: Path, params: BPNetParams, split: dict,
                settings: TrainingSettings) -> bool:
    """Train a BPNet on ``data`` — the simulated data directory (``split``: data-spec overrides) or a user's data
    spec (used as it is) — into ``model_dir``; returns False when ``model_dir`` already holds this very
    training's finished model."""
    from affdist_core.model.data_spec import default_data_spec
    from affdist_core.model.train import finished_training, train_bpnet

    spec = data if isinstance(data, DataSpec) else default_data_spec(data, **split)
    if finished_training(model_dir, params, spec, settings):
        log.info("%s: trained already with these parameters, data and settings (seed %d)", model_dir,
                 settings.seed)
        return False
    train_bpnet(params, spec, model_dir, settings)
    return True


def train_members(data: Path | DataSpec, model_dir: Path, params: BPNetParams, split: dict, quick: bool,
                  seeds: list[int], training: dict | None = None) -> int:
    """Train the ensemble members with ``seeds`` (``model_dir/members/seed_<K>``; each as :func:`train_model`)
    and record them in ``model_dir/ensemble.json`` (removed when ``seeds`` is empty); returns how many were
    trained now. ``training``: overrides of :func:`training_settings` (e.g. ``max_epochs``)."""
    from dataclasses import replace

    from affdist_core.model.ensemble import member_dir, write_ensemble

    members = [member_dir(model_dir, s) for s in seeds]
    trained = 0
    for k, (seed, directory) in enumerate(zip(seeds, members), start=2):
        log.info("member seed %d (model %d of %d)", seed, k, len(seeds) + 1)
        settings = training_settings(quick, seed)
        trained += train_model(data, directory, params, split, replace(settings, **training) if training else settings)
    write_ensemble(model_dir, members)
    return trained
