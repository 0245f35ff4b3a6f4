"""The project file of ``affdist run``: a TOML file naming a user's genome, experiments, libraries and settings.

:func:`load_project` reads the file with the standard library's :mod:`tomllib` into frozen dataclasses
(:class:`Project` and its sections) and checks its *shape*: unknown keys (with a did-you-mean), missing keys,
wrong types and bad values. :func:`affdist_core.pipeline.project_checks.check_project` then checks the *files*
(exist, parse, chromosome names agree, ...). Both collect every problem before raising one
:class:`ProjectError` whose lines each name the key (``experiment[0].plus``), the value and the fix.

Paths are relative to the project file's folder. The reference, key by key, is ``docs/project_file.md``.

Sections: ``[genome]``, ``[[experiment]]``, ``[[library]]``, ``[motifs]``, ``[distill]``, ``[calibration]``,
``[output]``, ``[simulate]`` (optional: the experiments' files come from the simulator), and the top-level
``quick`` (smaller everything, as ``affdist demo --quick``) and ``multitask`` (one multi-task BPNet for every
experiment instead of one BPNet per TF: :func:`_multitask_checks`).
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUILTIN_GENOMES = ("s288c",)
DEFAULT_CATALOG = "data_catalog/affdist.duckdb"


class ProjectError(ValueError):
    """Every problem of a project file, one per line (``problems``); raised before anything is computed."""

    def __init__(self, source: str | os.PathLike, problems: list[str]):
        self.source = str(source)
        self.problems = list(problems)
        super().__init__(f"{self.source}: {len(self.problems)} problem(s) in the project file:\n"
                         + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class Genome:
    """``[genome]``: a FASTA file (``fasta``, indexed with a ``.fai`` next to it or indexable) or a built-in
    genome (``builtin = "s288c"``: S. cerevisiae S288C R64, built into the shared cache when first needed)."""

    fasta: Path | None = None
    builtin: str | None = None


@dataclass(frozen=True)
class Experiment:
    """One ``[[experiment]]``: a TF's ChIP-nexus/ChIP-exo experiment and its model.

    Strand tracks are bigWigs of read 5′-end counts per base (``plus``/``minus``) or BAM files (``bam``, pooled
    and converted once into ``data/plus.bw``/``minus.bw`` of the run, keeping reads of mapping quality >=
    ``min_mapq`` and dropping duplicate-flagged reads unless ``keep_duplicates``). With ``[simulate]`` all
    file keys are absent: the simulator writes them. ``models``: BPNets whose mean scores AD (seeds ``seed``,
    ``seed + 1``, ...). ``model``: a parameter preset name; ``params``: a BPNet params JSON (merged over the
    preset). ``max_epochs``/``patience``/``max_minutes``/``batch_size``: training settings (None = default).
    """

    index: int
    tf: str
    plus: Path | None = None
    minus: Path | None = None
    bam: tuple[Path, ...] = ()
    min_mapq: int = 0
    keep_duplicates: bool = False
    control_plus: Path | None = None
    control_minus: Path | None = None
    peaks: Path | None = None
    valid_chroms: tuple[str, ...] | None = None
    test_chroms: tuple[str, ...] | None = None
    exclude_chroms: tuple[str, ...] = ()
    model: str = "yeast-compact"
    params: Path | None = None
    models: int | None = None
    seed: int = 0
    core: str = ""
    max_epochs: int | None = None
    patience: int | None = None
    max_minutes: float | None = None
    batch_size: int | None = None

    @property
    def key(self) -> str:
        return f"experiment[{self.index}]"


@dataclass(frozen=True)
class Library:
    """One ``[[library]]``: an in-vitro table (``path``: CSV/TSV/Parquet, or a built-in name such as
    ``betseq_pho4``) measured for ``tf`` (one TF or several)."""

    index: int
    name: str
    path: Path | str
    tf: tuple[str, ...]
    sequence_col: str = "sequence"
    value_col: str = "value"
    id_col: str | None = None
    category_col: str | None = None
    units: str = ""

    @property
    def key(self) -> str:
        return f"library[{self.index}]"

    @property
    def builtin(self) -> bool:
        """True when ``path`` names a library shipped with the package."""
        return isinstance(self.path, str)


@dataclass(frozen=True)
class Motifs:
    """``[motifs]``: per TF, JASPAR matrix ids (``jaspar = {Pho4 = "MA0357.1"}`` or a list, the first ranked first
    and the one the JASPAR row reports) and motif files (``files = {Pho4 = ["streme.txt"]}``: MEME, JASPAR or
    TRANSFAC), compared as baselines next to the de-novo STREME, Weeder and MoDISco motifs."""

    jaspar: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    files: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Distill:
    """``[distill]``: ``n_scored`` library rows scored (None = all), ``n_backgrounds`` per score, the
    ``background_pool`` drawn once (the backgrounds curve uses all of it), ``seed``. None = the demo's
    defaults (20,000 × 10 of 100; quick 2,000 × 5 of 20). ``workers`` > 0: distill on a local Dask cluster of
    that many processes; ``scheduler``: the address of a running Dask scheduler instead (same scores)."""

    n_scored: int | None | str = "default"
    n_backgrounds: int | None = None
    background_pool: int | None = None
    seed: int = 0
    workers: int = 0
    scheduler: str | None = None


@dataclass(frozen=True)
class Calibration:
    """``[calibration]``: at most one of ``n`` rows, a ``fraction`` of the scored rows or an ``ids`` file (one
    id per line); default min(1000, 10 %) of the scored rows. ``seed`` None = the ``[distill]`` seed."""

    n: int | None = None
    fraction: float | None = None
    ids: Path | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Output:
    """``[output]``: ``dir`` holds one run directory per TF × library; ``catalog`` the DuckDB file all runs
    are recorded in (relative to the project file)."""

    dir: Path
    catalog: Path


@dataclass(frozen=True)
class Simulate:
    """``[simulate]``: the experiments' files are simulated (preset + ``overrides``, the keys of
    :mod:`affdist_core.simulate.config`) into each run's ``data/`` instead of read from the user."""

    preset: str | None = "pho4-yeast"
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    """A parsed project file (``path``; ``root`` = its folder, where relative paths start)."""

    path: Path
    genome: Genome
    experiments: tuple[Experiment, ...]
    libraries: tuple[Library, ...]
    motifs: Motifs
    distill: Distill
    calibration: Calibration
    output: Output
    simulate: Simulate | None = None
    quick: bool = False
    multitask: bool = False

    @property
    def root(self) -> Path:
        return self.path.parent

    def libraries_of(self, tf: str) -> list[Library]:
        """The libraries that score ``tf``: those that name it first in their ``tf`` (they measure it), then
        the others, each group in file order. The first one trains the TF's model (and is its simulated
        energy landscape)."""
        return ([lib for lib in self.libraries if lib.tf[0] == tf]
                + [lib for lib in self.libraries if tf in lib.tf[1:]])


