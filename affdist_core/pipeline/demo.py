"""``affdist demo``: the main job on the embedded default dataset (yeast Pho4, simulated in vivo).

Stages run in order; each is skipped when its outputs are complete (so an interrupted demo resumes: training
from its checkpoint, distillation from its last finished chunk), and redone when an earlier stage was redone
or ``force`` is given:

1. ``data/``  — simulate the Pho4 ChIP-nexus experiment (builds the S288C genome if needed);
2. ``model/`` — train the compact yeast BPNet (train chromosomes; early stopping on chrVII; chrIV held out);
3. ``model/metrics.json`` — evaluate counts and profile predictions per chromosome split;
4. ``model/interpret/`` — DeepSHAP contributions on held-out peaks and TF-MoDISco motifs;
5. ``model/members/`` — the ensemble members (default 2 more BPNets, seeds + 1 and + 2; ``ensemble.json``);
6. ``distill/`` — Affinity Distillation scores (mean of the ensemble) of a fixed random subset of the library
   (default 10,000 rows, N = 5 backgrounds × 3 models; ``--full`` = every row) and the backgrounds-curve
   rows (the primary model, N up to 100);
7. ``baselines/`` — STREME, Weeder, MoDISco and JASPAR motifs from the same in-vivo data;
8. ``compare/`` — every method calibrated on one sample (min(1000, 10 %) of the scored rows) and judged on the
   held-out rows;
9. ``analyses/`` — dynamic range, backgrounds curve, genomic matches, counts by split;
10. ``report.json`` and the catalog (default ``data_catalog/affdist.duckdb``), written in one transaction.

``quick`` simulates chrI–chrIII only, trains a few epochs and scores 2,000 rows with 5 backgrounds (a smoke
test of the whole path, minutes) with one model. ``tf``/``library``/``core``/``jaspar`` run another TF the same way.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

from affdist_core.simulate.run import SimulationOutputs, simulate
from affdist_core.common.atomic import write_json
from affdist_core.model.ensemble import training_seed
from affdist_core.simulate.config import config_library, resolve_config
from affdist_core.pipeline.method_stages import MethodSettings

log = logging.getLogger(__name__)

QUICK_CHROMS = ["chrI", "chrII", "chrIII"]
QUICK_SPLIT = {"valid_chroms": ["chrII"], "test_chroms": ["chrIII"]}


DEFAULT_CATALOG = Path("data_catalog/affdist.duckdb")


def run_demo(out_dir: str | Path, quick: bool = False, force: bool = False,
             catalog_path: str | Path = DEFAULT_CATALOG, *, full: bool = False, tf: str | None = None,
             library: str | None = None, core: str | None = None, jaspar: str | None = None,
             n_scored: int | None = None, n_backgrounds: int | None = None, value_col: str | None = None,
             sequence_col: str | None = None, train_seed: int = 0, n_models: int | None = None) -> dict:
    """Run the demo pipeline into ``out_dir`` and write ``out_dir/report.json``; returns the report.

    ``tf``/``library``/``core``/``jaspar`` replace the preset's TF (the simulator uses ``library`` as the TF's
    energy model, so any TF with an in-vitro flank library runs the same way). ``full`` scores every library
    row; ``n_scored``/``n_backgrounds`` override the defaults (see :func:`method_settings`). ``train_seed``:
    the model's weight initialisation and batch order (a model trained with another seed is retrained).
    ``n_models``: BPNets whose mean AD scores with (default 3, quick 1); the primary model (``train_seed``,
    evaluated, interpreted and shown) plus members trained with seeds ``train_seed + 1, ...``.
    """
    out_dir = Path(out_dir)
    run_started = datetime.now(timezone.utc)
    timings: dict[str, float] = {}
    data_dir, model_dir = out_dir / "data", out_dir / "model"
    overrides = {k: v for k, v in {"tf": tf, "library": library, "core": core, "jaspar_id": jaspar,
                                   "library_value_col": value_col, "library_sequence_col": sequence_col}.items()
                 if v is not None}
    config = resolve_config({**overrides, **({"chroms": QUICK_CHROMS} if quick else {})}, preset="pho4-yeast")
    the_library = config_library(config)
    settings = method_settings(quick, full, n_scored, n_backgrounds, n_models)

    stage_times = _load_stage_times(out_dir)
    started = time.perf_counter()
    outputs = SimulationOutputs.in_directory(data_dir)
    redo = force or not outputs.complete() or _simulated_config(outputs) != _comparable(config)
    simulated_now = redo
    if not redo:
        log.info("stage simulate: done already in %s (use --force to redo)", data_dir)
    else:
        simulate(config, data_dir)
    _record(timings, stage_times, "simulate", started, redo)
    simulation = json.loads(outputs.summary_json.read_text())["summary"]

    started = time.perf_counter()
    other_seed = training_seed(model_dir) not in (None, train_seed)
    redo = redo or other_seed or not (model_dir / "training.json").exists()
    if not redo:
        log.info("stage train: done already in %s", model_dir)
    else:
        _train_default(data_dir, model_dir, quick, fresh=force or simulated_now or other_seed,  # else resumes
                       seed=train_seed)
    _record(timings, stage_times, "train", started, redo)

    started = time.perf_counter()
    redo = redo or not (model_dir / "metrics.json").exists()
    if not redo:
        log.info("stage evaluate: done already")
        metrics = json.loads((model_dir / "metrics.json").read_text())
    else:
        from affdist_core.model.evaluate import evaluate_model_dir

        metrics = evaluate_model_dir(model_dir).metrics
    _record(timings, stage_times, "evaluate", started, redo)

    started = time.perf_counter()
    redo = redo or not (model_dir / "interpret" / "interpret.json").exists()
    if not redo:
        log.info("stage interpret: done already")
        interpretation = json.loads((model_dir / "interpret" / "interpret.json").read_text())
    else:
        from affdist_core.interpret.run import interpret_model_dir

        interpretation = interpret_model_dir(model_dir, n_shuffles=5 if quick else 20)
    _record(timings, stage_times, "interpret", started, redo)

    started = time.perf_counter()
    trained = _train_members(data_dir, model_dir, quick, train_seed, settings.n_models)
    _record(timings, stage_times, "train_members", started, trained)
    redo = redo or trained

    summaries = {}
    for name, directory, summary_file, run in _method_stages(out_dir, the_library, config, settings):
        started = time.perf_counter()
        path = out_dir / directory / summary_file
        redo = redo or not path.exists() or (name == "marginalize" and
                                             json.loads(path.read_text()).get("settings") != asdict(settings))
        if not redo:
            log.info("stage %s: done already", name)
            summaries[name] = json.loads(path.read_text())
        else:
            log.info("stage %s ...", name)
            summaries[name] = run()
        _record(timings, stage_times, name, started, redo)

    write_json(out_dir / "stage_times.json", stage_times)
    from affdist_core.compare.compare import format_comparison, format_members, format_resampling
    from affdist_core.compare.report import build_report, write_report

    report = build_report(tf=config["tf"], library_name=the_library.name, units=the_library.units,
                          n_library=len(the_library), metrics=metrics, distill=summaries["marginalize"],
                          comparison=summaries["compare"], analyses=summaries["analyses"], timings=stage_times)
    write_report(out_dir / "report.json", report)

    started = time.perf_counter()
    _write_catalog(catalog_path, out_dir, quick, timings, run_started, config, the_library)
    timings["catalog"] = time.perf_counter() - started

    from affdist_core.cli import _print_summary, format_metrics, format_motifs

    _print_summary(simulation)
    print(format_metrics(metrics))
    print(format_motifs(interpretation))
    print(f"\nHeld-out library rows ({report['n_scored']:,} scored of {len(the_library):,}; calibration on "
          f"{report['calibration']['n_samples']:,}; N = {report['n_backgrounds']} backgrounds; AD = mean of "
          f"{report['n_models']} model(s)):")
    print(format_comparison(report["methods"], the_library.units))
    curve_models = report["backgrounds_curve"][0].get("n_models", 1) if report["backgrounds_curve"] else 1
    scored_by = f"model seed {train_seed}" if curve_models == 1 else f"{curve_models} models"
    print(f"AD vs number of backgrounds ({scored_by}): " + ", ".join(
        f"N={p['n']}: RMSE {p['rmse']:.4f}" for p in report["backgrounds_curve"]))
    if report.get("ensemble_members"):
        print(format_members(report["ensemble_members"], report["methods"]["affinity_distillation"]))
    if report.get("calibration_resampling"):
        print(format_resampling(report["calibration_resampling"]))
    log.info("demo stages (s): %s; report: %s", {k: round(v, 1) for k, v in timings.items()},
             out_dir / "report.json")
    return report


def _load_stage_times(out_dir: Path) -> dict[str, float]:
    path = out_dir / "stage_times.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _record(timings: dict, stage_times: dict, name: str, started: float, ran: bool) -> None:
    """This invocation's time of a stage, and the time the stage took when it last ran (for the report)."""
    timings[name] = time.perf_counter() - started
    if ran or name not in stage_times:
        stage_times[name] = timings[name]


