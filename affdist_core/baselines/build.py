"""Motif baselines from the same in-vivo data the model saw: STREME, Weeder, MoDISco and the JASPAR reference.

:func:`peak_sequences` cuts ``width`` bp centred on the summits of the called peaks on the model's training and
validation chromosomes (never the held-out test chromosomes), strongest peaks first (narrowPeak signal).
:func:`build_baselines` runs

* ``streme`` — :func:`affdist_core.baselines.streme.discover_streme` on all those peaks vs dinucleotide-shuffled
  controls;
* ``weeder`` — :func:`affdist_core.baselines.weeder.discover_weeder` on the top peaks (Weeder 2's ChIP mode)
  against the genome's own oligo frequencies;
* ``modisco`` — the TF-MoDISco motifs of the model's interpretation (``model/interpret/motifs.parquet``);
* ``modisco_ensemble`` — with an ensemble, TF-MoDISco on the contributions averaged over every member
  (``model/interpret_ensemble/motifs.parquet``): the equal-budget counterpart of the ensemble's AD score;
* ``jaspar`` — the TF's known JASPAR matrix (a reference row, not de novo);
* ``additive`` — with the library's sequences: an additive energy model fitted directly on the in-vivo reads
  at the genomic sites of the library's fixed core, the control as a covariate
  (:mod:`affdist_core.baselines.additive`, ProBound-like);
* any external motif files (MEME, JASPAR, TRANSFAC: real STREME/Weeder/HOMER output) under their own names,

and writes them, ranked per method, to ``out_dir/motifs.parquet`` with ``baselines.json`` (timings, counts).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json
from affdist_core.common.names import BASELINES_SUMMARY_FILE, MOTIFS_FILE, ModelDir
from affdist_core.seq.motif import Motif, load_motifs, save_motifs

log = logging.getLogger(__name__)

DEFAULT_PEAK_WIDTH = 100
BASELINE_METHODS = ("streme", "weeder", "modisco", "modisco_ensemble", "jaspar", "additive")


def peak_sequences(model_dir: str | os.PathLike, width: int = DEFAULT_PEAK_WIDTH) -> pd.DataFrame:
    """Peak sequences the model saw (train + valid chromosomes), strongest first.

    Returns a DataFrame ``chrom, summit, signal, split, sequence`` (``width`` bp centred on each summit; peaks
    whose window runs past a chromosome end are dropped).
    """
    from affdist_core.io.fasta import GenomeReader
    from affdist_core.io.peaks import read_peaks
    from affdist_core.model.data_spec import load_data_spec, split_chromosomes

    spec = load_data_spec(ModelDir.at(model_dir).data_spec)
    genome = GenomeReader(spec.genome_fasta)
    try:
        sizes = genome.chrom_sizes
        splits = split_chromosomes(spec, sizes)
        split_of = {c: s for s, chroms in splits.items() for c in chroms if s != "test"}
        peaks = read_peaks(spec.peaks)
        peaks = peaks[peaks["chrom"].isin(split_of)].copy()
        summit = peaks["summit"]  # absolute position (read_peaks resolves the narrowPeak offset)
        start = summit - width // 2
        ok = (start >= 0) & (start + width <= peaks["chrom"].map(sizes))
        peaks, start, summit = peaks[ok], start[ok], summit[ok]
        sequences = [genome.fetch(c, int(s), int(s) + width).upper() for c, s in zip(peaks["chrom"], start)]
    finally:
        genome.close()
    out = pd.DataFrame({"chrom": peaks["chrom"].to_numpy(), "summit": summit.to_numpy(),
                        "signal": peaks["signal"].to_numpy(dtype=np.float64),
                        "split": peaks["chrom"].map(split_of).to_numpy(), "sequence": sequences})
    return out.sort_values("signal", ascending=False, kind="stable").reset_index(drop=True)


def build_baselines(
    model_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    jaspar_ids: Sequence[str] = (),
    external: Mapping[str, str | os.PathLike] | None = None,
    library_sequences: Sequence[str] | None = None,
    n_motifs: int = 10,
    random_state: int = 0,
    quick: bool = False,
) -> dict[str, list[Motif]]:
    """Run every baseline; write ``out_dir/motifs.parquet`` and ``out_dir/baselines.json``.

    Args:
        model_dir: a trained model directory (its data spec gives genome and peaks; ``interpret/motifs.parquet``
            the MoDISco motifs, if interpretation ran).
        out_dir: output directory.
        jaspar_ids: the TF's JASPAR matrix ids, ranked in this order (the first is the one the JASPAR row
            reports); none: no JASPAR row.
        external: ``{method name: motif file}`` of extra motif sets (read with
            :func:`affdist_core.io.motif_files.read_motifs`).
        library_sequences: the in-vitro library's sequences: fit the ``additive`` baseline at the genomic
            sites of their fixed core (none: no additive row; a library without a fixed core logs why).
        n_motifs: motifs to keep per de novo method.
        random_state: seed of STREME's control shuffles and hold-out split.
        quick: smaller searches (STREME widths 8–12, 3 motifs) for smoke tests.

    Returns:
        ``{method: ranked motifs}``.
    """
    from affdist_core.io.motif_files import jaspar_motif, read_motifs
    from affdist_core.baselines.streme import discover_streme
    from affdist_core.model.data_spec import load_data_spec
    from affdist_core.baselines.weeder import discover_weeder
    from affdist_core.baselines.weeder_background import oligo_frequencies_from_fasta
    from affdist_core.model.ensemble import member_dirs

    out_dir = Path(out_dir)
    peaks = peak_sequences(model_dir)
    if peaks.empty:
        raise ValueError(f"model_dir: no peaks on the training/validation chromosomes of {model_dir}; the motif "
                         f"baselines need peaks the model saw")
    log.info("baselines: %d peak sequences (%d bp) on training/validation chromosomes", len(peaks),
             DEFAULT_PEAK_WIDTH)
    timings, methods = {}, {}

    started = time.perf_counter()
    methods["streme"] = discover_streme(peaks["sequence"].tolist(), n_motifs=3 if quick else min(n_motifs, 5),
                                        max_width=12 if quick else 15, random_state=random_state)
    timings["streme"] = time.perf_counter() - started

    started = time.perf_counter()
    spec = load_data_spec(ModelDir.at(model_dir).data_spec)
    background = oligo_frequencies_from_fasta(spec.genome_fasta, cache_dir=Path(spec.genome_fasta).parent)
    methods["weeder"] = discover_weeder(peaks["sequence"].tolist(), background, n_motifs=n_motifs)
    timings["weeder"] = time.perf_counter() - started

    modisco_path = ModelDir.at(model_dir).interpret / MOTIFS_FILE
    if modisco_path.exists():
        methods["modisco"] = [m for m in load_motifs(modisco_path) if m.provenance.get("metacluster") != "neg"]
    else:
        log.warning("baselines: %s missing (run affdist interpret); no MoDISco row", modisco_path)
    ensemble_path = ModelDir.at(model_dir).interpret_ensemble / MOTIFS_FILE
    if ensemble_path.exists() and len(member_dirs(model_dir)) > 1:
        methods["modisco_ensemble"] = [m for m in load_motifs(ensemble_path)
                                       if m.provenance.get("metacluster") != "neg"]
    if jaspar_ids:
        methods["jaspar"] = [jaspar_motif(matrix_id) for matrix_id in jaspar_ids]
    if library_sequences is not None:
        from affdist_core.baselines.additive import additive_motif

        started = time.perf_counter()
        try:
            methods["additive"] = [additive_motif(model_dir, library_sequences)]
        except ValueError as error:
            log.warning("baselines: no additive row: %s", error)
        timings["additive"] = time.perf_counter() - started
    for name, path in (external or {}).items():
        methods[name] = read_motifs(path)
    for name, motifs in methods.items():
        log.info("baselines: %s → %d motif(s)%s", name, len(motifs),
                 f", top {motifs[0].consensus}" if motifs else "")
    all_motifs = [m for motifs in methods.values() for m in motifs]
    save_motifs(_unique_ids(methods), out_dir / MOTIFS_FILE)
    write_json(out_dir / BASELINES_SUMMARY_FILE, {
        "n_peaks": len(peaks), "peak_width": DEFAULT_PEAK_WIDTH, "jaspar_ids": list(jaspar_ids),
        "methods": {k: [m.motif_id for m in v] for k, v in methods.items()},
        "n_motifs": len(all_motifs), "timings_s": timings, "random_state": random_state,
    })
    return methods


def _unique_ids(methods: Mapping[str, list[Motif]]) -> list[Motif]:
    """All motifs with the method name recorded in provenance (``baseline``) for reloading by method."""
    from dataclasses import replace

    out, seen = [], set()
    for name, motifs in methods.items():
        for m in motifs:
            motif_id = m.motif_id if m.motif_id not in seen else f"{name}:{m.motif_id}"
            seen.add(motif_id)
            out.append(replace(m, motif_id=motif_id, provenance={**m.provenance, "baseline": name}))
    return out


def load_baselines(out_dir: str | os.PathLike) -> dict[str, list[Motif]]:
    """Inverse of :func:`build_baselines`' file output: ``{method: ranked motifs}``."""
    methods: dict[str, list[Motif]] = {}
    for m in load_motifs(Path(out_dir) / MOTIFS_FILE):
        methods.setdefault(m.provenance.get("baseline", m.method), []).append(m)
    return methods