def default_project_path() -> Path:
    """The built-in default project (``affdist_core/data/default_project.toml``: the demo's run)."""
    from importlib import resources

    return Path(str(resources.files("affdist_core") / "data" / "default_project.toml"))


# --- reading --------------------------------------------------------------------------------------------------

_TOP = ("genome", "experiment", "library", "motifs", "distill", "calibration", "output", "simulate", "quick",
        "multitask")
_GENOME = ("fasta", "builtin")
_EXPERIMENT = ("tf", "plus", "minus", "bam", "min_mapq", "keep_duplicates", "control_plus", "control_minus",
               "peaks", "valid_chroms", "test_chroms", "exclude_chroms", "model", "params", "models", "seed",
               "core", "max_epochs", "patience", "max_minutes", "batch_size")
_LIBRARY = ("name", "path", "tf", "sequence_col", "value_col", "id_col", "category_col", "units")
_MOTIFS = ("jaspar", "files")
_DISTILL = ("n_scored", "n_backgrounds", "background_pool", "seed", "workers", "scheduler")
_CALIBRATION = ("n", "fraction", "ids", "seed")
_OUTPUT = ("dir", "catalog")
_SIMULATE = ("preset", "overrides")


class _Reader:
    """Collects problems while reading typed values out of TOML tables."""

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")

    def table(self, key: str, value: Any, allowed: tuple[str, ...]) -> dict:
        """``value`` as a table whose keys are all in ``allowed`` (unknown keys: problems with a did-you-mean)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(key, f"expected a table ([{key}]), got {value!r}")
            return {}
        for name in value:
            if name not in allowed:
                close = difflib.get_close_matches(name, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                self.problem(f"{key}.{name}" if key else name,
                             f"unknown key; {hint}valid keys here: {', '.join(allowed)}")
        return value

    def get(self, where: str, table: dict, name: str, check: Callable[[str, Any], Any], default: Any = None,
            required: bool = False) -> Any:
        key = f"{where}.{name}" if where else name
        if name not in table:
            if required:
                self.problem(key, "missing; this key is required")
            return default
        try:
            return check(key, table[name])
        except ValueError as err:
            self.problems.append(str(err))
            return default

    # value checks: each raises ValueError("key: expected …, got …")
    @staticmethod
    def text(key: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key}: expected a non-empty string, got {value!r}")
        return value.strip()

    @staticmethod
    def boolean(key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false, got {value!r}")
        return value

    @staticmethod
    def integer(minimum: int) -> Callable[[str, Any], int]:
        def check(key: str, value: Any) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{key}: expected an integer >= {minimum}, got {value!r}")
            return value
        return check

    @staticmethod
    def number(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{key}: expected a positive number, got {value!r}")
        return float(value)

    @staticmethod
    def names(key: str, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"{key}: expected a list of names, e.g. [\"chrIV\"], got {value!r}")
        if len(set(value)) != len(value):
            raise ValueError(f"{key}: names repeat in {value!r}; list each once")
        return tuple(value)

    def path(self, key: str, value: Any) -> Path:
        text = self.text(key, value)
        return (self.root / Path(text).expanduser()).resolve()

    def paths(self, key: str, value: Any) -> tuple[Path, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise ValueError(f"{key}: expected a file name or a list of file names, got {value!r}")
        return tuple(self.path(f"{key}[{i}]", v) for i, v in enumerate(value))


def load_project(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None,
                 problems: list[str] | None = None) -> Project:
    """Read and shape-check the project file at ``path``; ``overrides`` (a nested mapping of the same keys,
    e.g. ``{"output": {"dir": "/tmp/x"}}``) are merged over the file first (:func:`merge_overrides`). Raises
    :class:`ProjectError` listing every problem — unless ``problems`` is a list: then they are appended to it
    and the project is returned with defaults in place of the bad values (so that the file checks can still
    run: every problem at once)."""
    path = Path(path)
    if not path.is_file():
        raise ProjectError(path, [f"project file: {path} does not exist; give the path of a .toml project file "
                                  f"(see examples/own_data.toml)"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ProjectError(path, [f"project file: not valid TOML ({err}); fix the syntax"]) from None
    if overrides:
        data = merge_overrides(data, overrides)
    return parse_project(data, path.resolve(), problems)


def merge_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``overrides`` merged in: a section given as a table (``{"output": {"dir": ...}}``) keeps
    its other keys; any value inside a section, tables too (``motifs.jaspar``), and any other top-level value
    (the ``experiment``/``library`` lists, ``quick``) replaces the file's."""
    out = dict(data)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def parse_project(data: Mapping[str, Any], path: Path, problems: list[str] | None = None) -> Project:
    """The :class:`Project` of the parsed TOML ``data`` of the file ``path`` (see :func:`load_project`)."""
    r = _Reader(path.parent)
    top = r.table("", dict(data), _TOP)
    quick = r.get("", top, "quick", r.boolean, False)
    multitask = r.get("", top, "multitask", r.boolean, False)
    simulate = _simulate(r, top.get("simulate")) if "simulate" in top else None
    genome = _genome(r, top.get("genome"), simulate is not None)
    experiments = _experiments(r, top.get("experiment"), simulate is not None)
    libraries = _libraries(r, top.get("library"))
    motifs = _motifs(r, top.get("motifs"))
    distill = _distill(r, top.get("distill"))
    calibration = _calibration(r, top.get("calibration"))
    output = _output(r, top.get("output"), path)
    _cross_checks(r, experiments, libraries, motifs)
    if simulate is not None:
        _simulated_tf_checks(r, experiments, simulate)
    if multitask:
        _multitask_checks(r, experiments)
    if problems is not None:
        problems += r.problems
    elif r.problems:
        raise ProjectError(path, r.problems)
    return Project(path=path, genome=genome, experiments=experiments, libraries=libraries, motifs=motifs,
                   distill=distill, calibration=calibration, output=output, simulate=simulate, quick=quick,
                   multitask=multitask)


