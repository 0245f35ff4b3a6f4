"""The baselines stage: STREME, Weeder, MoDISco, JASPAR and the additive model from the run's in-vivo data
(:func:`affdist_core.baselines.build.build_baselines`); writes ``baselines/motifs.parquet`` and
``baselines/baselines.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from affdist_core.common.names import BASELINES_SUMMARY_FILE, RunDir
from affdist_core.pipeline.method_stages import MethodSettings


def run_baselines(run_dir: Path, jaspar_ids: Sequence[str], settings: MethodSettings,
                  external: dict | None = None, library_sequences: Sequence[str] | None = None) -> dict:
    """The motif baselines of the run's model directory (its peaks and MoDISco motifs) and the additive
    in-vivo baseline at the sites of the library's core; returns ``baselines.json``."""
    from affdist_core.baselines.build import build_baselines

    paths = RunDir.at(run_dir)
    build_baselines(paths.model, paths.baselines, jaspar_ids=jaspar_ids, external=external,
                    library_sequences=library_sequences, random_state=settings.seed, quick=settings.quick)
    return json.loads((paths.baselines / BASELINES_SUMMARY_FILE).read_text())
