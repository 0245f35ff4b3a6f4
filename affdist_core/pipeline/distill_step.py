"""The distill stage: AD scores of the scored library rows and of the backgrounds-curve rows.

Writes ``distill/`` (:class:`~affdist_core.common.names.RunDir`): ``backgrounds.parquet``, ``scores.parquet``
(resumable by chunks, :func:`affdist_core.marginalize.distill.distill_library`), ``curve.parquet``,
``curve_deltas.npy`` and ``distill.json``.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from affdist_core.common.atomic import atomic_path, write_json, write_parquet
from affdist_core.common.names import (
    BACKGROUNDS_FILE,
    CURVE_DELTAS_FILE,
    CURVE_FILE,
    DISTILL_SUMMARY_FILE,
    RunDir,
)
from affdist_core.io.library import InVitroLibrary
from affdist_core.pipeline.method_stages import MethodSettings, calibration_sample, scored_rows


def run_distill(run_dir: Path, library: InVitroLibrary, settings: MethodSettings) -> dict:
    """AD scores of the scored rows and of the backgrounds-curve rows; returns ``distill.json``'s content."""
    from affdist_core.compare.analyses import curve_sample
    from affdist_core.marginalize.distill import distill_library
    from affdist_core.marginalize.backgrounds import run_backgrounds
    from affdist_core.marginalize.dask_distill import MarginalizerRecipe, distill_library_dask
    from affdist_core.marginalize.marginalizer import Marginalizer
    from affdist_core.model.ensemble import ensemble_tag, load_members

    paths = RunDir.at(run_dir)
    model_dir, out = paths.model, paths.distill
    started = time.perf_counter()
    rows = scored_rows(library, settings)
    models = load_members(model_dir)
    if len(models) != settings.n_models:
        raise ValueError(f"{model_dir}: the ensemble has {len(models)} model(s) but the settings ask for "
                         f"{settings.n_models}; train the members first (affdist demo does)")
    pool, scoring_set = run_backgrounds(model_dir, settings.background_pool, settings.seed, settings.n_backgrounds)
    write_parquet(out / BACKGROUNDS_FILE, pool.source.assign(background_id=pool.background_id))
    main = Marginalizer(models, scoring_set)
    if settings.workers or settings.scheduler:
        recipe = MarginalizerRecipe(str(model_dir), settings.n_backgrounds, settings.background_pool, settings.seed)
        scores = distill_library_dask(recipe, rows, out, model_tag=ensemble_tag(model_dir),
                                      workers=settings.workers or 2, scheduler=settings.scheduler)
    else:
        scores = distill_library(main, rows, out, model_tag=ensemble_tag(model_dir))
    scoring_s = time.perf_counter() - started

    started = time.perf_counter()
    curve_ids, _ = curve_sample(calibration_sample(rows, settings), rows["id"].tolist(),
                                settings.curve_heldout_rows, settings.seed,
                                n_calibration=settings.curve_calibration_rows)
    curve_rows = rows.set_index("id").loc[curve_ids].reset_index()
    curve_scorer = Marginalizer(models[: settings.curve_models], pool)
    result = curve_scorer.score(curve_rows["sequence"].tolist(), keep_deltas=True)
    with atomic_path(out / CURVE_DELTAS_FILE) as tmp:
        np.save(tmp, result.deltas)  # small: rows × pool float32
    write_parquet(out / CURVE_FILE, result.to_frame().assign(id=curve_ids))
    summary = {"n_scored": len(scores), "n_library": len(library), "n_backgrounds": settings.n_backgrounds,
               "n_models": len(models),
               "background_pool": settings.background_pool, "background_id": main.backgrounds.background_id,
               "pool_background_id": pool.background_id, "n_curve_rows": len(curve_ids),
               "curve_models": settings.curve_models,
               "timings_s": {"score": scoring_s, "curve": time.perf_counter() - started},
               "settings": asdict(settings)}
    write_json(out / DISTILL_SUMMARY_FILE, summary)
    return summary
