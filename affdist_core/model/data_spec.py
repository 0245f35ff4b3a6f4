"""The data spec of ``affdist train`` (``--data D.json``): which genome, strand bigWigs, control and peaks, the
chromosome split, the jitter, the background fraction and the seed.

:class:`DataSpec` checks types and values on construction; :func:`load_data_spec` validates a file or mapping
once (unknown/missing keys, files that do not exist, chromosomes in both ``valid_chroms`` and ``test_chroms``
or not in the genome). :data:`YEAST_SPLIT` is the documented yeast default split and
:func:`default_data_spec` builds a spec for a directory written by ``affdist simulate``.

Chromosome split
----------------
Every chromosome of the genome is in exactly one of: ``test_chroms``, ``valid_chroms``, ``exclude_chroms``
(e.g. chrM; used nowhere) or train (all the others). **Test chromosomes are never used for training or for
model selection** (early stopping / choosing a model uses ``valid``); they are only for the final held-out
evaluation and, in Affinity Distillation, as the source of background sequences for marginalization.
Yeast default (:data:`YEAST_SPLIT`): valid = chrVII (1.09 Mb, ~9 % of the genome), test = chrIV (1.53 Mb,
the largest chromosome, ~13 %); train = the other 14 nuclear chromosomes (~78 %).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from affdist_core.common import names
from affdist_core.common.atomic import write_json
from affdist_core.common.checks import check_int, path_string, read_json_object, replace_fields
from affdist_core.io.fasta import GenomeReader

__all__ = [
    "DATA_SPEC_KEYS",
    "DataSpec",
    "SPLITS",
    "TaskTracks",
    "YEAST_SPLIT",
    "check_files",
    "default_data_spec",
    "load_data_spec",
    "save_data_spec",
    "split_chromosomes",
]

SPLITS = ("train", "valid", "test")

YEAST_SPLIT: dict[str, list[str]] = {"valid_chroms": ["chrVII"], "test_chroms": ["chrIV"]}
"""Default S. cerevisiae split: valid chrVII (~9 % of the genome), test chrIV (largest, ~13 %); train = rest."""

_REQUIRED_FILE_KEYS = ("genome_fasta", "plus_bigwig", "minus_bigwig", "peaks")
#: The files of one ChIP-nexus experiment (a task of a multi-task BPNet).
_TASK_FILE_KEYS = ("plus_bigwig", "minus_bigwig", "peaks")
_OPTIONAL_FILE_KEYS = ("control_plus_bigwig", "control_minus_bigwig")
_CHROM_KEYS = ("valid_chroms", "test_chroms", "exclude_chroms")

@dataclasses.dataclass(frozen=True)
class TaskTracks:
    """One more ChIP-nexus experiment in the same cells (a task of a multi-task BPNet, issue 26): ``name`` and its
    ``plus_bigwig``, ``minus_bigwig`` and ``peaks`` paths. The genome, the control and the split are the spec's."""

    name: str
    plus_bigwig: str
    minus_bigwig: str
    peaks: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"extra_tasks: name: expected a non-empty string, got {self.name!r}")
        for key in _TASK_FILE_KEYS:
            value = path_string(f"extra_tasks[{self.name}].{key}", getattr(self, key))
            if not value:
                raise ValueError(f"extra_tasks[{self.name}].{key}: a path is required, got an empty string")
            object.__setattr__(self, key, value)


