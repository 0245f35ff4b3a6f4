"""``affdist demo``: the main job on the embedded default dataset (yeast Pho4, simulated in vivo).

Stages run in order and are skipped when their outputs are already complete (resumable); ``force`` redoes
them. Current stages: 1. simulate the default ChIP-nexus dataset (which builds the genome if needed).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from affdist_core.simulate import SimulationOutputs, simulate
from affdist_core.simulation_config import resolve_config

log = logging.getLogger(__name__)

QUICK_CHROMS = ["chrI", "chrII", "chrIII"]


def run_demo(out_dir: str | Path, quick: bool = False, force: bool = False) -> dict:
    """Run the demo pipeline into ``out_dir``; returns the simulation summary."""
    out_dir = Path(out_dir)
    started = time.perf_counter()
    data_dir = out_dir / "data"
    outputs = SimulationOutputs.in_directory(data_dir)
    if outputs.complete() and not force:
        log.info("default dataset already simulated in %s (use --force to redo)", data_dir)
    else:
        config = resolve_config({"chroms": QUICK_CHROMS} if quick else {}, preset="pho4-yeast")
        simulate(config, data_dir)
    summary = json.loads(outputs.summary_json.read_text())["summary"]
    from affdist_core.cli import _print_summary

    _print_summary(summary)
    log.info("demo finished in %.1f s; dataset in %s", time.perf_counter() - started, data_dir)
    return summary