def _genome(r: _Reader, value: Any, simulated: bool) -> Genome:
    table = r.table("genome", value, _GENOME)
    if not table and simulated:
        return Genome(builtin="s288c")
    fasta = r.get("genome", table, "fasta", r.path)
    builtin = r.get("genome", table, "builtin", r.text)
    if builtin is not None and builtin.lower() not in BUILTIN_GENOMES:
        r.problem("genome.builtin", f"unknown built-in genome {builtin!r}; available: {', '.join(BUILTIN_GENOMES)}")
    if ("fasta" in table) == ("builtin" in table):
        r.problem("genome", "give exactly one of fasta = \"genome.fa\" or builtin = \"s288c\"")
    return Genome(fasta=fasta, builtin=builtin.lower() if builtin else None)


def _tables(r: _Reader, value: Any, name: str, keys: tuple[str, ...], example: str):
    """``(index, key, table, getter)`` of each ``[[name]]`` table; a problem when there is none."""
    if not isinstance(value, list) or not value:
        r.problem(name, f"expected at least one [[{name}]] table ({example})")
        return
    for i, raw in enumerate(value):
        where = f"{name}[{i}]"
        t = r.table(where, raw, keys)
        yield i, where, t, functools.partial(r.get, where, t)


def _experiments(r: _Reader, value: Any, simulated: bool) -> tuple[Experiment, ...]:
    out = []
    for i, where, t, g in _tables(r, value, "experiment", _EXPERIMENT, "tf, plus, minus, peaks, ..."):
        kw = dict(
            tf=g("tf", r.text, f"?{i}", required=True),
            plus=g("plus", r.path), minus=g("minus", r.path), bam=g("bam", r.paths, ()),
            min_mapq=g("min_mapq", r.integer(0), 0), keep_duplicates=g("keep_duplicates", r.boolean, False),
            control_plus=g("control_plus", r.path), control_minus=g("control_minus", r.path),
            peaks=g("peaks", r.path), valid_chroms=g("valid_chroms", r.names), test_chroms=g("test_chroms", r.names),
            exclude_chroms=g("exclude_chroms", r.names, ()), model=g("model", r.text, "yeast-compact"),
            params=g("params", r.path), models=g("models", r.integer(1)), seed=g("seed", r.integer(0), 0),
            core=g("core", r.text, ""), max_epochs=g("max_epochs", r.integer(1)),
            patience=g("patience", r.integer(1)), max_minutes=g("max_minutes", r.number),
            batch_size=g("batch_size", r.integer(1)))
        files = [k for k in ("plus", "minus", "bam", "peaks", "control_plus", "control_minus") if k in t]
        if simulated:
            if files:
                r.problem(where, f"{', '.join(files)}: with a [simulate] section the simulator writes the "
                                 f"experiment's files; remove these keys or the [simulate] section")
        else:
            if "bam" in t and ("plus" in t or "minus" in t):
                r.problem(where, "give the strand tracks either as plus + minus bigWigs or as bam = [...], "
                                 "not both")
            elif "bam" not in t and not ("plus" in t and "minus" in t):
                r.problem(where, "missing strand tracks: give plus = \"x.plus.bw\" and minus = \"x.minus.bw\" "
                                 "(5′-end counts per strand), or bam = [\"rep1.bam\"]")
            if "peaks" not in t:
                r.problem(f"{where}.peaks", "missing; give the experiment's peaks (narrowPeak or BED)")
            for name in ("valid_chroms", "test_chroms"):
                if not t.get(name):
                    r.problem(f"{where}.{name}", "missing; name the chromosome(s) held out for early stopping "
                                                 "(valid_chroms) and for the final test (test_chroms)")
        if ("control_plus" in t) != ("control_minus" in t):
            r.problem(where, "control_plus, control_minus: give both control strands or neither")
        if "bam" not in t and ("min_mapq" in t or "keep_duplicates" in t):
            r.problem(where, "min_mapq, keep_duplicates: apply to bam = [...] only; remove them or give BAM files")
        out.append(Experiment(index=i, **kw))
    tfs = [e.tf.lower() for e in out]
    for tf in sorted({t for t in tfs if tfs.count(t) > 1}):
        r.problem("experiment", f"TF {tf!r} has {tfs.count(tf)} experiments (names compared ignoring case: they "
                                f"name the run directories); give each TF one [[experiment]] (pool replicates "
                                f"with bam = [...])")
    return tuple(out)