def _task_tracks(value: Any) -> tuple[TaskTracks, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, Mapping)) or not isinstance(value, Sequence):
        raise ValueError(f"extra_tasks: expected a list of {{name, plus_bigwig, minus_bigwig, peaks}} objects, "
                         f"got {value!r}")
    out = []
    for i, entry in enumerate(value):
        if isinstance(entry, TaskTracks):
            out.append(entry)
            continue
        if not isinstance(entry, Mapping):
            raise ValueError(f"extra_tasks[{i}]: expected an object with name, plus_bigwig, minus_bigwig, peaks")
        keys = ("name", *_TASK_FILE_KEYS)
        unknown, missing = sorted(set(entry) - set(keys)), [k for k in keys if k not in entry]
        if unknown or missing:
            raise ValueError(f"extra_tasks[{i}]: unknown key(s) {unknown}, missing key(s) {missing}; expected "
                             f"exactly {list(keys)}")
        out.append(TaskTracks(**{k: entry[k] for k in keys}))
    names_seen = [t.name for t in out]
    if len(set(names_seen)) != len(names_seen):
        raise ValueError(f"extra_tasks: duplicate task names in {names_seen}")
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """Where the training data is and how to split/augment it (the ``--data D.json`` file).

    Attributes
    ----------
    genome_fasta, plus_bigwig, minus_bigwig, peaks : paths (required). The bigWigs hold per-base counts of
        read 5′ ends on the + and − strand (non-negative); peaks is narrowPeak (summit column used) or BED.
    control_plus_bigwig, control_minus_bigwig : optional control track, both or neither ("" = none).
    valid_chroms, test_chroms : chromosome names; train = every other genome chromosome not excluded.
    exclude_chroms : chromosomes used nowhere (e.g. ``chrM``); names absent from the genome are ignored.
    max_jitter : maximum random shift (bp) of training windows, default 50. Keep it well below
        ``out_pred_len // 2`` minus the footprint: a site shifted out of the output window leaves the counts
        target without its reads while the globally pooled counts head still sees it (measured in
        docs/experiments.md, "max_jitter").
    background_fraction : GC-matched non-peak windows, as a fraction of the split's peaks, default 0.1.
    gc_bins : number of equal-width GC-fraction bins used for matching, default 20.
    seed : seed of background sampling (and the default seed of batch generation), default 0.
    extra_tasks : more ChIP-nexus experiments in the same cells (:class:`TaskTracks`; JSON: a list of
        ``{name, plus_bigwig, minus_bigwig, peaks}``), trained as tasks 1, 2, … of one multi-task BPNet; the
        spec's own tracks are task 0. Default none (a single-task model); left out of :meth:`to_dict` when empty.

    Construction checks types and values; :func:`load_data_spec` also checks files and chromosome names.
    """

    genome_fasta: str
    plus_bigwig: str
    minus_bigwig: str
    peaks: str
    control_plus_bigwig: str = ""
    control_minus_bigwig: str = ""
    valid_chroms: tuple[str, ...] = ()
    test_chroms: tuple[str, ...] = ()
    exclude_chroms: tuple[str, ...] = ()
    max_jitter: int = 50
    background_fraction: float = 0.1
    gc_bins: int = 20
    seed: int = 0
    extra_tasks: tuple[TaskTracks, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_tasks", _task_tracks(self.extra_tasks))
        for key in _REQUIRED_FILE_KEYS + _OPTIONAL_FILE_KEYS:
            value = path_string(key, getattr(self, key))
            if key in _REQUIRED_FILE_KEYS and not value:
                raise ValueError(f"{key}: a path is required, got an empty string")
            object.__setattr__(self, key, value)
        if bool(self.control_plus_bigwig) != bool(self.control_minus_bigwig):
            raise ValueError(
                "control_plus_bigwig, control_minus_bigwig: give both control strands or neither, got "
                f"control_plus_bigwig={self.control_plus_bigwig!r}, control_minus_bigwig={self.control_minus_bigwig!r}"
            )
        for key in _CHROM_KEYS:
            object.__setattr__(self, key, _check_chrom_list(key, getattr(self, key)))
        object.__setattr__(self, "max_jitter", check_int("max_jitter", self.max_jitter, 0))
        object.__setattr__(self, "gc_bins", check_int("gc_bins", self.gc_bins, 1))
        object.__setattr__(self, "seed", check_int("seed", self.seed, 0))
        fraction = self.background_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not math.isfinite(fraction) \
                or fraction < 0:
            raise ValueError(f"background_fraction: expected a finite number >= 0, got {fraction!r}")
        object.__setattr__(self, "background_fraction", float(fraction))
        for a, b in (("valid_chroms", "test_chroms"), ("exclude_chroms", "valid_chroms"),
                     ("exclude_chroms", "test_chroms")):
            both = sorted(set(getattr(self, a)) & set(getattr(self, b)))
            if both:
                raise ValueError(f"{a}, {b}: chromosome(s) {both} are in both; each chromosome belongs to one split")

    @property
    def has_control(self) -> bool:
        """True when control bigWigs are given."""
        return bool(self.control_plus_bigwig)

    @property
    def n_tasks(self) -> int:
        """Number of ChIP-nexus experiments (tasks): 1 + ``len(extra_tasks)``."""
        return 1 + len(self.extra_tasks)

    def task_tracks(self) -> list[tuple[str, str, str]]:
        """``(plus_bigwig, minus_bigwig, peaks)`` of every task, task 0 (the spec's own) first."""
        return [(self.plus_bigwig, self.minus_bigwig, self.peaks),
                *((t.plus_bigwig, t.minus_bigwig, t.peaks) for t in self.extra_tasks)]

    def task_names(self) -> list[str]:
        """Names of the tasks: ``"task0"`` for the spec's own tracks, then each extra task's ``name``."""
        return ["task0", *(t.name for t in self.extra_tasks)]

    def task_spec(self, task: int) -> DataSpec:
        """The single-task spec of task ``task`` (0 = the spec's own tracks): its tracks and peaks with this
        spec's genome, control, split and sampling."""
        task = check_int("task", task, 0)
        if task >= self.n_tasks:
            raise ValueError(f"task: expected 0..{self.n_tasks - 1} ({self.task_names()}), got {task}")
        plus, minus, peaks = self.task_tracks()[task]
        return dataclasses.replace(self, plus_bigwig=plus, minus_bigwig=minus, peaks=peaks, extra_tasks=())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict with every key (chromosome lists as lists; ``extra_tasks`` only when given, so a
        single-task spec reads as before)."""
        out = dataclasses.asdict(self)
        for key in _CHROM_KEYS:
            out[key] = list(out[key])
        if not self.extra_tasks:
            del out["extra_tasks"]
        else:
            out["extra_tasks"] = [dict(t) for t in out["extra_tasks"]]
        return out

    def replace(self, **changes: Any) -> DataSpec:
        """A copy with ``changes`` applied (validated again; files are not re-checked)."""
        return replace_fields(self, changes, "data spec key")


DATA_SPEC_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(DataSpec))


def _check_chrom_list(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a list of chromosome names (strings), got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{key}: duplicate chromosome names in {list(value)}")
    return tuple(value)


def load_data_spec(
    path_or_dict: str | os.PathLike | Mapping[str, Any] | DataSpec,
    base_dir: str | os.PathLike | None = None,
) -> DataSpec:
    """Load and validate a data spec from a JSON file, a mapping or a :class:`DataSpec`.

    Relative paths are resolved against the JSON file's directory (for a mapping: ``base_dir``, default the
    current directory) and stored absolute. Raises ``ValueError`` for unknown keys (listing the valid ones),
    missing required keys (naming them), bad values, files that do not exist (naming key and path), a
    chromosome in two of valid/test/exclude, or valid/test chromosomes that are not in the genome.
    """
    if isinstance(path_or_dict, DataSpec):
        given = path_or_dict.to_dict()
        source = "data spec"
        root = Path(base_dir) if base_dir is not None else Path.cwd()
    elif isinstance(path_or_dict, Mapping):
        given = dict(path_or_dict)
        source = "data spec"
        root = Path(base_dir) if base_dir is not None else Path.cwd()
    elif isinstance(path_or_dict, (str, os.PathLike)):
        path = Path(path_or_dict)
        source = str(path)
        given = read_json_object(path, "path_or_dict", "data spec file")
        root = Path(base_dir) if base_dir is not None else path.resolve().parent
    else:
        raise ValueError(
            f"path_or_dict: expected a JSON path, a mapping or DataSpec, got {type(path_or_dict).__name__}"
        )
    unknown = sorted(set(given) - set(DATA_SPEC_KEYS))
    if unknown:
        raise ValueError(f"{source}: unknown data spec key(s) {unknown}; valid keys: {list(DATA_SPEC_KEYS)}")
    missing = [key for key in _REQUIRED_FILE_KEYS if key not in given]
    if missing:
        raise ValueError(f"{source}: missing required data spec key(s) {missing}")
    for key in _REQUIRED_FILE_KEYS + _OPTIONAL_FILE_KEYS:
        value = given.get(key)
        if isinstance(value, (str, os.PathLike)) and os.fspath(value):
            given[key] = str((root / os.fspath(value)).resolve())
    tasks = given.get("extra_tasks")
    if isinstance(tasks, Sequence) and not isinstance(tasks, str):
        given["extra_tasks"] = [
            {**entry, **{k: str((root / os.fspath(entry[k])).resolve()) for k in _TASK_FILE_KEYS
                         if isinstance(entry.get(k), (str, os.PathLike)) and os.fspath(entry[k])}}
            if isinstance(entry, Mapping) else entry for entry in tasks]
    spec = DataSpec(**given)
    check_files(spec, source)
    genome = GenomeReader(spec.genome_fasta)
    try:
        for key in ("valid_chroms", "test_chroms"):
            absent = [c for c in getattr(spec, key) if c not in genome.chrom_sizes]
            if absent:
                shown = ", ".join(list(genome.chrom_sizes)[:8])
                raise ValueError(
                    f"{key}: chromosome(s) {absent} are not in the genome {spec.genome_fasta} "
                    f"(it has: {shown}{' …' if len(genome.chrom_sizes) > 8 else ''})"
                )
        split_chromosomes(spec, genome.chrom_sizes)
    finally:
        genome.close()
    return spec


def check_files(spec: DataSpec, source: str = "data spec") -> None:
    """ValueError naming the key and path of the first file of ``spec`` that does not exist."""
    for key in _REQUIRED_FILE_KEYS + _OPTIONAL_FILE_KEYS:
        value = getattr(spec, key)
        if value and not Path(value).is_file():
            raise ValueError(f"{source}: {key}: file {value} does not exist")
    for task in spec.extra_tasks:
        for key in _TASK_FILE_KEYS:
            value = getattr(task, key)
            if not Path(value).is_file():
                raise ValueError(f"{source}: extra_tasks[{task.name}].{key}: file {value} does not exist")


def save_data_spec(spec: DataSpec, path: str | os.PathLike) -> Path:
    """Atomically write ``spec`` as JSON (absolute paths, every key); returns the path."""
    if not isinstance(spec, DataSpec):
        raise ValueError(f"spec: expected DataSpec, got {type(spec).__name__}")
    return write_json(path, spec.to_dict())


def default_data_spec(sim_dir: str | os.PathLike, **overrides: Any) -> DataSpec:
    """Data spec for a directory written by ``affdist simulate`` with the yeast split :data:`YEAST_SPLIT`.

    Uses the genome FASTA, the strand bigWigs and the peaks of ``sim_dir`` (file names in
    :mod:`affdist_core.common.names`), and the control track when the simulation wrote one; ``overrides``
    (any data spec keys) replace the defaults.
    """
    sim_dir = Path(sim_dir)
    control = {"control_plus_bigwig": names.CONTROL_PLUS_BIGWIG_FILE,
               "control_minus_bigwig": names.CONTROL_MINUS_BIGWIG_FILE}
    has_control = all((sim_dir / name).exists() for name in control.values())
    spec = {
        "genome_fasta": names.GENOME_FASTA_FILE,
        "plus_bigwig": names.PLUS_BIGWIG_FILE,
        "minus_bigwig": names.MINUS_BIGWIG_FILE,
        "peaks": names.PEAKS_FILE,
        **(control if has_control else {}),
        **YEAST_SPLIT,
        **overrides,
    }
    return load_data_spec(spec, base_dir=sim_dir)


def split_chromosomes(spec: DataSpec, chrom_sizes: Mapping[str, int]) -> dict[str, list[str]]:
    """Chromosomes of each split, in genome order: ``{"train": [...], "valid": [...], "test": [...]}``.

    Train = genome chromosomes not in valid/test/exclude. Raises ``ValueError`` when train is empty.
    """
    held = set(spec.valid_chroms) | set(spec.test_chroms) | set(spec.exclude_chroms)
    out = {
        "train": [c for c in chrom_sizes if c not in held],
        "valid": [c for c in chrom_sizes if c in spec.valid_chroms],
        "test": [c for c in chrom_sizes if c in spec.test_chroms],
    }
    if not out["train"]:
        raise ValueError(
            "valid_chroms, test_chroms, exclude_chroms: no chromosome is left for training "
            f"(genome has {list(chrom_sizes)})"
        )
    return out
