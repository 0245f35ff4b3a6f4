"""Validation of a project's files before any compute: every problem at once, each naming its project-file key.

:func:`check_project` opens everything a run will read — the FASTA (indexed if it has no ``.fai``), the strand
and control bigWigs or the BAM headers, the peaks, every library (columns exist, values finite), the motif
files, the JASPAR ids (pyjaspar's bundled database, offline), the calibration ids file, the model parameters —
and compares chromosome names across the FASTA, the tracks and the peaks
(:func:`affdist_core.io.chrom_names.chrom_name_problems`: ``chrI`` vs ``I`` is the common case). The split
chromosomes must exist in the FASTA, not overlap and leave some chromosome to train on. Nothing is written
(except a FASTA's ``.fai`` index, which pyfaidx creates next to an unindexed FASTA). Raises
:class:`~affdist_core.pipeline.project.ProjectError` listing every problem.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from affdist_core.pipeline.project import Experiment, Library, Project, ProjectError, load_project

if TYPE_CHECKING:
    from affdist_core.io.library import InVitroLibrary

log = logging.getLogger(__name__)


def validate_project(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> Project:
    """Read the project file and check its shape and its files; raises one :class:`ProjectError` with every
    problem of both (a key with a bad value is left out of the file checks), or returns the project."""
    problems: list[str] = []
    project = load_project(path, overrides, problems)
    check_project(project, problems)
    return project


def check_project(project: Project, problems: list[str] | None = None) -> None:
    """Check every file and cross-file agreement of ``project`` (see the module docstring); raises
    :class:`ProjectError` with one line per problem (after ``problems``, those found before), or returns None
    when all is well."""
    problems = list(problems or [])
    sizes = _genome_sizes(project, problems)
    for experiment in project.experiments:
        problems += check_experiment(experiment, sizes, simulated=project.simulate is not None)
        if project.simulate is not None:
            problems += _check_simulated_split(project, experiment, sizes)
    loaded = {}
    for library in project.libraries:
        found, loaded[library.key] = _check_library(library)
        problems += found
    problems += _check_motifs(project)
    problems += _check_calibration(project, loaded)
    out = project.output
    if out.dir.exists() and not out.dir.is_dir():
        problems.append(f"output.dir: {out.dir} is a file; give a folder for the run directories")
    if out.catalog.exists() and out.catalog.is_dir():
        problems.append(f"output.catalog: {out.catalog} is a folder; give a file name such as affdist.duckdb")
    if problems:
        raise ProjectError(project.path, problems)


def genome_fasta(project: Project) -> Path:
    """The project's genome FASTA: ``[genome] fasta``, or the built-in S288C (built into the shared cache
    when missing)."""
    if project.genome.fasta is not None:
        return project.genome.fasta
    from affdist_core.io.genome import build_yeast_genome, default_genome_cache

    return build_yeast_genome(default_genome_cache()).fasta


def _genome_sizes(project: Project, problems: list[str]) -> dict[str, int] | None:
    """The FASTA's chromosome sizes (None after a problem). Built-in: the S288C names, without building it."""
    if project.genome.builtin is not None:
        if project.simulate is not None:
            return None  # the simulator builds (a subset of) it; its files are checked by the simulator
        from affdist_core.io.fasta import GenomeReader

        reader = GenomeReader(genome_fasta(project))
        try:
            return dict(reader.chrom_sizes)
        finally:
            reader.close()
    fasta = project.genome.fasta
    if fasta is None:
        return None  # the [genome] section's problem is reported already
    if not fasta.is_file():
        problems.append(f"genome.fasta: {fasta} does not exist; give the genome FASTA the reads were aligned to "
                        f"(or builtin = \"s288c\")")
        return None
    from affdist_core.io.fasta import GenomeReader

    try:
        reader = GenomeReader(fasta)
    except (ValueError, OSError) as err:
        problems.append(f"genome.fasta: {fasta} cannot be read as FASTA ({err}); fix the file or its .fai index "
                        f"(delete a stale .fai: it is rebuilt)")
        return None
    try:
        return dict(reader.chrom_sizes)
    finally:
        reader.close()


