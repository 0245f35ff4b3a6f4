"""Simulated ChIP-nexus experiment of one TF on a real genome (the embedded default dataset).

Pipeline (all parameters in :mod:`affdist_core.simulate.config`):

1. genome and gene annotation → accessibility track (:mod:`affdist_core.simulate.accessibility`);
2. the TF's energy model (flank library + core + JASPAR, :mod:`affdist_core.simulate.energy`) → ΔG of every window on
   both strands → occupancy θ = accessibility × w/(1+w), w = exp((μ − ΔG)/kT);
3. expected read 5′ ends: signal reads spread over sites ∝ θ through the ChIP-nexus footprint, motif-less
   hyper-ChIPable bumps, and GC-biased background (:mod:`affdist_core.simulate.reads`); Poisson counts;
4. peaks called from the simulated reads (:mod:`affdist_core.simulate.peak_caller`), never from the truth;
5. outputs written atomically: genome.fa(.fai), chrom.sizes, annotation.parquet, plus.bw, minus.bw,
   peaks.narrowPeak, sites.parquet (truth) and simulation.json (resolved config + summary), the last one
   written last so its presence marks a complete run.

Several TFs in the same cells (config ``other_tfs``): one accessibility track and one control; every window's
states are empty or bound by one of the TFs (a partition function 1 + Σ_k w_k per window centre), and each TF
gets its own reads, peaks and truth sites — the first TF's in the output directory, each further TF's in
``<out>/<tf>/``, a complete one-TF simulation directory with links to the shared genome and control
(:func:`experiment_outputs`).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affdist_core import __version__
from affdist_core.simulate.accessibility import (
    REGION_NAMES,
    accessibility_track,
    region_classes,
    sequence_score,
)
from affdist_core.common.names import (
    ANNOTATION_FILE,
    CHROM_SIZES_FILE,
    CONTROL_MINUS_BIGWIG_FILE,
    CONTROL_PLUS_BIGWIG_FILE,
    GENOME_FASTA_FILE,
    MINUS_BIGWIG_FILE,
    PEAKS_FILE,
    PLUS_BIGWIG_FILE,
    SIMULATION_FILE,
    SITES_FILE,
)
from affdist_core.common.atomic import write_json, write_parquet
from affdist_core.io.bigwig import write_bigwig
from affdist_core.simulate.reads import (
    footprint_kernel,
    gaussian_bumps,
    gc_bias,
    gc_content,
    spread_sites,
)
from affdist_core.simulate.energy import TFEnergyModel, build_energy_model
from affdist_core.io.fasta import GenomeReader, write_chrom_sizes, write_fasta
from affdist_core.simulate.peak_caller import call_peaks
from affdist_core.io.peaks import write_narrowpeak
from affdist_core.seq.alphabet import decode, reverse_complement_codes
from affdist_core.simulate.summary import summarize_simulation

log = logging.getLogger(__name__)

GAS_CONSTANT_KCAL = 1.987204e-3  # kcal/(mol·K)


@dataclass(frozen=True)
class SimulationOutputs:
    """Paths written by :func:`simulate` (all inside ``directory``)."""

    directory: Path
    genome_fasta: Path
    chrom_sizes: Path
    annotation: Path
    plus_bigwig: Path
    minus_bigwig: Path
    peaks: Path
    sites: Path
    summary_json: Path
    control_plus_bigwig: Path
    control_minus_bigwig: Path

    @classmethod
    def in_directory(cls, out_dir: str | os.PathLike) -> "SimulationOutputs":
        """Standard file names inside ``out_dir`` (nothing is checked)."""
        out = Path(out_dir)
        return cls(out, out / GENOME_FASTA_FILE, out / CHROM_SIZES_FILE, out / ANNOTATION_FILE,
                   out / PLUS_BIGWIG_FILE, out / MINUS_BIGWIG_FILE, out / PEAKS_FILE,
                   out / SITES_FILE, out / SIMULATION_FILE, out / CONTROL_PLUS_BIGWIG_FILE,
                   out / CONTROL_MINUS_BIGWIG_FILE)

    def has_control(self) -> bool:
        """True when the simulation wrote a control (accessibility assay) track."""
        return self.control_plus_bigwig.exists() and self.control_minus_bigwig.exists()

    def complete(self) -> bool:
        """True when a previous run finished (simulation.json is written last)."""
        return self.summary_json.exists()


def experiment_outputs(out_dir: str | os.PathLike, tf: str, first_tf: str) -> SimulationOutputs:
    """The outputs of TF ``tf``'s experiment in a simulation written to ``out_dir`` whose first TF is
    ``first_tf``: ``out_dir`` itself for the first TF, ``out_dir/<tf>/`` for a further one. A further TF's
    directory is a complete one-TF simulation directory: its own strand bigWigs, peaks, truth sites and
    ``simulation.json``, and relative links to the shared genome, annotation and control."""
    return SimulationOutputs.in_directory(out_dir if tf == first_tf else Path(out_dir) / tf)


SHARED_FILES = (GENOME_FASTA_FILE, GENOME_FASTA_FILE + ".fai", CHROM_SIZES_FILE, ANNOTATION_FILE,
                CONTROL_PLUS_BIGWIG_FILE, CONTROL_MINUS_BIGWIG_FILE)
"""The files of a simulation that its TFs share (a further TF's directory links to them)."""


def _link_shared(shared: Path, own: Path) -> None:
    """Relative links in a further TF's directory ``own`` to the shared files of ``shared`` that exist (stale
    links, e.g. to a control no longer simulated, are removed)."""
    for name in SHARED_FILES:
        link = own / name
        if link.is_symlink() or link.exists():
            link.unlink()
        if (shared / name).exists():
            link.symlink_to(os.path.relpath(shared / name, own))


@dataclass
class _ChromState:
    codes: np.ndarray
    accessibility: np.ndarray
    region: np.ndarray
    occupancy: np.ndarray  # per window start (+ strand), length L − site_length + 1
    dG: np.ndarray  # effective ΔG per window start (kcal/mol), inf = unbound
    core_penalty: np.ndarray  # best of the two strands' core penalties
    core_mismatches: np.ndarray  # fewest core substitutions of the two strands' readings
    minus_is_better: np.ndarray  # bool: the − strand reading binds tighter (non-palindromic cores)
    competitor_occupancy: np.ndarray | None = None  # the other TFs' occupancy of the same window (several TFs)
    alone_occupancy: np.ndarray | None = None  # the occupancy were the TF alone in the cells (several TFs)


def simulate(config: dict[str, Any], out_dir: str | os.PathLike) -> SimulationOutputs:
    """Run the simulator with a resolved config (see :func:`affdist_core.simulate.config.resolve_config`).

    Returns the first TF's output paths (:func:`experiment_outputs` gives a further TF's); ``simulation.json``
    holds the resolved config and the summary statistics (a further TF's under ``other_tfs``)."""
    from affdist_core.simulate.config import tf_configs

    started = time.perf_counter()
    outputs = SimulationOutputs.in_directory(out_dir)
    outputs.directory.mkdir(parents=True, exist_ok=True)
    root = np.random.SeedSequence(config["seed"])
    seeds = root.spawn(4)
    rng_access, rng_hyper, rng_reads, rng_control = (np.random.default_rng(s) for s in seeds)
    configs = tf_configs(config)
    other_read_seeds = root.spawn(len(configs) - 1)  # after the first four: a one-TF run draws as before

    genome, annotation, depth = _prepare_genome(config, outputs)
    genome_share = depth / config["reads"]["depth"]  # the simulated chromosomes' share of the genome
    energy = [_energy_model(c) for c in configs]
    models = [model for model, _ in energy]
    kt = GAS_CONSTANT_KCAL * (config["energy"]["temperature_c"] + 273.15)
    for c, model in zip(configs, models):
        log.info("energy model of %s: core %s, flanks %d+%d (%s), kT = %.3f kcal/mol",
                 c["tf"], model.core, model.left, model.right, model.flank_source, kt)

    per_chrom = {
        chrom: _chrom_occupancy(genome, chrom, annotation, models, configs, kt, rng_access)
        for chrom in genome.chroms
    }
    timings: dict[str, float] = {}
    experiments = []
    for k, (tf_config, (model, library_values)) in enumerate(zip(configs, energy)):
        states = {chrom: tf_states[k] for chrom, tf_states in per_chrom.items()}
        hyper_rng = rng_hyper if k == 0 else np.random.default_rng(seeds[1])  # the cells' hyper-ChIPable loci
        read_rng = rng_reads if k == 0 else np.random.default_rng(other_read_seeds[k - 1])
        tf_depth = depth if k == 0 else tf_config["reads"]["depth"] * genome_share
        plus, minus, expected = _simulate_reads(states, model, annotation, tf_config, tf_depth, hyper_rng,
                                                read_rng)
        if k == 0:
            timings["occupancy_and_reads_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        peak_params = config["peaks"]
        peaks, caller_info = call_peaks(
            plus, minus,
            window=int(peak_params["window"]), min_log10p=float(peak_params["min_log10p"]),
            local_lambda_windows=tuple(int(w) for w in peak_params["local_lambda_windows"]),
            merge_gap=int(peak_params["merge_gap"]), min_length=int(peak_params["min_length"]),
        )
        if k == 0:
            timings["peak_calling_s"] = time.perf_counter() - mark
        sites = _truth_sites(states, model, expected, plus, minus, library_values, tf_config)
        summary = summarize_simulation(
            plus=plus, minus=minus, peaks=peaks, sites=sites, model=model, config=tf_config,
            caller_info=caller_info,
        )
        experiments.append((tf_config, model, plus, minus, peaks, sites, summary))

    first = experiments[0][0]["tf"]
    for tf_config, _, plus, minus, peaks, sites, _ in experiments:
        own = experiment_outputs(outputs.directory, tf_config["tf"], first)
        own.directory.mkdir(parents=True, exist_ok=True)
        own.summary_json.unlink(missing_ok=True)  # a further TF's directory is complete only when rewritten
        write_bigwig(own.plus_bigwig, genome.chrom_sizes, plus)
        write_bigwig(own.minus_bigwig, genome.chrom_sizes, minus)
        write_narrowpeak(own.peaks, peaks)
        write_parquet(own.sites, sites)
    for path in (outputs.control_plus_bigwig, outputs.control_minus_bigwig):
        path.unlink(missing_ok=True)
    if config["control"]["depth"] > 0:
        states = {chrom: tf_states[0] for chrom, tf_states in per_chrom.items()}  # the shared chromatin
        control_plus, control_minus = _simulate_control(states, config, genome_share, rng_control)
        write_bigwig(outputs.control_plus_bigwig, genome.chrom_sizes, control_plus)
        write_bigwig(outputs.control_minus_bigwig, genome.chrom_sizes, control_minus)
    timings["total_s"] = time.perf_counter() - started
    summary = experiments[0][6]
    summary["timings"] = {k: round(v, 2) for k, v in timings.items()}
    record = {
        "affdist_version": __version__,
        "config": config,
        "energy_model": _energy_record(models[0], kt),
        "summary": summary,
    }
    if len(experiments) > 1:
        tfs = [c["tf"] for c in configs]
        for tf_config, model, *_, tf_summary in experiments[1:]:
            own = experiment_outputs(outputs.directory, tf_config["tf"], first)
            _link_shared(outputs.directory, own.directory)
            write_json(own.summary_json, {
                "affdist_version": __version__, "config": tf_config, "energy_model": _energy_record(model, kt),
                "summary": tf_summary, "simulation": {"directory": "..", "tfs": tfs}})
        record["competition"] = {
            c["tf"]: {"occupancy_kept": round(sum(float(st[k].occupancy.sum()) for st in per_chrom.values())
                                              / max(sum(float(st[k].alone_occupancy.sum())
                                                        for st in per_chrom.values()), 1e-12), 4)}
            for k, c in enumerate(configs)}
        record["other_tfs"] = [
            {"tf": c["tf"], "directory": c["tf"], "energy_model": _energy_record(model, kt), "summary": s}
            for c, model, *_, s in experiments[1:]]
    write_json(outputs.summary_json, record)
    log.info("simulation written to %s in %.1f s", outputs.directory, timings["total_s"])
    return outputs


def _energy_record(model: TFEnergyModel, kt: float) -> dict[str, Any]:
    """The energy model's description in ``simulation.json``."""
    return {"core": model.core, "left_flank": model.left, "right_flank": model.right,
            "flank_source": model.flank_source, "palindromic": model.palindromic,
            "core_weights_kcal": model.core_weights_kcal, "kT_kcal": kt}


def _prepare_genome(
    config: dict[str, Any], outputs: SimulationOutputs
) -> tuple[GenomeReader, pd.DataFrame | None, float]:
    """Write the (restricted) genome, chrom sizes and annotation into the output directory.

    Returns the genome, its gene annotation (or None) and the read depth for the chosen chromosomes:
    ``reads.depth`` is for the whole genome and scales with the fraction of it that is simulated."""
    from affdist_core.io.genome import build_yeast_genome, default_genome_cache

    annotation_path = config["annotation"]
    if config["genome_fasta"]:
        source = GenomeReader(config["genome_fasta"])
    else:
        built = build_yeast_genome(default_genome_cache())
        source = GenomeReader(built.fasta)
        annotation_path = annotation_path or str(built.annotation)
    chroms = config["chroms"] or source.chroms
    unknown = [c for c in chroms if c not in source.chrom_sizes]
    if unknown:
        raise ValueError(f"chroms: {unknown} not in the genome; available: {source.chroms}")
    write_fasta(outputs.genome_fasta, {c: source.fetch(c, 0, source.chrom_sizes[c]) for c in chroms})
    depth = config["reads"]["depth"] * sum(source.chrom_sizes[c] for c in chroms) / sum(source.chrom_sizes.values())
    source.close()
    genome = GenomeReader(outputs.genome_fasta)
    write_chrom_sizes(outputs.chrom_sizes, genome.chrom_sizes)
    annotation = _read_annotation(annotation_path, chroms) if annotation_path else None
    if annotation is not None:
        write_parquet(outputs.annotation, annotation)
    return genome, annotation, depth


def _read_annotation(path: str, chroms: list[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise ValueError(f"annotation: file {path} does not exist")
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, sep=None, engine="python")
    missing = {"chrom", "start", "end", "strand"} - set(frame.columns)
    if missing:
        raise ValueError(f"annotation: {path} lacks columns {sorted(missing)} (need chrom, start, end, strand)")
    if "feature" in frame.columns:
        frame = frame[frame["feature"] == "gene"]
    return frame[frame["chrom"].isin(chroms)].reset_index(drop=True)


def _energy_model(config: dict[str, Any]) -> tuple[TFEnergyModel, dict[str, float]]:
    """Energy model from the configured library; also returns sequence → library value for the truth."""
    from affdist_core.io.jaspar import fetch_jaspar
    from affdist_core.simulate.config import config_library

    library = config_library(config)
    frame = library.frame
    counts = fetch_jaspar(config["jaspar_id"]).counts if config["jaspar_id"] else None
    energy = config["energy"]
    model = build_energy_model(
        frame["sequence"].to_numpy(), frame["value"].to_numpy(), config["core"],
        flank_kcal_per_unit=energy["flank_kcal_per_unit"], core_mismatch_kcal=energy["core_mismatch_kcal"],
        core_counts=counts,
    )
    return model, pd.Series(frame["value"].to_numpy(), index=frame["sequence"].to_numpy())


def _chrom_occupancy(genome, chrom, annotation, models, configs, kt, rng) -> list[_ChromState]:
    """Accessibility, ΔG and occupancy of every window of one chromosome, one state per TF (``models`` and
    their single-TF ``configs``, the first TF's config holding the shared chromatin settings). The TFs share
    one accessibility track and compete for each window centre: θ_k = a × w_k / (1 + Σ_j w_j)."""
    codes = genome.fetch_codes(chrom)
    config = configs[0]
    acc_cfg = config["accessibility"]
    genes = annotation[annotation["chrom"] == chrom] if annotation is not None else pd.DataFrame(
        {"start": [], "end": [], "strand": []})
    region = region_classes(len(codes), genes, int(acc_cfg["promoter_length"]))
    accessibility = accessibility_track(
        region,
        sequence_score(codes, acc_cfg["mechanism"], int(acc_cfg["sequence_window"]),
                       int(acc_cfg["tract_min_length"]), float(acc_cfg["tract_weight"])),
        {"promoter": acc_cfg["promoter"], "intergenic": acc_cfg["intergenic"], "orf": acc_cfg["orf"]},
        sequence_weight=float(acc_cfg["sequence_weight"]), bin_size=int(acc_cfg["bin_size"]),
        noise_sd=float(acc_cfg["noise_sd"]), rng=rng,
    )
    rc_codes = reverse_complement_codes(codes)
    weights, centres, strands = [], [], []
    for model, tf_config in zip(models, configs):
        max_core = tf_config["energy"]["max_core_kcal"]
        dg_plus = model.window_energies(codes, max_core)
        dg_minus = model.window_energies(rc_codes, max_core)[::-1]
        mu = tf_config["energy"]["chemical_potential_kcal"]
        with np.errstate(over="ignore"):
            weight = np.exp((mu - dg_plus) / kt) + np.exp((mu - dg_minus) / kt)
        if model.palindromic:
            weight *= 0.5  # both readings are the same physical site
        weights.append(weight)
        centres.append(np.arange(len(weight)) + model.site_length // 2)
        strands.append((dg_plus, dg_minus))
    if len(models) == 1:
        partition = [1.0 + weights[0]]
    else:
        on_centre = np.zeros(len(codes))  # Σ_k w_k at each window centre
        for weight, centre in zip(weights, centres):
            on_centre[centre] += weight
        partition = [1.0 + on_centre[centre] for centre in centres]
    states = []
    for model, tf_config, weight, centre, z, (dg_plus, dg_minus) in zip(
            models, configs, weights, centres, partition, strands):
        occupancy = (accessibility[centre] * weight / z).astype(np.float32)
        competitors = alone = None
        if len(models) > 1:
            competitors = (accessibility[centre] * (z - 1.0 - weight) / z).astype(np.float32)
            alone = (accessibility[centre] * weight / (1.0 + weight)).astype(np.float32)
        mu = tf_config["energy"]["chemical_potential_kcal"]
        with np.errstate(divide="ignore"):
            dg = (mu - kt * np.log(weight)).astype(np.float32)
        core_penalty = np.minimum(model.core_penalty(codes), model.core_penalty(rc_codes)[::-1])
        minus_is_better = (dg_minus < dg_plus) & (not model.palindromic)
        mismatches = np.minimum(model.core_mismatches(codes), model.core_mismatches(rc_codes)[::-1])
        states.append(_ChromState(codes, accessibility, region, occupancy, dg, core_penalty, mismatches,
                                  minus_is_better, competitors, alone))
    return states


def _simulate_reads(states, model, annotation, config, depth, rng_hyper, rng_reads):
    """Expected and Poisson-sampled 5′-end counts per strand; returns (plus, minus, expected signal per site).

    ``reads.signal_fraction`` is the share of the library from the TF's bound fragments when it binds alone;
    with competitors each bound molecule yields the same reads, so a site loses reads in proportion to the
    occupancy competitors take (the realised signal fraction falls and background fills the depth)."""
    reads = config["reads"]
    kernel = footprint_kernel(int(reads["footprint_half_width"]), float(reads["exo_stop_mean"]),
                              float(reads["tail_fraction"]), float(reads["tail_mean"]))
    total_occupancy = sum(float(s.occupancy.sum()) for s in states.values())
    signal_fraction = reads["signal_fraction"]
    reference_occupancy = total_occupancy
    if any(s.alone_occupancy is not None for s in states.values()):
        reference_occupancy = sum(float(s.alone_occupancy.sum()) for s in states.values())
        signal_fraction = reads["signal_fraction"] * total_occupancy / max(reference_occupancy, 1e-12)
    signal_per_occupancy = depth * reads["signal_fraction"] / max(reference_occupancy, 1e-12)
    background = {c: gc_bias(gc_content(s.codes, int(reads["gc_window"])), reads["gc_optimum"], reads["gc_sd"])
                  * (1.0 + reads["background_accessibility_weight"] * s.accessibility) for c, s in states.items()}
    background_scale = depth * (1 - signal_fraction - reads["hyperchip_fraction"]) / max(
        sum(float(b.sum()) for b in background.values()), 1e-12)
    hyper = _hyperchip_tracks(states, annotation, reads, depth, rng_hyper)
    plus, minus, expected = {}, {}, {}
    for chrom, state in states.items():
        weights = np.zeros(len(state.codes))
        weights[np.arange(len(state.occupancy)) + model.site_length // 2] = state.occupancy * signal_per_occupancy
        expected[chrom] = state.occupancy * signal_per_occupancy
        half_background = 0.5 * background_scale * background[chrom] + 0.5 * hyper[chrom]
        lam_plus = 0.5 * spread_sites(weights, kernel.plus) + half_background
        lam_minus = 0.5 * spread_sites(weights, kernel.minus) + half_background
        plus[chrom] = rng_reads.poisson(lam_plus).astype(np.float32)
        minus[chrom] = rng_reads.poisson(lam_minus).astype(np.float32)
    return plus, minus, expected


def _simulate_control(states, config, genome_share: float, rng) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Accessibility-assay reads per strand: Poisson with rate ∝ GC bias × (floor + accessibility); the
    library depth is for the whole genome, scaled by the simulated chromosomes' ``genome_share``."""
    reads, control = config["reads"], config["control"]
    optimum = reads["gc_optimum"] if control["gc_optimum"] is None else control["gc_optimum"]
    sd = reads["gc_sd"] if control["gc_sd"] is None else control["gc_sd"]
    rate = {c: gc_bias(gc_content(s.codes, int(reads["gc_window"])), optimum, sd)
            * (control["floor"] + _measured_accessibility(s.accessibility, control, rng))
            for c, s in states.items()}
    scale = 0.5 * control["depth"] * genome_share / max(sum(float(r.sum()) for r in rate.values()), 1e-12)
    plus = {c: rng.poisson(scale * r).astype(np.float32) for c, r in rate.items()}
    minus = {c: rng.poisson(scale * r).astype(np.float32) for c, r in rate.items()}
    return plus, minus


def _measured_accessibility(accessibility: np.ndarray, control: dict, rng) -> np.ndarray:
    """The accessibility the control assay sees: exact (``noise_sd`` 0), or with logit-scale noise drawn once
    per ``noise_bin`` bases."""
    if control["noise_sd"] == 0:
        return accessibility
    bin_size = int(control["noise_bin"])
    noise = np.repeat(rng.standard_normal(-(-len(accessibility) // bin_size)), bin_size)[: len(accessibility)]
    a = np.clip(accessibility.astype(np.float64), 1e-6, 1 - 1e-6)
    logits = np.log(a / (1 - a)) + control["noise_sd"] * noise
    return 1.0 / (1.0 + np.exp(-logits))


def _hyperchip_tracks(states, annotation, reads, depth, rng) -> dict[str, np.ndarray]:
    """Expected reads (both strands together) of broad motif-less enrichments at random promoters."""
    n_regions = int(reads["n_hyperchip_regions"])
    out = {c: np.zeros(len(s.codes)) for c, s in states.items()}
    if n_regions == 0 or reads["hyperchip_fraction"] == 0:
        return out
    if annotation is not None and len(annotation):
        genes = annotation.sample(n=min(n_regions, len(annotation)), random_state=rng).reset_index(drop=True)
        chroms = genes["chrom"].to_numpy()
        centres = np.where(genes["strand"] == "+", genes["start"] - 150, genes["end"] + 150).astype(np.int64)
    else:
        names = list(states)
        sizes = np.array([len(states[c].codes) for c in names], dtype=np.float64)
        chroms = rng.choice(names, size=n_regions, p=sizes / sizes.sum())
        centres = np.array([rng.integers(0, len(states[c].codes)) for c in chroms], dtype=np.int64)
    heights = rng.lognormal(0.0, 1.0, size=len(centres))
    heights *= depth * reads["hyperchip_fraction"] / heights.sum()
    for chrom in set(chroms):
        mask = chroms == chrom
        out[chrom] = gaussian_bumps(len(states[chrom].codes), centres[mask], heights[mask],
                                    float(reads["hyperchip_width_sd"]))
    return out


def _truth_sites(states, model, expected, plus, minus, library_values, config) -> pd.DataFrame:
    """Ground-truth table: every window whose core is at most one substitution from the canonical one, plus
    any other window with ≥ 0.5 expected reads.

    ``position`` is the + strand start of the window; ``strand``/``sequence`` give the reading that binds
    tighter (always + for palindromic cores, where both readings are the same site)."""
    frames = []
    half = model.site_length // 2
    reach = int(config["reads"]["footprint_half_width"]) + 30
    for chrom, state in states.items():
        keep = np.flatnonzero((state.core_mismatches <= 1) | (expected[chrom] >= 0.5))
        if len(keep) == 0:
            continue
        windows = state.codes[keep[:, None] + np.arange(model.site_length)[None, :]]
        minus_better = state.minus_is_better[keep]
        windows[minus_better] = reverse_complement_codes(windows[minus_better])
        sequences = [decode(w) for w in windows]
        centre = keep + half
        both = plus[chrom] + minus[chrom]
        csum = np.concatenate([[0.0], np.cumsum(both, dtype=np.float64)])
        lo = np.clip(centre - reach, 0, len(both))
        hi = np.clip(centre + reach, 0, len(both))
        frames.append(pd.DataFrame({
            "chrom": chrom,
            "position": keep.astype(np.int64),
            "center": centre.astype(np.int64),
            "strand": np.where(minus_better, "-", "+"),
            "sequence": sequences,
            "core_mismatches": state.core_mismatches[keep],
            "core_penalty_kcal": state.core_penalty[keep],
            "dG_kcal": state.dG[keep],
            "accessibility": state.accessibility[centre],
            "region": pd.Categorical.from_codes(state.region[centre], categories=list(REGION_NAMES.values())),
            "occupancy": state.occupancy[keep],
            **({} if state.competitor_occupancy is None
               else {"competitor_occupancy": state.competitor_occupancy[keep]}),
            "expected_reads": expected[chrom][keep],
            "observed_reads": (csum[hi] - csum[lo]).astype(np.float32),
        }))
    sites = pd.concat(frames, ignore_index=True)
    sites["library_value"] = sites["sequence"].map(library_values).astype(np.float64)
    return sites
