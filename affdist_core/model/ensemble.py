"""Ensembles of trained BPNets: Affinity Distillation can score with the mean of several models' counts heads.

Why: a single BPNet's flank preferences depend on its random initialisation; averaging the scores of models
trained with different seeds cancels the seed-specific part, so the result no longer depends on which seed was
lucky (measured gains: ``docs/experiments.md``).

Layout: the primary model directory (the one evaluated, interpreted and shown in the app) holds
``ensemble.json`` = ``{"members": [".", "members/seed_1", ...]}`` (directories relative to it, the primary
itself first; :data:`~affdist_core.common.names.ENSEMBLE_FILE`, :data:`~affdist_core.common.names.MEMBERS_DIR`).
Without the file the model directory is an ensemble of one. Every member is a complete ``affdist train``
directory trained on the same data spec; only the training seed differs.

Scoring: the marginalizer puts every member in one Keras graph
(:func:`affdist_core.marginalize.marginalizer.scoring_ensemble`) and averages them; this module only knows
where the members are, how to load them and how to identify them (:func:`model_tag`, :func:`ensemble_tag`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from affdist_core.common.atomic import write_json
from affdist_core.common.names import ENSEMBLE_FILE, ModelDir

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

__all__ = [
    "ensemble_tag",
    "load_members",
    "member_dir",
    "member_dirs",
    "model_tag",
    "training_seed",
    "write_ensemble",
]


def member_dir(model_dir: str | os.PathLike, seed: int) -> Path:
    """Where the ensemble member trained with ``seed`` lives: ``model_dir/members/seed_<seed>``."""
    return ModelDir.at(model_dir).member(seed)


def member_dirs(model_dir: str | os.PathLike) -> list[Path]:
    """The model directories whose mean AD scores with: the primary ``model_dir`` first, then the members
    listed in ``model_dir/ensemble.json`` (just ``[model_dir]`` when there is no such file).

    Raises ValueError if a listed member has no ``model.keras`` (an interrupted ensemble: rerun the training).
    """
    model_dir = Path(model_dir)
    path = ModelDir(model_dir).ensemble
    if not path.is_file():
        return [model_dir]
    listed = json.loads(path.read_text()).get("members", [])
    dirs = [model_dir] + [model_dir / m for m in listed if m not in (".", "")]
    missing = [str(d) for d in dirs if not ModelDir(d).model.is_file()]
    if missing:
        raise ValueError(f"{path}: member model(s) missing: {', '.join(missing)}; rerun `affdist demo` (it "
                         f"trains missing members) or delete {ENSEMBLE_FILE} to score with the primary model only")
    return dirs


def write_ensemble(model_dir: str | os.PathLike, members: list[Path]) -> None:
    """Record ``members`` (model directories other than the primary) in ``model_dir/ensemble.json``; with no
    members the file is removed, so the model directory scores alone."""
    model_dir = Path(model_dir)
    path = ModelDir(model_dir).ensemble
    if not members:
        path.unlink(missing_ok=True)
        return
    relative = [os.path.relpath(Path(m), model_dir) for m in members]
    write_json(path, {"members": ["."] + relative})


def training_seed(model_dir: str | os.PathLike) -> int | None:
    """The seed recorded in ``model_dir/training.json``, or None when there is no finished model there."""
    path = ModelDir.at(model_dir).training
    return int(json.loads(path.read_text())["settings"]["seed"]) if path.exists() else None


def load_members(model_dir: str | os.PathLike) -> list[keras.Model]:
    """The Keras models of :func:`member_dirs` (primary first)."""
    from affdist_core.model.bpnet import load_model

    models = [load_model(ModelDir(d).model) for d in member_dirs(model_dir)]
    if len(models) > 1:
        log.info("ensemble: %d models from %s", len(models), model_dir)
    return models


def model_tag(model_dir: str | os.PathLike) -> str:
    """Identifies a trained model for a distillation manifest: ``model.keras``'s resolved path and mtime, so a
    retrained model never reuses old chunks."""
    path = ModelDir.at(model_dir).model
    return f"{path.resolve()}@{path.stat().st_mtime_ns}"


def ensemble_tag(model_dir: str | os.PathLike) -> str:
    """Identifies every member (:func:`model_tag` of each, joined by ``+``) for a distillation manifest."""
    return "+".join(model_tag(d) for d in member_dirs(model_dir))