def method_settings(quick: bool, full: bool, n_scored: int | None, n_backgrounds: int | None,
                    n_models: int | None = None) -> MethodSettings:
    """The demo's sizes: default 10,000 library rows × 5 backgrounds × 3 models (pool 100; the curve: the
    primary model on 300 calibration + 300 held-out rows); ``quick`` 2,000 × 5 × 1 model (pool 20, curve 200
    held-out rows); ``full`` every row."""
    if quick:
        base = MethodSettings(n_scored=2_000, n_backgrounds=5, n_models=1, background_pool=20,
                              curve_heldout_rows=200, quick=True)
    else:
        base = MethodSettings()
    changes = {}
    if full:
        changes["n_scored"] = None
    if n_scored is not None:
        changes["n_scored"] = n_scored
    if n_backgrounds is not None:
        changes["n_backgrounds"] = n_backgrounds
        changes["background_pool"] = max(base.background_pool, n_backgrounds)
    if n_models is not None:
        changes["n_models"] = n_models
    return replace(base, **changes)


def _method_stages(out_dir: Path, library, config: dict, settings: MethodSettings):
    """(name, directory, summary file, callable) of the stages after interpretation, in order."""
    from affdist_core.pipeline.method_stages import run_analyses, run_baselines, run_compare, run_distill

    return [
        ("marginalize", "distill", "distill.json", lambda: run_distill(out_dir, library, settings)),
        ("baselines", "baselines", "baselines.json", lambda: run_baselines(out_dir, config["jaspar_id"], settings)),
        ("compare", "compare", "comparison.json", lambda: run_compare(out_dir, library, settings)),
        ("analyses", "analyses", "analyses.json", lambda: run_analyses(out_dir, library, settings)),
    ]


