"""The distill stage: AD scores of the scored library rows and of the backgrounds-curve rows.

Writes ``distill/`` (:class:`~affdist_core.common.names.RunDir`): ``backgrounds.parquet``, ``scores.parquet``
(resumable by chunks, :func:`affdist_core.marginalize.distill.distill_library`), ``readouts.json``,
``curve.parquet``, ``curve_deltas.npy`` and ``distill.json``.

Read-outs (issue 25): marginalization's finite difference (``counts``) and the linear read-out
(:mod:`affdist_core.marginalize.linear_readout`) are both computed. The linear read-out's matrix is each model's
mean hypothetical contribution at its sites in the held-out (test and validation) peak windows (the interpret
stages' DeepSHAP of them, :func:`affdist_core.interpret.run.held_out_contributions`), each site the window its
own query matrix scores highest (``LinearReadout.build(..., site_windows=..., site_contributions=...)``; why:
docs/experiments.md, "Issue 25", steps 5 and 6);
:func:`~affdist_core.calibrate.readout_choice.choose_readout` picks, on the calibration rows only, which
read-out is reported: counts, linear, the linear read-out split by the library's core (``linear_core``,
``linear_weak``, step 7) or a least-squares combination. ``scores.parquet``'s ``score`` (and ``score_member_k``)
is the picked read-out; ``score_counts``, ``score_linear`` (``score_linear_core``, ``score_linear_weak``) and
``counts_member_k`` keep every component; ``sd`` is the counts read-out's sd over backgrounds times its weight.
``readouts.json`` holds the linear matrices and the choice, so typed sequences and variants are scored the same way
(:func:`affdist_core.marginalize.variants.build_marginalizer`). The backgrounds curve is the counts read-out's.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import atomic_path, write_json, write_parquet
from affdist_core.common.names import (
    BACKGROUNDS_FILE,
    CURVE_DELTAS_FILE,
    CURVE_FILE,
    DISTILL_SUMMARY_FILE,
    READOUTS_FILE,
    SCORES_FILE,
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
    from affdist_core.interpret.run import held_out_contributions
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
    sites, site_contributions = held_out_contributions(model_dir)
    scores, readouts = _apply_readouts(scores, rows, models, scoring_set.onehot, sites, site_contributions, settings)
    write_parquet(out / SCORES_FILE, scores)
    write_json(out / READOUTS_FILE, readouts)
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
               "curve_models": settings.curve_models, "readout": readouts["choice"],
               "timings_s": {"score": scoring_s, "curve": time.perf_counter() - started},
               "settings": asdict(settings)}
    write_json(out / DISTILL_SUMMARY_FILE, summary)
    return summary


COUNTS_MEMBER_PREFIX = "counts_member_"
#: Fewer DeepSHAP references for the registration in ``--quick`` runs (a smoke test, not a measurement).
QUICK_REGISTRATION_SHUFFLES = 4


def _apply_readouts(scores: pd.DataFrame, rows: pd.DataFrame, models: list, backgrounds: np.ndarray,
                    site_windows: np.ndarray, site_contributions: list[np.ndarray],
                    settings: MethodSettings) -> tuple[pd.DataFrame, dict]:
    """Add the linear read-out to the counts scores, choose the reported read-out on the calibration rows and
    write it as ``score`` (see the module docstring); returns the frame and ``readouts.json``'s content.
    Idempotent: a frame that already went through here is read back from its ``score_counts`` columns."""
    from affdist_core.calibrate.readout_choice import choose_readout, linear_components
    from affdist_core.marginalize.distill import member_columns
    from affdist_core.marginalize.linear_readout import REGISTRATION_BUDGET, LinearReadout

    scores = scores.copy()
    members = member_columns(scores)
    if "score_counts" in scores:  # the finished scores of an earlier pass: start again from the counts read-out
        scores["score"] = scores["score_counts"]
        scores["sd"] = scores["sd_counts"]
        for k, column in enumerate(members):
            scores[column] = scores[f"{COUNTS_MEMBER_PREFIX}{k}"]
    sequences = scores["sequence"].tolist()
    budget = {**REGISTRATION_BUDGET, **({"n_shuffles": QUICK_REGISTRATION_SHUFFLES} if settings.quick else {})}
    linear = LinearReadout.build(models, backgrounds, sequences, site_windows=site_windows,
                                 site_contributions=site_contributions, seed=settings.seed, **budget)
    counts = scores["score"].to_numpy(dtype=np.float64)
    components = {"counts": counts, **linear_components(linear, sequences)}
    sample = calibration_sample(rows, settings)
    in_sample = sample.mask(rows["id"].tolist())
    choice = choose_readout({name: values[in_sample] for name, values in components.items()},
                            rows["value"].to_numpy()[in_sample], seed=settings.seed)
    scores["score_counts"] = counts
    scores["sd_counts"] = scores["sd"].to_numpy(dtype=np.float64)
    for name, values in components.items():
        if name != "counts":
            scores[f"score_{name}"] = values
    scores["score"] = choice.combine(components)
    scores["sd"] = abs(choice.weights["counts"]) * scores["sd_counts"]
    for k, column in enumerate(members):
        scores[f"{COUNTS_MEMBER_PREFIX}{k}"] = scores[column].to_numpy(dtype=np.float64)
        own = {"counts": scores[column].to_numpy(), **linear_components(linear, sequences, member=k)}
        scores[column] = choice.combine(own)
    return scores, {"choice": choice.to_dict(), "linear": linear.to_dict()}