def _libraries(r: _Reader, value: Any) -> tuple[Library, ...]:
    from affdist_core.io.library import builtin_libraries, default_library_name

    out = []
    for i, where, t, g in _tables(r, value, "library", _LIBRARY, "name, path, tf, sequence_col, value_col"):
        path_text = g("path", r.text, required=True)
        path: Path | str | None = None
        if path_text is not None:
            candidate = (r.root / path_text).resolve()
            path = path_text if path_text in builtin_libraries() and not candidate.exists() else candidate
        name = g("name", r.text, None)
        if name is None and path is not None:
            name = path if isinstance(path, str) else default_library_name(path)
        if name is not None and not all(c.isalnum() or c in "_-." for c in name):
            r.problem(f"{where}.name", f"{name!r}: use letters, digits, '_', '-' and '.' only (it names the run "
                                       f"directory)")
        if isinstance(path, str) and any(k in t for k in ("sequence_col", "value_col", "id_col", "category_col")):
            r.problem(where, f"path = {path!r} is a built-in library: its columns are fixed; remove the *_col keys")
        out.append(Library(index=i, name=name or f"library{i}", path=path if path is not None else Path(),
                           tf=g("tf", r.names, (), required=True),
                           sequence_col=g("sequence_col", r.text, "sequence"),
                           value_col=g("value_col", r.text, "value"),
                           id_col=g("id_col", r.text), category_col=g("category_col", r.text),
                           units=g("units", r.text, "")))
    names = [lib.name for lib in out]
    for name in sorted({n for n in names if names.count(n) > 1}):
        r.problem("library", f"name {name!r} is used by {names.count(name)} libraries; give each a unique name")
    return tuple(out)