def check_experiment(experiment: Experiment, sizes: dict[str, int] | None, simulated: bool = False) -> list[str]:
    """Problems of one experiment: its files open, chromosome names agree with the FASTA (``sizes``), the split
    is consistent, the model parameters load."""
    from affdist_core.io.chrom_names import chrom_name_problems

    problems: list[str] = []
    key = experiment.key
    problems += _check_params(experiment)
    if simulated:
        return problems
    tracks: dict[str, dict[str, int] | set[str]] = {}
    for name in ("plus", "minus", "control_plus", "control_minus"):
        path = getattr(experiment, name)
        if path is None:
            continue
        label = f"{key}.{name} ({path.name})"
        opened = _bigwig_sizes(path, f"{key}.{name}", problems)
        if opened is not None:
            tracks[label] = opened
    for i, path in enumerate(experiment.bam):
        opened = _bam_sizes(path, f"{key}.bam[{i}]", problems)
        if opened is not None:
            tracks[f"{key}.bam[{i}] ({path.name})"] = opened
    peak_chroms: set[str] = set()
    if experiment.peaks is not None:
        peaks = _read_peaks(experiment.peaks, f"{key}.peaks", problems)
        if peaks is not None:
            peak_chroms = set(peaks["chrom"])
            tracks[f"{key}.peaks ({experiment.peaks.name})"] = peak_chroms
    if sizes is None:
        return problems
    split = set(experiment.valid_chroms or ()) | set(experiment.test_chroms or ())
    required = (peak_chroms | split) & set(sizes)
    problems += chrom_name_problems(sizes, tracks, require=required)
    if experiment.peaks is not None and peak_chroms and peak_chroms <= set(sizes):
        _read_peaks(experiment.peaks, f"{key}.peaks", problems, sizes)  # now also peaks past chromosome ends
    named_like_fasta = peak_chroms & set(sizes)  # none: the naming problem above says it all
    problems += _check_split(experiment, sizes, named_like_fasta)
    return problems


def _check_params(experiment: Experiment) -> list[str]:
    from affdist_core.model.params import PARAM_PRESETS, load_params

    key = experiment.key
    if experiment.model not in PARAM_PRESETS:
        close = difflib.get_close_matches(experiment.model, list(PARAM_PRESETS), n=1)
        return [f"{key}.model: unknown preset {experiment.model!r}"
                + (f"; did you mean {close[0]!r}?" if close else "")
                + f" Presets: {', '.join(PARAM_PRESETS)} (or give params = \"params.json\")"]
    if experiment.params is None:
        return []
    if not experiment.params.is_file():
        return [f"{key}.params: {experiment.params} does not exist; give a BPNet params JSON (keys of "
                f"affdist_core.model.params.BPNetParams, merged over the preset {experiment.model!r})"]
    try:
        load_params(experiment.params, defaults=PARAM_PRESETS[experiment.model])
    except ValueError as err:
        return [f"{key}.params ({experiment.params.name}, merged over {experiment.model!r}): {err}; fix the JSON "
                f"file"]
    return []


def _bigwig_sizes(path: Path, key: str, problems: list[str]) -> dict[str, int] | None:
    from affdist_core.io.bigwig import BigWigReader

    if not path.is_file():
        problems.append(f"{key}: {path} does not exist; give a bigWig of read 5′-end counts per base")
        return None
    try:
        with BigWigReader(path) as reader:
            return dict(reader.chrom_sizes)
    except (ValueError, RuntimeError, OSError) as err:
        problems.append(f"{key}: {path} cannot be opened as a bigWig ({err}); convert it with bedGraphToBigWig "
                        f"or give BAM files (bam = [...])")
        return None


def _bam_sizes(path: Path, key: str, problems: list[str]) -> dict[str, int] | None:
    """The BAM header's chromosome sizes (:func:`affdist_core.io.bam.bam_chrom_sizes`), or None after a problem."""
    from affdist_core.io.bam import bam_chrom_sizes

    try:
        return bam_chrom_sizes(path)
    except (ValueError, OSError) as err:
        problems.append(f"{key}: {err}")
    return None


