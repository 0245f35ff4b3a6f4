"""``affdist demo``: the main job on the embedded default dataset (yeast Pho4, simulated in vivo).

The demo is ``affdist run`` on the built-in default project (``affdist_core/data/default_project.toml``, a
``[simulate]`` project) with the demo's flags as overrides (:func:`demo_overrides`), its one run directory placed
at ``out_dir`` and its catalog id ``<tf>-<library>[-quick]``. Its runs are a list of stages
(:mod:`affdist_core.pipeline.demo_stages`) run by
:func:`affdist_core.pipeline.stage.run_stages`: a stage is skipped when its outputs exist and its fingerprint
(settings, code, inputs, upstream stages) is the one recorded when it last finished, so an interrupted demo
resumes (training from its checkpoint, distillation from its last finished chunk) and a changed parameter
reruns exactly the stages that depend on it; ``force`` reruns everything.

1. ``data/``  — simulate the Pho4 ChIP-nexus experiment (builds the S288C genome if needed);
2. ``model/`` — train the compact yeast BPNet (train chromosomes; early stopping on chrVII; chrIV held out);
3. ``model/metrics.json`` — evaluate counts and profile predictions per chromosome split;
4. ``model/interpret/`` — DeepSHAP contributions on held-out peaks and TF-MoDISco motifs;
5. ``model/members/`` — the ensemble members (default 2 more BPNets, seeds + 1 and + 2; ``ensemble.json``);
6. ``distill/`` — Affinity Distillation scores (mean of the ensemble) of a fixed random subset of the library
   (default 20,000 rows, N = 10 backgrounds × 3 models; ``--full`` = every row, N = 5) and the
   backgrounds-curve rows (the primary model, N up to 100; 600 rows, ``--full`` 4,000);
7. ``baselines/`` — STREME, Weeder, MoDISco and JASPAR motifs from the same in-vivo data;
8. ``compare/`` — every method calibrated on one sample (min(1000, 10 %) of the scored rows) and judged on the
   held-out rows;
9. ``analyses/`` — dynamic range, backgrounds curve, genomic matches, counts by split;
10. ``report.json`` and the catalog (default ``data_catalog/affdist.duckdb``), written every time.

``quick`` simulates chrI–chrIII only, trains a few epochs and scores 2,000 rows with 5 backgrounds (a smoke
test of the whole path, minutes) with one model. ``tf``/``library``/``core``/``jaspar`` run another TF the same way.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime, timezone
from pathlib import Path

from affdist_core.common.names import INTERPRET_FILE, SIMULATION_FILE, ModelDir, RunDir
from affdist_core.pipeline.demo_stages import QUICK_CHROMS, DemoPlan, demo_stages
from affdist_core.pipeline.finish import finish_run
from affdist_core.pipeline.stage import run_stages

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_CATALOG", "QUICK_CHROMS", "demo_overrides", "demo_plan", "finish_run", "format_demo", "run_demo"]

DEFAULT_CATALOG = Path("data_catalog/affdist.duckdb")


def demo_overrides(quick: bool = False, *, full: bool = False, tf: str | None = None, library: str | None = None,
                   core: str | None = None, jaspar: str | None = None, n_scored: int | None = None,
                   n_backgrounds: int | None = None, value_col: str | None = None, sequence_col: str | None = None,
                   train_seed: int = 0, n_models: int | None = None, workers: int = 0,
                   scheduler: str | None = None) -> dict:
    """``affdist demo``'s flags as overrides of the built-in default project
    (:func:`~affdist_core.pipeline.project.default_project_path`). A library file's path is made absolute
    (the project file's folder is not the working directory); another TF keeps the preset's JASPAR id unless
    ``jaspar`` is given, as the demo always did."""
    from affdist_core.io.library import builtin_libraries

    the_tf = tf or "Pho4"
    experiment: dict = {"tf": the_tf, "seed": train_seed}
    if n_models is not None:
        experiment["models"] = n_models
    if core is not None:
        experiment["core"] = core
    entry: dict = {"name": "betseq_pho4", "path": "betseq_pho4", "tf": the_tf}
    if library is not None:
        if library in builtin_libraries():
            entry = {"path": library, "tf": the_tf}
        else:
            entry = {"path": str(Path(library).resolve()), "tf": the_tf}
            entry.update({k: v for k, v in (("sequence_col", sequence_col), ("value_col", value_col)) if v})
    distill: dict = {}
    if full:
        distill["n_scored"] = "all"
    if n_scored is not None:
        distill["n_scored"] = n_scored
    if n_backgrounds is not None:
        distill["n_backgrounds"] = n_backgrounds
    if workers:
        distill["workers"] = workers
    if scheduler:
        distill["scheduler"] = scheduler
    overrides = {"quick": quick, "experiment": [experiment], "library": [entry],
                 "motifs": {"jaspar": {the_tf: jaspar or "MA0357.1"}}}
    return {**overrides, **({"distill": distill} if distill else {})}


def demo_plan(out_dir: str | Path, quick: bool = False, **flags) -> DemoPlan:
    """The resolved demo (config, library, sizes) for :func:`run_demo`'s arguments: the built-in default
    project with :func:`demo_overrides`, its one run directory placed at ``out_dir``. Raises
    :class:`~affdist_core.pipeline.project.ProjectError` for bad flags (every problem at once)."""
    from affdist_core.pipeline.project import default_project_path
    from affdist_core.pipeline.project_checks import validate_project
    from affdist_core.pipeline.run import project_plans

    project = validate_project(default_project_path(), demo_overrides(quick, **flags))
    (run,) = project_plans(project)
    return dataclasses.replace(run.plan, run_dir=Path(out_dir))


def run_demo(out_dir: str | Path, quick: bool = False, force: bool = False,
             catalog_path: str | Path = DEFAULT_CATALOG, *, full: bool = False, tf: str | None = None,
             library: str | None = None, core: str | None = None, jaspar: str | None = None,
             n_scored: int | None = None, n_backgrounds: int | None = None, value_col: str | None = None,
             sequence_col: str | None = None, train_seed: int = 0, n_models: int | None = None,
             workers: int = 0, scheduler: str | None = None) -> dict:
    """Run the demo pipeline into ``out_dir`` and write ``out_dir/report.json``; returns the report.

    ``tf``/``library``/``core``/``jaspar`` replace the preset's TF (the simulator uses ``library`` as the TF's
    energy model, so any TF with an in-vitro flank library runs the same way). ``full`` scores every library
    row; ``n_scored``/``n_backgrounds`` override the defaults (see
    :func:`~affdist_core.pipeline.method_stages.method_settings`). ``train_seed``: the model's weight
    initialisation and batch order (a model trained with another seed is retrained). ``n_models``: BPNets whose
    mean AD scores with (default 3, quick 1); the primary model (``train_seed``, evaluated, interpreted and
    shown) plus members trained with seeds ``train_seed + 1, ...``. ``workers``/``scheduler``: distill the library
    on a local Dask cluster of that many processes / on a running Dask scheduler (same scores).
    """
    run_started = datetime.now(timezone.utc)
    plan = demo_plan(out_dir, quick, full=full, tf=tf, library=library, core=core, jaspar=jaspar,
                     n_scored=n_scored, n_backgrounds=n_backgrounds, value_col=value_col,
                     sequence_col=sequence_col, train_seed=train_seed, n_models=n_models, workers=workers,
                     scheduler=scheduler)
    outcomes = run_stages(demo_stages(plan), plan.paths.root, force=force, logger=log)
    timings = {name: outcome.seconds for name, outcome in outcomes.items()}
    run_id = f"{plan.the_tf.lower()}-{plan.library.name}" + ("-quick" if plan.quick else "")
    return finish_run(plan, catalog_path, run_id, timings, run_started)


def format_demo(run_dir: str | Path) -> str:
    """The console summary of a finished demo run directory: simulation, model metrics, MoDISco motifs, the
    method comparison, the backgrounds curve, the ensemble members and the calibration resampling."""
    from affdist_core.compare.format import (
        format_comparison,
        format_members,
        format_metrics,
        format_motifs,
        format_resampling,
    )
    from affdist_core.model.ensemble import training_seed
    from affdist_core.simulate.summary import format_summary

    paths = RunDir.at(run_dir)
    model = ModelDir(paths.model)
    report = _read(paths.report)
    lines = [format_summary(_read(paths.data / SIMULATION_FILE)["summary"]),
             format_metrics(_read(model.metrics)),
             format_motifs(_read(model.interpret / INTERPRET_FILE)),
             f"\nHeld-out library rows ({report['n_scored']:,} scored of {report['n_library']:,}; calibration on "
             f"{report['calibration']['n_samples']:,}; N = {report['n_backgrounds']} backgrounds; AD = mean of "
             f"{report['n_models']} model(s)):",
             format_comparison(report["methods"], report["units"])]
    curve = report["backgrounds_curve"]
    curve_models = curve[0].get("n_models", 1) if curve else 1
    scored_by = f"model seed {training_seed(model.root)}" if curve_models == 1 else f"{curve_models} models"
    lines.append(f"AD vs number of backgrounds ({scored_by}): " + ", ".join(
        f"N={p['n']}: RMSE {p['rmse']:.4f}" for p in curve))
    if report.get("ensemble_members"):
        lines.append(format_members(report["ensemble_members"], report["methods"]["affinity_distillation"]))
    if report.get("calibration_resampling"):
        lines.append(format_resampling(report["calibration_resampling"]))
    return "\n".join(lines)


def _read(path: Path) -> dict:
    return json.loads(path.read_text())