def _motifs(r: _Reader, value: Any) -> Motifs:
    t = r.table("motifs", value, _MOTIFS)
    jaspar = r.table("motifs.jaspar", t.get("jaspar"), tuple(t.get("jaspar") or ())) if "jaspar" in t else {}
    ids = {tf: r.get("motifs.jaspar", jaspar, tf, r.names, ()) for tf in jaspar}
    files_table = r.table("motifs.files", t.get("files"), tuple(t.get("files") or ())) if "files" in t else {}
    files = {tf: r.get("motifs.files", files_table, tf, r.paths, ()) for tf in files_table}
    return Motifs(jaspar={k: v for k, v in ids.items() if v}, files={k: v for k, v in files.items() if v})


def _distill(r: _Reader, value: Any) -> Distill:
    t = r.table("distill", value, _DISTILL)

    def n_scored(key: str, v: Any) -> int | None:
        if v == "all":
            return None
        return r.integer(1)(key, v)

    d = Distill(n_scored=r.get("distill", t, "n_scored", n_scored, "default"),
                n_backgrounds=r.get("distill", t, "n_backgrounds", r.integer(1)),
                background_pool=r.get("distill", t, "background_pool", r.integer(1)),
                seed=r.get("distill", t, "seed", r.integer(0), 0),
                workers=r.get("distill", t, "workers", r.integer(0), 0),
                scheduler=r.get("distill", t, "scheduler", r.text))
    if d.n_backgrounds and d.background_pool and d.n_backgrounds > d.background_pool:
        r.problem("distill.n_backgrounds", f"{d.n_backgrounds} is more than distill.background_pool "
                                           f"({d.background_pool}); raise the pool or lower n_backgrounds")
    return d