def _read_peaks(path: Path, key: str, problems: list[str], sizes: dict[str, int] | None = None):
    from affdist_core.io.peaks import read_peaks

    if not path.is_file():
        problems.append(f"{key}: {path} does not exist; give the experiment's peaks (narrowPeak or BED)")
        return None
    try:
        return read_peaks(path, sizes)
    except (ValueError, OSError) as err:
        problems.append(f"{key}: {err}")
        return None


def _check_split(experiment: Experiment, sizes: dict[str, int], peak_chroms: set[str]) -> list[str]:
    """Split chromosomes exist in the FASTA, do not overlap, leave a train chromosome, and hold peaks."""
    problems = []
    key = experiment.key
    names = list(sizes)
    for field in ("valid_chroms", "test_chroms", "exclude_chroms"):
        for chrom in getattr(experiment, field) or ():
            if chrom not in sizes:
                close = difflib.get_close_matches(chrom, names, n=1)
                problems.append(f"{key}.{field}: {chrom!r} is not in the FASTA"
                                + (f"; did you mean {close[0]!r}?" if close else
                                   f" (it has {', '.join(names[:6])}{' …' if len(names) > 6 else ''})"))
    valid, test = set(experiment.valid_chroms or ()), set(experiment.test_chroms or ())
    exclude = set(experiment.exclude_chroms)
    for (a, sa), (b, sb) in ((("valid_chroms", valid), ("test_chroms", test)),
                             (("exclude_chroms", exclude), ("valid_chroms", valid)),
                             (("exclude_chroms", exclude), ("test_chroms", test))):
        both = sorted(sa & sb)
        if both:
            problems.append(f"{key}.{a}, {key}.{b}: {', '.join(both)} in both; each chromosome belongs to one "
                            f"split (test chromosomes are never trained on)")
    if not [c for c in names if c not in valid | test | exclude]:
        problems.append(f"{key}: valid_chroms + test_chroms + exclude_chroms take every chromosome of the FASTA; "
                        f"leave at least one to train on")
    if peak_chroms:
        for field, chroms in (("valid_chroms", valid), ("test_chroms", test)):
            if chroms and chroms <= set(sizes) and not chroms & peak_chroms:
                problems.append(f"{key}.{field}: no peak lies on {', '.join(sorted(chroms))}; choose chromosomes "
                                f"with peaks (backgrounds and early stopping need them)")
    return problems


def _check_simulated_split(project: Project, experiment: Experiment, sizes: dict[str, int] | None) -> list[str]:
    """The split of a simulated experiment (given, or the default) lies on the simulated chromosomes: the
    ``chroms`` override, else every chromosome of the project's FASTA (``sizes``), else the built-in genome's."""
    from affdist_core.io.genome import CHROMOSOMES
    from affdist_core.model.data_spec import YEAST_SPLIT
    from affdist_core.pipeline.demo_stages import QUICK_CHROMS
    from affdist_core.pipeline.train_step import QUICK_SPLIT

    chroms = project.simulate.overrides.get("chroms")
    if isinstance(chroms, str):
        chroms = [c.strip() for c in chroms.split(",") if c.strip()]
    if chroms:
        simulated = list(chroms)
    elif project.genome.fasta is not None:
        if sizes is None:
            return []  # the FASTA could not be read: reported with the genome
        simulated = list(sizes)
    else:
        simulated = QUICK_CHROMS if project.quick else list(CHROMOSOMES)
    default = QUICK_SPLIT if project.quick else YEAST_SPLIT
    problems = []
    for key in ("valid_chroms", "test_chroms"):
        given = getattr(experiment, key)
        split = list(given) if given else default[key]
        absent = [c for c in split if c not in simulated]
        if absent:
            where = f"{experiment.key}.{key}" + ("" if given else " (default)")
            problems.append(f"{where}: {', '.join(absent)} not among the simulated chromosomes "
                            f"({', '.join(simulated)}); set {experiment.key}.{key} or simulate.overrides.chroms")
    return problems


