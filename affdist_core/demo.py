"""``affdist demo``: the main job on the embedded default dataset (yeast Pho4, simulated in vivo).

Stages run in order; each is skipped when its outputs are complete (so an interrupted demo resumes), and
``force`` redoes them:

1. ``data/``  — simulate the default Pho4 ChIP-nexus experiment (builds the S288C genome if needed);
2. ``model/`` — train the compact yeast BPNet (train chromosomes; early stopping on chrVII; chrIV held out);
3. ``model/metrics.json`` — evaluate counts and profile predictions per chromosome split;
4. ``model/interpret/`` — DeepSHAP contributions on held-out peaks and TF-MoDISco motifs;
5. the catalog (default ``data_catalog/affdist.duckdb``) — the run, TF, library and its measurements, the
   model with its metrics and observed/predicted counts, the motifs and references to the large files.

``quick`` simulates chrI–chrIII only and trains a few epochs (a smoke test of the whole path, minutes).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from affdist_core.simulate import SimulationOutputs, simulate
from affdist_core.simulation_config import resolve_config

log = logging.getLogger(__name__)

QUICK_CHROMS = ["chrI", "chrII", "chrIII"]
QUICK_SPLIT = {"valid_chroms": ["chrII"], "test_chroms": ["chrIII"]}


DEFAULT_CATALOG = Path("data_catalog/affdist.duckdb")


def run_demo(out_dir: str | Path, quick: bool = False, force: bool = False,
             catalog_path: str | Path = DEFAULT_CATALOG) -> dict:
    """Run the demo pipeline into ``out_dir``; returns ``{"simulation": ..., "metrics": ..., "timings_s": ...}``."""
    out_dir = Path(out_dir)
    run_started = datetime.now(timezone.utc)
    timings: dict[str, float] = {}
    data_dir, model_dir = out_dir / "data", out_dir / "model"

    started = time.perf_counter()
    outputs = SimulationOutputs.in_directory(data_dir)
    if outputs.complete() and not force:
        log.info("stage simulate: done already in %s (use --force to redo)", data_dir)
    else:
        config = resolve_config({"chroms": QUICK_CHROMS} if quick else {}, preset="pho4-yeast")
        simulate(config, data_dir)
    timings["simulate"] = time.perf_counter() - started
    simulation = json.loads(outputs.summary_json.read_text())["summary"]

    started = time.perf_counter()
    if (model_dir / "training.json").exists() and not force:
        log.info("stage train: done already in %s", model_dir)
    else:
        _train_default(data_dir, model_dir, quick, fresh=force)
    timings["train"] = time.perf_counter() - started

    started = time.perf_counter()
    if (model_dir / "metrics.json").exists() and not force:
        log.info("stage evaluate: done already")
        metrics = json.loads((model_dir / "metrics.json").read_text())
    else:
        from affdist_core.evaluate import evaluate_model_dir

        metrics = evaluate_model_dir(model_dir).metrics
    timings["evaluate"] = time.perf_counter() - started

    started = time.perf_counter()
    if (model_dir / "interpret" / "interpret.json").exists() and not force:
        log.info("stage interpret: done already")
        interpretation = json.loads((model_dir / "interpret" / "interpret.json").read_text())
    else:
        from affdist_core.interpret import interpret_model_dir

        interpretation = interpret_model_dir(model_dir, n_shuffles=5 if quick else 20)
    timings["interpret"] = time.perf_counter() - started

    started = time.perf_counter()
    _write_catalog(catalog_path, out_dir, quick, timings, run_started)
    timings["catalog"] = time.perf_counter() - started

    from affdist_core.cli import _print_summary, format_metrics, format_motifs

    _print_summary(simulation)
    print(format_metrics(metrics))
    print(format_motifs(interpretation))
    log.info("demo stages (s): %s", {k: round(v, 1) for k, v in timings.items()})
    return {"simulation": simulation, "metrics": metrics, "interpretation": interpretation, "timings_s": timings}


def _write_catalog(catalog_path, out_dir: Path, quick: bool, timings: dict, started_at) -> None:
    from affdist_core.catalog import open_catalog
    from affdist_core.catalog_writer import write_demo_run
    from affdist_core.library import load_builtin_library
    from affdist_core.simulation_config import PRESETS

    preset = PRESETS["pho4-yeast"]
    with open_catalog(catalog_path) as catalog:
        write_demo_run(catalog, "pho4-yeast-quick" if quick else "pho4-yeast", out_dir, preset["tf"], preset["core"],
                       preset["jaspar_id"], load_builtin_library(preset["library"]), timings, started_at)


def _train_default(data_dir: Path, model_dir: Path, quick: bool, fresh: bool) -> None:
    from affdist_core.bpnet_params import YEAST_COMPACT_PARAMS
    from affdist_core.train import TrainingSettings, train_bpnet
    from affdist_core.training_data import default_data_spec

    if fresh and model_dir.exists():
        shutil.rmtree(model_dir)
    spec = default_data_spec(data_dir, **(QUICK_SPLIT if quick else {}))
    settings = TrainingSettings(max_epochs=4, patience=2) if quick else TrainingSettings()
    train_bpnet(YEAST_COMPACT_PARAMS, spec, model_dir, settings)