def _comparable(config: dict) -> dict:
    """The parts of a simulation config that decide whether existing data can be reused."""
    return {k: config.get(k) for k in ("tf", "library", "core", "jaspar_id", "chroms", "seed")}


def _simulated_config(outputs: SimulationOutputs) -> dict:
    return _comparable(json.loads(outputs.summary_json.read_text())["config"])


def _write_catalog(catalog_path, out_dir: Path, quick: bool, timings: dict, started_at, config: dict,
                   library) -> None:
    from affdist_core.catalog.schema import open_catalog
    from affdist_core.catalog.writer import write_demo_run

    run_id = f"{config['tf'].lower()}-{library.name}" + ("-quick" if quick else "")
    with open_catalog(catalog_path) as catalog:
        write_demo_run(catalog, run_id, out_dir, config["tf"], config["core"], config["jaspar_id"], library, timings,
                       started_at)


def _train_default(data_dir: Path, model_dir: Path, quick: bool, fresh: bool, seed: int = 0) -> None:
    from affdist_core.model.params import YEAST_COMPACT_PARAMS
    from affdist_core.model.train import TrainingSettings, train_bpnet
    from affdist_core.model.training_data import default_data_spec

    if fresh and model_dir.exists():
        shutil.rmtree(model_dir)
    spec = default_data_spec(data_dir, **(QUICK_SPLIT if quick else {}))
    settings = TrainingSettings(max_epochs=4, patience=2, seed=seed) if quick else TrainingSettings(seed=seed)
    train_bpnet(YEAST_COMPACT_PARAMS, spec, model_dir, settings)


def _train_members(data_dir: Path, model_dir: Path, quick: bool, train_seed: int, n_models: int) -> bool:
    """Train the ensemble members the primary model lacks (seeds ``train_seed + 1 ..``, same data and
    settings; an interrupted member resumes) and write ``model_dir/ensemble.json``; True if anything changed."""
    from affdist_core.model.ensemble import ENSEMBLE_FILE, member_dir, write_ensemble

    seeds = [train_seed + k for k in range(1, n_models)]
    members = [member_dir(model_dir, s) for s in seeds]
    changed = False
    for seed, directory in zip(seeds, members):
        if training_seed(directory) == seed:
            continue
        log.info("stage train_members: training member seed %d (%d of %d models)", seed, seed - train_seed + 1,
                 n_models)
        _train_default(data_dir, directory, quick, fresh=training_seed(directory) is not None, seed=seed)
        changed = True
    record = model_dir / ENSEMBLE_FILE
    before = record.read_text() if record.exists() else None
    write_ensemble(model_dir, members)
    after = record.read_text() if record.exists() else None
    if not changed and before == after:
        log.info("stage train_members: %d model(s) trained already", n_models)
    return changed or before != after