def _check_library(library: Library) -> tuple[list[str], InVitroLibrary | None]:
    """The library loads: file exists, columns exist, sequences A/C/G/T, values finite. Returns the problems
    and the loaded library (None for a built-in one, trusted and not loaded, or after a problem)."""
    from affdist_core.io.library import load_library

    if library.builtin or library.path == Path():
        return [], None  # built in (trusted), or no path given (reported already)
    if not library.path.is_file():
        return [f"{library.key}.path: {library.path} does not exist; give a CSV, TSV or Parquet table (or a "
                f"built-in name: betseq_pho4)"], None
    try:
        return [], load_library(library.path, name=library.name, sequence_col=library.sequence_col,
                                value_col=library.value_col, id_col=library.id_col,
                                category_col=library.category_col, units=library.units)
    except (ValueError, FileNotFoundError, OSError) as err:
        return [f"{library.key} ({library.path.name}): {err} (columns are set by {library.key}.sequence_col, "
                f"value_col, id_col, category_col)"], None


def _check_motifs(project: Project) -> list[str]:
    """JASPAR ids exist in the bundled database; motif files parse."""
    from affdist_core.io.motif_files import jaspar_motif, read_motifs

    problems = []
    for tf, matrix_ids in project.motifs.jaspar.items():
        for i, matrix_id in enumerate(matrix_ids):
            key = f"motifs.jaspar.{tf}" + (f"[{i}]" if len(matrix_ids) > 1 else "")
            try:
                jaspar_motif(matrix_id)
            except ValueError as err:
                problems.append(f"{key}: {matrix_id!r}: {err}")
    for tf, paths in project.motifs.files.items():
        for i, path in enumerate(paths):
            try:
                read_motifs(path)
            except FileNotFoundError:
                problems.append(f"motifs.files.{tf}[{i}]: {path} does not exist; give a MEME, JASPAR or TRANSFAC "
                                f"motif file")
            except (ValueError, OSError) as err:
                problems.append(f"motifs.files.{tf}[{i}]: {err}")
    return problems


def _check_calibration(project: Project, loaded: Mapping[str, InVitroLibrary | None]) -> list[str]:
    """The calibration ids file parses, lists each id once, at least 3 of them, and every id is a row of every
    library (``loaded``: the libraries :func:`_check_library` read; built-in ones are loaded here)."""
    from affdist_core.calibrate.calibration import MIN_CALIBRATION_ROWS
    from affdist_core.io.library import resolve_library
    from affdist_core.io.user_text import UserInputError, parse_id_list

    path = project.calibration.ids
    if path is None:
        return []
    if not path.is_file():
        return [f"calibration.ids: {path} does not exist; give a file of library ids, one per line"]
    try:
        ids = parse_id_list(path.read_bytes(), path.name)
    except UserInputError as err:
        return [f"calibration.ids: {err}"]
    repeated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) < len(ids) else []
    if repeated:
        return [f"calibration.ids ({path.name}): ids repeat ({', '.join(repeated[:5])}); list each once"]
    if len(ids) < MIN_CALIBRATION_ROWS:
        return [f"calibration.ids ({path.name}): {len(ids)} id(s); a calibration needs at least "
                f"{MIN_CALIBRATION_ROWS}"]
    problems = []
    for library in project.libraries:
        table = loaded.get(library.key) or (resolve_library(library.path) if library.builtin else None)
        if table is None:
            continue  # not readable: reported already
        known = set(table.frame["id"].astype(str))
        missing = [i for i in ids if i not in known]
        if missing:
            problems.append(
                f"calibration.ids ({path.name}): {len(missing):,} of its {len(ids):,} ids are not rows of "
                f"{library.key} ({library.name}), e.g. {', '.join(missing[:5])}; the ids apply to every library "
                f"and name rows by {library.key}.id_col ({library.id_col or 'unset: row numbers from 0'})")
        elif len(ids) >= len(known):
            problems.append(f"calibration.ids ({path.name}): {len(ids):,} ids take every row of {library.key} "
                            f"({library.name}); leave rows out for the held-out metrics")
    return problems
