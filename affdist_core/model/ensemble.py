"""Ensembles of trained BPNets: Affinity Distillation can score with the mean of several models' counts heads.

Why: a single BPNet's flank preferences depend on its random initialisation. On the default Pho4 run (4,000
library rows, calibration 400) single models trained with seeds 0, 1 and 2 reached held-out Pearson 0.874,
0.839 and 0.816; the mean of the three models' scores reached 0.874 (models agree with each other at r 0.85 to
0.96). Averaging cancels the seed-specific part, so the result no longer depends on which seed was lucky.

Layout: the primary model directory (the one evaluated, interpreted and shown in the app) holds
``ensemble.json`` = ``{"members": [".", "members/seed_1", ...]}`` (directories relative to it, the primary
itself first). Without the file the model directory is an ensemble of one. Every member is a complete
``affdist train`` directory trained on the same data spec; only the training seed differs.

Scoring: :func:`scoring_ensemble` wraps each member's scoring model in a uniquely named Keras model and
concatenates their outputs in one graph, so one ``predict`` call evaluates every member; the
:class:`~affdist_core.marginalize.marginalizer.Marginalizer` averages them (Δ log counts is linear in the log counts, so the
ensemble score is exactly the mean of the members' scores on the same backgrounds) and keeps each member's own
score too, so a run can report how much the ensemble gains over its members at no extra model evaluations.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import keras

from affdist_core.common.atomic import write_json

log = logging.getLogger(__name__)

ENSEMBLE_FILE = "ensemble.json"
MEMBERS_DIR = "members"


def member_dir(model_dir: str | os.PathLike, seed: int) -> Path:
    """Where the ensemble member trained with ``seed`` lives: ``model_dir/members/seed_<seed>``."""
    return Path(model_dir) / MEMBERS_DIR / f"seed_{int(seed)}"


def member_dirs(model_dir: str | os.PathLike) -> list[Path]:
    """The model directories whose mean AD scores with: the primary ``model_dir`` first, then the members
    listed in ``model_dir/ensemble.json`` (just ``[model_dir]`` when there is no such file).

    Raises ValueError if a listed member has no ``model.keras`` (an interrupted ensemble: rerun the training).
    """
    model_dir = Path(model_dir)
    path = model_dir / ENSEMBLE_FILE
    if not path.is_file():
        return [model_dir]
    listed = json.loads(path.read_text()).get("members", [])
    dirs = [model_dir] + [model_dir / m for m in listed if m not in (".", "")]
    missing = [str(d) for d in dirs if not (d / "model.keras").is_file()]
    if missing:
        raise ValueError(f"{path}: member model(s) missing: {', '.join(missing)}; rerun `affdist demo` (it "
                         f"trains missing members) or delete {ENSEMBLE_FILE} to score with the primary model only")
    return dirs


def write_ensemble(model_dir: str | os.PathLike, members: list[Path]) -> None:
    """Record ``members`` (model directories other than the primary) in ``model_dir/ensemble.json``; with no
    members the file is removed, so the model directory scores alone."""
    model_dir = Path(model_dir)
    path = model_dir / ENSEMBLE_FILE
    if not members:
        path.unlink(missing_ok=True)
        return
    relative = [os.path.relpath(Path(m), model_dir) for m in members]
    write_json(path, {"members": ["."] + relative})


def training_seed(model_dir: str | os.PathLike) -> int | None:
    """The seed recorded in ``model_dir/training.json``, or None when there is no finished model there."""
    path = Path(model_dir) / "training.json"
    return int(json.loads(path.read_text())["settings"]["seed"]) if path.exists() else None


def load_members(model_dir: str | os.PathLike) -> list[keras.Model]:
    """The Keras models of :func:`member_dirs` (primary first)."""
    from affdist_core.model.bpnet import load_model

    models = [load_model(d / "model.keras") for d in member_dirs(model_dir)]
    if len(models) > 1:
        log.info("ensemble: %d models from %s", len(models), model_dir)
    return models


def ensemble_tag(model_dir: str | os.PathLike) -> str:
    """Identifies every member (resolved path and mtime of each ``model.keras``) for a distillation manifest."""
    from affdist_core.marginalize.distill import model_tag

    return "+".join(model_tag(d) for d in member_dirs(model_dir))


def scoring_ensemble(scoring_models: list[keras.Model]) -> keras.Model:
    """One Keras model ``(n, L, 4) → (n, K)``: column k = member k's output (each member (n, L, 4) → (n, 1),
    same L), so one call evaluates every member. A single model is returned unchanged ((n, 1))."""
    if len(scoring_models) == 1:
        return scoring_models[0]
    shape = tuple(scoring_models[0].input_shape[1:])
    wrapped = []
    for k, model in enumerate(scoring_models):
        if tuple(model.input_shape[1:]) != shape:
            raise ValueError(f"models: ensemble member {k} takes input {model.input_shape[1:]}, member 0 takes "
                             f"{shape}; members must share the input length")
        inp = keras.Input(shape, name="sequence")
        wrapped.append(keras.Model(inp, model(inp), name=f"member_{k}"))  # unique names inside the ensemble
    inp = keras.Input(shape, name="sequence")
    output = keras.layers.Concatenate(axis=-1, name="members")([member(inp) for member in wrapped])
    return keras.Model(inp, output, name=f"ensemble_of_{len(scoring_models)}")
