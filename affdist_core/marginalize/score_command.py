"""``affdist marginalize``: Affinity Distillation scores of query sequences or of a library, from a model directory.

The scorer is the model directory's ensemble (:func:`affdist_core.model.ensemble.load_members`; the primary
model alone with ``primary_only``) on ``n_backgrounds`` backgrounds drawn from the model's training data with
``seed`` (:func:`affdist_core.marginalize.backgrounds.backgrounds_from_model_dir`).
:func:`score_sequences` returns the scores of a few sequences; :func:`score_library` scores (a fixed random
subset of) a library into ``out_dir/scores.parquet``, resumable by chunks
(:func:`affdist_core.marginalize.distill.distill_library`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from affdist_core.common.names import ModelDir
from affdist_core.marginalize.backgrounds import backgrounds_from_model_dir
from affdist_core.marginalize.distill import distill_library, library_subset
from affdist_core.marginalize.marginalizer import Marginalizer
from affdist_core.marginalize.results import MarginalizationResult
from affdist_core.model.ensemble import ensemble_tag, load_members, model_tag


def model_scorer(model_dir: str | os.PathLike, n_backgrounds: int = 100, seed: int = 0, batch_size: int = 512,
                 primary_only: bool = False) -> Marginalizer:
    """The Marginalizer of a model directory: its ensemble (or its own model with ``primary_only``) on
    ``n_backgrounds`` backgrounds drawn with ``seed``."""
    from affdist_core.model.bpnet import load_model

    models = [load_model(ModelDir.at(model_dir).model)] if primary_only else load_members(model_dir)
    return Marginalizer(models, backgrounds_from_model_dir(model_dir, n_backgrounds, seed), batch_size=batch_size)


def score_sequences(model_dir: str | os.PathLike, sequences: Sequence[str], *, n_backgrounds: int = 100,
                    seed: int = 0, batch_size: int = 512, primary_only: bool = False) -> MarginalizationResult:
    """AD scores (mean, sd over ``n_backgrounds`` backgrounds) of ``sequences`` with the model directory."""
    scorer = model_scorer(model_dir, n_backgrounds, seed, batch_size, primary_only)
    return scorer.score(list(sequences), progress=False)


def score_library(model_dir: str | os.PathLike, library: str, out_dir: str | os.PathLike | None, *,
                  n: int | None = None, n_backgrounds: int = 100, seed: int = 0, batch_size: int = 512,
                  primary_only: bool = False) -> pd.DataFrame:
    """AD scores of ``library``'s rows (a fixed random subset of ``n`` rows with ``seed``; all when None) into
    ``out_dir/scores.parquet``; returns the scores frame.

    Raises ValueError when ``out_dir`` is None (the scores go to a file, resumable by chunks).
    """
    from affdist_core.io.library import resolve_library

    if out_dir is None:
        raise ValueError("--out: required with --library (the directory receives scores.parquet)")
    scorer = model_scorer(model_dir, n_backgrounds, seed, batch_size, primary_only)
    frame = library_subset(resolve_library(library).frame.assign(id=lambda f: f["id"].astype(str)), n, seed)
    tag = model_tag(model_dir) if primary_only else ensemble_tag(model_dir)
    return distill_library(scorer, frame, Path(out_dir), model_tag=tag)
