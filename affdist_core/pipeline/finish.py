"""The end of every run (``affdist demo`` and ``affdist run``): the run's ``report.json`` and its catalog rows."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from pathlib import Path

from affdist_core.common.names import ANALYSES_FILE, COMPARISON_FILE, DISTILL_SUMMARY_FILE, ModelDir
from affdist_core.pipeline.demo_stages import RunPlan

log = logging.getLogger(__name__)


def finish_run(plan: RunPlan, catalog_path: str | Path, run_id: str, timings: dict, run_started: datetime, *,
               command: str = "affdist demo", config: dict | None = None, seeds: dict | None = None) -> dict:
    """Write the run's ``report.json`` and record the run in the catalog (``run_id``); returns the report.
    ``timings``: this invocation's stage times (the report reads ``stage_times.json``)."""
    from affdist_core.compare.report import build_report, write_report

    paths = plan.paths
    the_library = plan.library
    report = build_report(tf=plan.the_tf, library_name=the_library.name, units=the_library.units,
                          n_library=len(the_library), metrics=_read(ModelDir(paths.model).metrics),
                          distill=_read(paths.distill / DISTILL_SUMMARY_FILE),
                          comparison=_read(paths.compare / COMPARISON_FILE),
                          analyses=_read(paths.analyses / ANALYSES_FILE), timings=_read(paths.stage_times),
                          training=training_records(paths.model), paralogs=_paralogs(paths))
    write_report(paths.report, report)

    from affdist_core.catalog.schema import open_catalog
    from affdist_core.catalog.writer import write_demo_run

    timings = dict(timings)
    started = time.perf_counter()
    with open_catalog(catalog_path) as catalog:
        write_demo_run(catalog, run_id, plan.run_dir, plan.the_tf, plan.the_core,
                       ", ".join(plan.the_jaspar_ids) or None, the_library,
                       timings, run_started, command=command, config=config, seeds=seeds)
    timings["catalog"] = time.perf_counter() - started
    log.info("%s stages (s): %s; report: %s", run_id, {k: round(v, 1) for k, v in timings.items()}, paths.report)
    return report


def _paralogs(paths) -> list[dict] | None:
    """The run's paralog comparisons (``analyses/paralogs.json``, written by ``affdist run`` for a TF's own run
    when the project has several TFs), or None when there is none."""
    from affdist_core.pipeline.paralogs_step import PARALOGS_FILE

    path = paths.analyses / PARALOGS_FILE
    found = json.loads(path.read_text()) if path.exists() else []
    return found or None


#: The fields of each model's ``training.json`` that the report keeps (no wall times: a report must not depend on
#: the machine's speed).
TRAINING_FIELDS = ("epochs_run", "best_epoch", "best_val_loss", "stop_reason", "wall_time_guard")


def training_records(model_dir: Path) -> list[dict]:
    """How each model of the run (the primary first, then the ensemble's members) stopped training: its seed and
    :data:`TRAINING_FIELDS` from its ``training.json``."""
    from affdist_core.model.ensemble import member_dirs

    records = []
    for directory in member_dirs(model_dir):
        training = _read(ModelDir.at(directory).training)
        records.append({"seed": training["settings"]["seed"], **{k: training.get(k) for k in TRAINING_FIELDS}})
    return records


def _read(path: Path) -> dict:
    return json.loads(path.read_text())