def _calibration(r: _Reader, value: Any) -> Calibration:
    t = r.table("calibration", value, _CALIBRATION)

    def fraction(key: str, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < 1:
            raise ValueError(f"{key}: expected a fraction between 0 and 1 (exclusive), got {v!r}")
        return float(v)

    c = Calibration(n=r.get("calibration", t, "n", r.integer(1)),
                    fraction=r.get("calibration", t, "fraction", fraction),
                    ids=r.get("calibration", t, "ids", r.path), seed=r.get("calibration", t, "seed", r.integer(0)))
    given = [k for k in ("n", "fraction", "ids") if k in t]
    if len(given) > 1:
        r.problem("calibration", f"{', '.join(given)}: give at most one of n, fraction or ids")
    return c


def _output(r: _Reader, value: Any, path: Path) -> Output:
    t = r.table("output", value, _OUTPUT)
    return Output(dir=r.get("output", t, "dir", r.path, (path.parent / "runs" / path.stem).resolve()),
                  catalog=r.get("output", t, "catalog", r.path, (path.parent / DEFAULT_CATALOG).resolve()))


def _simulate(r: _Reader, value: Any) -> Simulate:
    t = r.table("simulate", value, _SIMULATE)
    preset = r.get("simulate", t, "preset", r.text, "pho4-yeast")
    overrides = t.get("overrides", {})
    if not isinstance(overrides, dict):
        r.problem("simulate.overrides", f"expected a table of simulator settings, got {overrides!r}")
        overrides = {}
    for reserved in ("tf", "library", "library_sequence_col", "library_value_col", "jaspar_id"):
        if reserved in overrides:
            r.problem(f"simulate.overrides.{reserved}", "set by the project (experiment.tf, the TF's first "
                                                        "[[library]], motifs.jaspar); remove it here")
    others = overrides.get("other_tfs", [])
    if not isinstance(others, list) or not all(isinstance(e, dict) for e in others):
        r.problem("simulate.overrides.other_tfs", "expected a list of tables, one per further TF: "
                                                  "{ tf = \"Cbf1\", energy = { chemical_potential_kcal = 0.5 } }")
    else:
        for i, entry in enumerate(others):
            where = f"simulate.overrides.other_tfs[{i}]"
            if not isinstance(entry.get("tf"), str):
                r.problem(f"{where}.tf", "name the further TF (an [[experiment]]'s tf) whose settings these are")
            for key in sorted(set(entry) - {"tf", "energy", "reads"}):
                r.problem(f"{where}.{key}", "a further TF's library, JASPAR id and core come from its "
                                            "[[experiment]], [[library]] and [motifs]; here only energy and reads")
    return Simulate(preset=preset, overrides=overrides)


def _simulated_tf_checks(r: _Reader, experiments, simulate: Simulate) -> None:
    """``simulate.overrides.other_tfs`` entries name further TFs: experiments after the first, once each."""
    others = simulate.overrides.get("other_tfs", [])
    if not isinstance(others, list):
        return
    further = [e.tf for e in experiments[1:]]
    seen: set[str] = set()
    for i, entry in enumerate(e for e in others if isinstance(e, dict)):
        tf = entry.get("tf")
        if not isinstance(tf, str):
            continue
        where = f"simulate.overrides.other_tfs[{i}].tf"
        if experiments and tf == experiments[0].tf:
            r.problem(where, f"{tf!r} is the first experiment's TF, the simulation's first TF: set its energy and "
                             "reads in [simulate.overrides] itself")
        elif tf not in further:
            r.problem(where, f"{tf!r} is not a further [[experiment]] of this project; further TFs: "
                             f"{', '.join(further) or 'none (one experiment)'}")
        elif tf in seen:
            r.problem(where, f"{tf!r} has two entries; merge them")
        seen.add(tf)


#: Experiment keys that must agree between the experiments of a multi-task project: they set the one model's
#: geometry, training, ensemble and split, or the inputs all its tasks share.
MULTITASK_SHARED = ("model", "params", "models", "seed", "max_epochs", "patience", "max_minutes", "batch_size",
                    "valid_chroms", "test_chroms", "exclude_chroms", "control_plus", "control_minus")


def _multitask_checks(r: _Reader, experiments) -> None:
    """``multitask = true``: one BPNet with a task per experiment (task ``k`` = ``experiment[k]``). It needs
    two or more experiments that agree on every key of :data:`MULTITASK_SHARED` (the first one's values are
    the model's), and the further experiments' strands as bigWigs: the model trains in the first experiment's
    run, before a further experiment's BAM files would be converted."""
    if len(experiments) < 2:
        r.problem("multitask", f"a multi-task model needs two or more [[experiment]]s, got {len(experiments)}; "
                               "remove multitask or add the other TFs' experiments")
        return
    first = experiments[0]
    for e in experiments[1:]:
        differ = [k for k in MULTITASK_SHARED if getattr(e, k) != getattr(first, k)]
        if differ:
            theirs = ", ".join(f"{k} = {getattr(first, k)!r}" for k in differ)
            r.problem(e.key, f"{', '.join(differ)}: with multitask = true every experiment trains one shared "
                             f"model, so these keys must equal {first.key}'s ({theirs}); give them the same "
                             "values, or remove multitask to train one model per TF")
        if e.bam:
            r.problem(f"{e.key}.bam", "with multitask = true the further experiments' strands must be bigWigs "
                                      "(the shared model trains before their BAMs would be converted); convert them "
                                      "with `affdist bam2bw` and give plus = ..., minus = ...")


def _cross_checks(r: _Reader, experiments, libraries, motifs: Motifs) -> None:
    """Libraries and motifs name TFs that have an experiment; every experiment has a library."""
    tfs = [e.tf for e in experiments]
    for lib in libraries:
        for tf in lib.tf:
            if tf not in tfs:
                close = difflib.get_close_matches(tf, tfs, n=1)
                r.problem(f"{lib.key}.tf", f"{tf!r} has no [[experiment]]"
                                           + (f"; did you mean {close[0]!r}?" if close else
                                              f"; experiments: {', '.join(tfs) or 'none'}"))
    for e in experiments:
        if not any(e.tf in lib.tf for lib in libraries):
            r.problem(f"{e.key}.tf", f"no [[library]] measures {e.tf!r}; add one with tf = {e.tf!r}")
    for section, mapping in (("motifs.jaspar", motifs.jaspar), ("motifs.files", motifs.files)):
        for tf in mapping:
            if tf not in tfs:
                r.problem(f"{section}.{tf}", f"{tf!r} has no [[experiment]]; experiments: {', '.join(tfs)}")
