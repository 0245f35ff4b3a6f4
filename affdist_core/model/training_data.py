"""Training data for BPNet: summit-centred windows, GC-matched backgrounds, jitter/RC batches.

Three pieces:

* :class:`DataSpec` — the ``--data D.json`` file of ``affdist train``: which genome, strand bigWigs,
  (optional) control bigWigs and peaks to use, the chromosome split, the jitter, the background fraction and
  the seed. :func:`load_data_spec` validates it once (unknown/missing keys, files that do not exist,
  chromosomes in both ``valid_chroms`` and ``test_chroms`` or not in the genome). :data:`YEAST_SPLIT` is the
  documented yeast default split and :func:`default_data_spec` builds a spec for a directory written by
  ``affdist simulate``.
* :func:`extract_windows` → :class:`WindowSet`: the arrays of one split (``"train"``, ``"valid"``,
  ``"test"``), read once from the FASTA (pyfaidx) and bigWigs (pyBigWig) **window by window** (never a whole
  chromosome), and held in memory in compact dtypes. Each window is extended by ``max_jitter`` on both sides
  so that jittered crops can be cut from memory later.
* :class:`BatchGenerator` (a ``keras.utils.PyDataset``) cuts batches out of a :class:`WindowSet`: random
  jitter and reverse complement in training mode, centred and fixed in eval mode; :func:`fixed_arrays` gives
  the centred arrays of a whole split at once (evaluation, prediction).

Chromosome split
----------------
Every chromosome of the genome is in exactly one of: ``test_chroms``, ``valid_chroms``, ``exclude_chroms``
(e.g. chrM; used nowhere) or train (all the others). **Test chromosomes are never used for training or for
model selection** (early stopping / choosing a model uses ``valid``); they are only for the final held-out
evaluation and, in Affinity Distillation, as the source of background sequences for marginalization.
Yeast default (:data:`YEAST_SPLIT`): valid = chrVII (1.09 Mb, ~9 % of the genome), test = chrIV (1.53 Mb,
the largest chromosome, ~13 %); train = the other 14 nuclear chromosomes (~78 %).

Window geometry (0-based, half-open; ``c`` = window centre = the peak summit, ``J`` = ``max_jitter``)
---------------------------------------------------------------------------------------------------------
* central input window:  ``[c - seq_len // 2, c - seq_len // 2 + seq_len)``;
* central output window: ``[c - out_pred_len // 2, c - out_pred_len // 2 + out_pred_len)`` — the exact
  centre of the input window (``seq_len - out_pred_len`` is even);
* stored (extended) windows: input ``[c - seq_len // 2 - J, ... + seq_len + 2J)`` as ``WindowSet.codes``,
  output ``[c - out_pred_len // 2 - J, ... + out_pred_len + 2J)`` as ``WindowSet.counts``;
* a jitter ``s`` in ``[-J, J]`` crops ``codes[:, J + s : J + s + seq_len]`` and
  ``counts[:, J + s : J + s + out_pred_len]``, so sequence and profile move together (centre ``c + s``).

Peaks whose extended input window runs past a chromosome end are dropped (``summit_windows(on_edge="drop")``);
duplicate summits (same chromosome and position, e.g. several MACS2 summits collapsing) are kept once.

GC-matched backgrounds
----------------------
``round(background_fraction × n_peaks)`` non-peak windows are added to the training split (and to valid/test
with ``include_background=True``), on that split's chromosomes only. A background centre is rejected when its
central input window overlaps any peak interval of the peaks file or lies within ``seq_len // 2`` of any
peak summit, when its extended window runs past the chromosome end, or when the extended window contains an
N. Candidates are drawn uniformly over the split's chromosomes (weighted by length, seeded by
``DataSpec.seed``) and accepted per GC bin (``gc_bins`` equal bins of the GC fraction of the central input
window) until each bin holds its quota, the quotas being the training peaks' GC histogram scaled to the
number of backgrounds (largest-remainder rounding). So the background GC histogram equals the peaks' one
exactly unless the genome is too short of some GC content; then (after ``50 × n + 10,000`` candidates) the
remaining quota is filled from the nearest bins and a warning is logged.

Memory
------
Per window: ``seq_len + 2J`` bytes of codes plus ``(out_pred_len + 2J) × 2 × b`` bytes of counts, where ``b``
is 2 when every count is an integer in ``[0, 65535]`` (stored as uint16, exact) and 4 otherwise (float32);
the same again for a control. Yeast compact config (546 → 300, J = 50): 646 + 400 × 2 × 2 = 2,246 bytes, i.e.
~3 MB for 1,400 peaks (+2.2 MB with a control). Seed MAX config (1346 → 1000, J = 50): 1,446 + 1,100 × 4 =
5,846 bytes, ~0.58 GB for 100,000 human peaks (1.0 GB with a control). Extraction itself holds one window at a
time besides these arrays (no whole-chromosome reads); see :attr:`WindowSet.nbytes`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json
from affdist_core.io.bigwig import BigWigReader
from affdist_core.model.bpnet import CONTROL_LOGCOUNTS_WIDTH
from affdist_core.model.params import BPNetParams
from affdist_core.common.checks import check_int, read_json_object
from affdist_core.io.fasta import GenomeReader
from affdist_core.io.peaks import read_peaks, summit_windows
from affdist_core.seq.alphabet import N_CODE

log = logging.getLogger(__name__)

__all__ = [
    "BatchGenerator",
    "DATA_SPEC_KEYS",
    "DataSpec",
    "SPLITS",
    "WindowSet",
    "YEAST_SPLIT",
    "default_data_spec",
    "extract_windows",
    "fixed_arrays",
    "load_data_spec",
    "save_data_spec",
    "split_chromosomes",
]

SPLITS = ("train", "valid", "test")

YEAST_SPLIT: dict[str, list[str]] = {"valid_chroms": ["chrVII"], "test_chroms": ["chrIV"]}
"""Default S. cerevisiae split: valid chrVII (~9 % of the genome), test chrIV (largest, ~13 %); train = rest."""

_ONE_HOT = np.vstack([np.eye(4, dtype=np.float32), np.zeros((1, 4), dtype=np.float32)])
_UINT16_MAX = np.iinfo(np.uint16).max
_REQUIRED_FILE_KEYS = ("genome_fasta", "plus_bigwig", "minus_bigwig", "peaks")
_OPTIONAL_FILE_KEYS = ("control_plus_bigwig", "control_minus_bigwig")

#: Width (bp) of the summit-centred control count given to the counts head beside the output-window total:
#: the accessibility of the site itself (one nucleosome-sized window; the output window's total mixes in
#: the neighbouring chromatin, whose accessibility can differ a lot).
LOCAL_CONTROL_WIDTH = 150
_CHROM_KEYS = ("valid_chroms", "test_chroms", "exclude_chroms")


# --------------------------------------------------------------------------------------------------------------
# Data spec
# --------------------------------------------------------------------------------------------------------------


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
        target without its reads while the globally pooled counts head still sees it (on the default run
        200 bp against the default 300-bp output window: AD held-out Pearson 0.47 instead of 0.49).
    background_fraction : GC-matched non-peak windows, as a fraction of the split's peaks, default 0.1.
    gc_bins : number of equal-width GC-fraction bins used for matching, default 20.
    seed : seed of background sampling (and the default seed of batch generation), default 0.

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

    def __post_init__(self) -> None:
        for key in _REQUIRED_FILE_KEYS + _OPTIONAL_FILE_KEYS:
            value = getattr(self, key)
            if value is None:
                value = ""
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if not isinstance(value, str):
                raise ValueError(f"{key}: expected a path string, got {value!r} ({type(value).__name__})")
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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict with every key (chromosome lists as lists)."""
        out = dataclasses.asdict(self)
        for key in _CHROM_KEYS:
            out[key] = list(out[key])
        return out

    def replace(self, **changes: Any) -> DataSpec:
        """A copy with ``changes`` applied (validated again; files are not re-checked)."""
        unknown = sorted(set(changes) - set(DATA_SPEC_KEYS))
        if unknown:
            raise ValueError(f"unknown data spec key(s) {unknown}; valid keys: {list(DATA_SPEC_KEYS)}")
        return dataclasses.replace(self, **changes)


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
    spec = DataSpec(**given)
    _check_files(spec, source)
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


def _check_files(spec: DataSpec, source: str = "data spec") -> None:
    for key in _REQUIRED_FILE_KEYS + _OPTIONAL_FILE_KEYS:
        value = getattr(spec, key)
        if value and not Path(value).is_file():
            raise ValueError(f"{source}: {key}: file {value} does not exist")


def save_data_spec(spec: DataSpec, path: str | os.PathLike) -> Path:
    """Atomically write ``spec`` as JSON (absolute paths, every key); returns the path."""
    if not isinstance(spec, DataSpec):
        raise ValueError(f"spec: expected DataSpec, got {type(spec).__name__}")
    return write_json(path, spec.to_dict())


def default_data_spec(sim_dir: str | os.PathLike, **overrides: Any) -> DataSpec:
    """Data spec for a directory written by ``affdist simulate`` with the yeast split :data:`YEAST_SPLIT`.

    Uses ``genome.fa``, ``plus.bw``, ``minus.bw`` and ``peaks.narrowPeak`` of ``sim_dir``, and the control
    track ``control_plus.bw``/``control_minus.bw`` when the simulation wrote one; ``overrides`` (any data spec
    keys) replace the defaults.
    """
    sim_dir = Path(sim_dir)
    has_control = (sim_dir / "control_plus.bw").exists() and (sim_dir / "control_minus.bw").exists()
    spec = {
        "genome_fasta": "genome.fa",
        "plus_bigwig": "plus.bw",
        "minus_bigwig": "minus.bw",
        "peaks": "peaks.narrowPeak",
        **({"control_plus_bigwig": "control_plus.bw", "control_minus_bigwig": "control_minus.bw"}
           if has_control else {}),
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


# --------------------------------------------------------------------------------------------------------------
# Window extraction
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class WindowSet:
    """Extended windows of one split, in memory (see the module docstring for the geometry).

    Attributes
    ----------
    split : ``"train"``, ``"valid"`` or ``"test"``.
    codes : (n, seq_len + 2 * max_jitter) uint8 sequence codes (A=0 C=1 G=2 T=3 N=4).
    counts : (n, out_pred_len + 2 * max_jitter, 2) uint16 (integer counts <= 65535) or float32; strand
        order (+, −).
    control : same shape as ``counts`` (the control track) or None.
    meta : DataFrame, one row per window: ``chrom``, ``centre`` (summit for peaks), ``is_peak``, ``name``
        (peak name or ``bg_<i>``), ``gc`` (GC fraction of the central input window).
    seq_len, out_pred_len, max_jitter : the geometry the arrays were cut for.
    """

    split: str
    codes: np.ndarray
    counts: np.ndarray
    control: np.ndarray | None
    meta: pd.DataFrame
    seq_len: int
    out_pred_len: int
    max_jitter: int

    def __post_init__(self) -> None:
        n = len(self.meta)
        want_codes = (n, self.seq_len + 2 * self.max_jitter)
        want_counts = (n, self.out_pred_len + 2 * self.max_jitter, 2)
        if self.codes.shape != want_codes or self.codes.dtype != np.uint8:
            raise ValueError(f"codes: expected uint8 {want_codes}, got {self.codes.dtype} {self.codes.shape}")
        if self.counts.shape != want_counts:
            raise ValueError(f"counts: expected shape {want_counts}, got {self.counts.shape}")
        if self.control is not None and self.control.shape != want_counts:
            raise ValueError(f"control: expected shape {want_counts}, got {self.control.shape}")

    def __len__(self) -> int:
        return len(self.meta)

    def __repr__(self) -> str:
        n_peaks = int(self.meta["is_peak"].sum()) if len(self.meta) else 0
        return (
            f"WindowSet({self.split!r}, {len(self)} windows: {n_peaks} peaks + {len(self) - n_peaks} background, "
            f"seq_len={self.seq_len}, out_pred_len={self.out_pred_len}, max_jitter={self.max_jitter}, "
            f"control={self.has_control}, {self.nbytes / 1e6:.1f} MB)"
        )

    @property
    def has_control(self) -> bool:
        """True when a control track was extracted."""
        return self.control is not None

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (codes + counts + control)."""
        return int(self.codes.nbytes + self.counts.nbytes + (0 if self.control is None else self.control.nbytes))

    @property
    def bytes_per_window(self) -> int:
        """Array bytes per window (see the module docstring)."""
        per = self.codes.shape[1] + self.counts.shape[1] * 2 * self.counts.itemsize
        if self.control is not None:
            per += self.control.shape[1] * 2 * self.control.itemsize
        return int(per)

    def subset(self, index) -> WindowSet:
        """The windows selected by ``index`` (boolean mask or integer positions), as a new WindowSet."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return WindowSet(
            split=self.split,
            codes=self.codes[index],
            counts=self.counts[index],
            control=None if self.control is None else self.control[index],
            meta=self.meta.iloc[index].reset_index(drop=True),
            seq_len=self.seq_len,
            out_pred_len=self.out_pred_len,
            max_jitter=self.max_jitter,
        )


def extract_windows(
    spec: DataSpec,
    params: BPNetParams,
    split: str,
    include_background: bool | None = None,
) -> WindowSet:
    """Read the windows of one split from the spec's files.

    Parameters
    ----------
    spec : a validated :class:`DataSpec` (see :func:`load_data_spec`).
    params : BPNet parameters; only ``seq_len`` and ``out_pred_len`` are used.
    split : ``"train"``, ``"valid"`` or ``"test"``.
    include_background : add GC-matched background windows (``round(background_fraction × n_peaks)``);
        default True for ``"train"``, False otherwise.

    Returns a :class:`WindowSet` with peaks first (genome chromosome order, then summit) and backgrounds after.
    Raises ``ValueError`` for an unknown split, a split without peaks, bigWigs whose chromosome names or
    lengths differ from the FASTA, or negative bigWig values.
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {list(SPLITS)}, got {split!r}")
    if not isinstance(spec, DataSpec):
        raise ValueError(f"spec: expected DataSpec (see load_data_spec), got {type(spec).__name__}")
    if not isinstance(params, BPNetParams):
        raise ValueError(f"params: expected BPNetParams, got {type(params).__name__}")
    if include_background is None:
        include_background = split == "train"
    _check_files(spec)
    seq_len, out_len, jitter = params.seq_len, params.out_pred_len, spec.max_jitter
    ext_seq = seq_len + 2 * jitter

    genome = GenomeReader(spec.genome_fasta)
    readers: list[BigWigReader] = []
    try:
        chrom_sizes = genome.chrom_sizes
        chroms = split_chromosomes(spec, chrom_sizes)[split]
        all_peaks = read_peaks(spec.peaks, chrom_sizes)
        peaks = all_peaks.loc[all_peaks["chrom"].isin(chroms)]
        n_dup = int(peaks.duplicated(["chrom", "summit"]).sum())
        if n_dup:
            log.info("%s: dropping %d duplicate summit(s)", split, n_dup)
        order = {c: i for i, c in enumerate(chrom_sizes)}
        peaks = (
            peaks.drop_duplicates(["chrom", "summit"])
            .assign(_order=lambda d: d["chrom"].map(order))
            .sort_values(["_order", "summit"], kind="stable")
            .drop(columns="_order")
        )
        windows = summit_windows(peaks, ext_seq, chrom_sizes, on_edge="drop")
        if windows.empty:
            raise ValueError(
                f"peaks: no peak of {spec.peaks} lies on the {split} chromosomes {chroms} with a full "
                f"{ext_seq}-bp window (seq_len {seq_len} + 2 × max_jitter {jitter})"
            )
        meta = pd.DataFrame(
            {
                "chrom": windows["chrom"].astype(str).to_numpy(),
                "centre": windows["summit"].to_numpy(np.int64),
                "is_peak": True,
                "name": windows["name"].astype(str).to_numpy(),
            }
        )
        codes = _read_codes(genome, meta, seq_len, jitter)
        meta["gc"] = _gc(codes[:, jitter : jitter + seq_len])

        if include_background and spec.background_fraction > 0:
            n_bg = int(round(spec.background_fraction * len(meta)))
            if n_bg:
                split_index = SPLITS.index(split)
                rng = np.random.default_rng([spec.seed, split_index])
                bg = _sample_background(
                    genome, chroms, all_peaks, meta["gc"].to_numpy(), n_bg, seq_len, jitter, spec.gc_bins, rng
                )
                bg_codes = _read_codes(genome, bg, seq_len, jitter)
                bg["gc"] = _gc(bg_codes[:, jitter : jitter + seq_len])
                meta = pd.concat([meta, bg], ignore_index=True)
                codes = np.concatenate([codes, bg_codes])

        readers = [BigWigReader(spec.plus_bigwig), BigWigReader(spec.minus_bigwig)]
        if spec.has_control:
            readers += [BigWigReader(spec.control_plus_bigwig), BigWigReader(spec.control_minus_bigwig)]
        used = sorted(set(meta["chrom"]), key=order.get)
        for reader in readers:
            _check_bigwig_chroms(reader, used, chrom_sizes)
        counts = _read_tracks(readers[0], readers[1], meta, out_len, jitter)
        control = _read_tracks(readers[2], readers[3], meta, out_len, jitter) if spec.has_control else None
    finally:
        genome.close()
        for reader in readers:
            reader.close()
    out = WindowSet(split, codes, counts, control, meta, seq_len, out_len, jitter)
    log.info("%s", out)
    return out


def _read_codes(genome: GenomeReader, meta: pd.DataFrame, seq_len: int, jitter: int) -> np.ndarray:
    length = seq_len + 2 * jitter
    out = np.empty((len(meta), length), dtype=np.uint8)
    starts = meta["centre"].to_numpy(np.int64) - seq_len // 2 - jitter
    for i, (chrom, start) in enumerate(zip(meta["chrom"], starts)):
        out[i] = genome.fetch_codes(chrom, int(start), int(start) + length)
    return out


def _gc(codes: np.ndarray) -> np.ndarray:
    """GC fraction per row of codes (N excluded); nan for all-N rows."""
    valid = (codes < N_CODE).sum(axis=1)
    gc = ((codes == 1) | (codes == 2)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(valid > 0, gc / np.maximum(valid, 1), np.nan)


def _check_bigwig_chroms(reader: BigWigReader, chroms: list[str], chrom_sizes: Mapping[str, int]) -> None:
    absent = [c for c in chroms if c not in reader.chrom_sizes]
    if absent:
        shown = ", ".join(list(reader.chrom_sizes)[:8])
        raise ValueError(
            f"bigwig: {reader.path} has no chromosome(s) {absent[:5]} (it has: {shown}); "
            "bigWigs must use the FASTA's chromosome names"
        )
    wrong = [(c, reader.chrom_sizes[c], chrom_sizes[c]) for c in chroms if reader.chrom_sizes[c] != chrom_sizes[c]]
    if wrong:
        c, got, want = wrong[0]
        raise ValueError(
            f"bigwig: {reader.path}: {c} has length {got} but {want} in the FASTA; bigWigs and FASTA must come "
            "from the same genome assembly"
        )


def _read_tracks(
    plus: BigWigReader, minus: BigWigReader, meta: pd.DataFrame, out_len: int, jitter: int
) -> np.ndarray:
    """(n, out_len + 2 jitter, 2) counts; uint16 while every value is an integer in [0, 65535], else float32."""
    length = out_len + 2 * jitter
    out = np.zeros((len(meta), length, 2), dtype=np.uint16)
    starts = meta["centre"].to_numpy(np.int64) - out_len // 2 - jitter
    for i, (chrom, start) in enumerate(zip(meta["chrom"], starts)):
        for strand, reader in enumerate((plus, minus)):
            values = reader.values(chrom, int(start), int(start) + length)
            if values.min(initial=0.0) < 0:
                pos = int(np.argmin(values))
                raise ValueError(
                    f"bigwig: {reader.path} has a negative value {values[pos]} at {chrom}:{int(start) + pos}; "
                    "strand bigWigs must hold non-negative counts (if the minus strand is stored as negative "
                    "numbers, rewrite it with absolute values)"
                )
            if out.dtype == np.uint16 and (values.max(initial=0.0) > _UINT16_MAX or np.any(values % 1)):
                log.info("%s: non-integer or > 65535 values; storing counts as float32", reader.path.name)
                out = out.astype(np.float32)
            out[i, :, strand] = values
    return out


def _blocked_intervals(peaks: pd.DataFrame, chrom: str, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Merged inclusive intervals of forbidden background centres on ``chrom`` (sorted starts, ends)."""
    sub = peaks.loc[peaks["chrom"] == chrom]
    if sub.empty:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    half = seq_len // 2
    start = sub["start"].to_numpy(np.int64)
    end = sub["end"].to_numpy(np.int64)
    summit = sub["summit"].to_numpy(np.int64)
    # window [c - half, c - half + seq_len) overlaps [start, end)  <=>  start + half - seq_len < c < end + half
    lo = np.minimum(start + half - seq_len + 1, summit - half)
    hi = np.maximum(end + half - 1, summit + half)
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    merged_lo, merged_hi = [int(lo[0])], [int(hi[0])]
    for a, b in zip(lo[1:], hi[1:]):
        if a <= merged_hi[-1] + 1:
            merged_hi[-1] = max(merged_hi[-1], int(b))
        else:
            merged_lo.append(int(a))
            merged_hi.append(int(b))
    return np.asarray(merged_lo, np.int64), np.asarray(merged_hi, np.int64)


def _quota(peak_gc: np.ndarray, n: int, n_bins: int) -> np.ndarray:
    """Background windows wanted per GC bin: the peaks' histogram scaled to ``n`` (largest remainder)."""
    hist = np.bincount(_gc_bin(peak_gc[np.isfinite(peak_gc)], n_bins), minlength=n_bins).astype(float)
    if hist.sum() == 0:
        hist[:] = 1.0
    share = hist / hist.sum() * n
    quota = np.floor(share).astype(np.int64)
    rest = n - int(quota.sum())
    if rest > 0:
        quota[np.argsort(-(share - quota), kind="stable")[:rest]] += 1
    return quota


def _gc_bin(gc: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((np.asarray(gc) * n_bins).astype(np.int64), n_bins - 1)


def _sample_background(
    genome: GenomeReader,
    chroms: list[str],
    peaks: pd.DataFrame,
    peak_gc: np.ndarray,
    n: int,
    seq_len: int,
    jitter: int,
    n_bins: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """GC-matched non-peak window centres on ``chroms`` (see the module docstring). Columns as WindowSet.meta."""
    half = seq_len // 2
    ext = seq_len + 2 * jitter
    # valid centres c: c - half - jitter >= 0 and c - half - jitter + ext <= size
    lows, highs, names = [], [], []
    for chrom in chroms:
        lo, hi = half + jitter, genome.chrom_sizes[chrom] - ext + half + jitter
        if hi >= lo:
            lows.append(lo)
            highs.append(hi)
            names.append(chrom)
    quota = _quota(peak_gc, n, n_bins)
    if not names:
        log.warning("background: no chromosome is long enough for a %d-bp window; no backgrounds added", ext)
        return _bg_frame([], [])
    lows_a, highs_a = np.asarray(lows, np.int64), np.asarray(highs, np.int64)
    weights = (highs_a - lows_a + 1) / (highs_a - lows_a + 1).sum()
    blocked = {c: _blocked_intervals(peaks, c, seq_len) for c in names}

    seen: set[tuple[str, int]] = set()
    by_bin: list[list[tuple[str, int]]] = [[] for _ in range(n_bins)]
    filled = np.zeros(n_bins, np.int64)
    max_candidates = 50 * n + 10_000
    drawn = 0
    while drawn < max_candidates and np.any(filled < quota):
        batch = min(max(2 * n, 256), max_candidates - drawn)
        drawn += batch
        which = rng.choice(len(names), size=batch, p=weights)
        centres = lows_a[which] + (rng.random(batch) * (highs_a[which] - lows_a[which] + 1)).astype(np.int64)
        for k, c in zip(which, centres):
            chrom, c = names[k], int(c)
            b_lo, b_hi = blocked[chrom]
            j = np.searchsorted(b_lo, c, side="right") - 1
            if (j >= 0 and c <= b_hi[j]) or (chrom, c) in seen:
                continue
            seen.add((chrom, c))
            codes = genome.fetch_codes(chrom, c - half - jitter, c - half - jitter + ext)
            if np.any(codes == N_CODE):
                continue
            core = codes[jitter : jitter + seq_len]
            gc_bin = int(_gc_bin(np.isin(core, (1, 2)).mean(), n_bins))
            by_bin[gc_bin].append((chrom, c))
            if filled[gc_bin] < quota[gc_bin]:
                filled[gc_bin] += 1
    chosen: list[tuple[str, int]] = []
    for b in range(n_bins):
        chosen += by_bin[b][: quota[b]]
    deficit = quota - np.minimum(filled, quota)
    if deficit.sum():
        spare = {b: by_bin[b][quota[b]:] for b in range(n_bins)}
        for b in np.flatnonzero(deficit):
            need = int(deficit[b])
            for dist in range(1, n_bins):
                for nb in (b - dist, b + dist):
                    if need and 0 <= nb < n_bins and spare[nb]:
                        take, spare[nb] = spare[nb][:need], spare[nb][need:]
                        chosen += take
                        need -= len(take)
                if not need:
                    break
        log.warning(
            "background: only %d of %d GC-matched windows found after %d candidates; %d taken from neighbouring "
            "GC bins, %d missing", int(filled.sum()), n, drawn, len(chosen) - int(filled.sum()), n - len(chosen)
        )
    return _bg_frame([c for c, _ in chosen], [p for _, p in chosen])


def _bg_frame(chroms: list[str], centres: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "chrom": pd.Series(chroms, dtype=object),
            "centre": np.asarray(centres, dtype=np.int64),
            "is_peak": np.zeros(len(chroms), dtype=bool),
            "name": [f"bg_{i}" for i in range(len(chroms))],
        }
    )


# --------------------------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------------------------


def _check_geometry(windows: WindowSet, params: BPNetParams) -> None:
    if not isinstance(windows, WindowSet):
        raise ValueError(f"windows: expected a WindowSet (see extract_windows), got {type(windows).__name__}")
    if (windows.seq_len, windows.out_pred_len) != (params.seq_len, params.out_pred_len):
        raise ValueError(
            f"params: seq_len/out_pred_len {params.seq_len}/{params.out_pred_len} differ from the windows' "
            f"{windows.seq_len}/{windows.out_pred_len}; extract the windows with the same params"
        )


def _assemble(
    windows: WindowSet,
    index: np.ndarray,
    shifts: np.ndarray,
    rc: np.ndarray,
    use_control: bool,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cut (and reverse-complement where ``rc``) the windows ``index`` at jitter ``shifts``."""
    J, L, P = windows.max_jitter, windows.seq_len, windows.out_pred_len
    offsets = (J + shifts)[:, None]
    rows = index[:, None]
    sequence = _ONE_HOT[windows.codes[rows, offsets + np.arange(L)]]
    profile = windows.counts[rows, offsets + np.arange(P)].astype(np.float32)
    if rc.any():
        sequence[rc] = sequence[rc][:, ::-1, ::-1]
        profile[rc] = profile[rc][:, ::-1, ::-1]
    targets = {"profile": profile, "logcounts": np.log1p(profile.sum(axis=1))}
    inputs = {"sequence": sequence}
    if use_control:
        if windows.control is None:
            inputs["control_profile"] = np.zeros((len(index), P, 2), dtype=np.float32)
            inputs["control_logcounts"] = np.zeros((len(index), CONTROL_LOGCOUNTS_WIDTH), dtype=np.float32)
        else:
            control = windows.control[rows, offsets + np.arange(P)].astype(np.float32)
            # The local count sits at the summit (the stored window's centre) whatever the jitter.
            local = local_control_counts(windows.control[index], min(LOCAL_CONTROL_WIDTH, P))
            if rc.any():
                control[rc] = control[rc][:, ::-1, ::-1]
                local[rc] = local[rc][:, ::-1]
            inputs.update(control_model_inputs(control, local))
    return inputs, targets


def local_control_counts(control_counts: np.ndarray, width: int = LOCAL_CONTROL_WIDTH) -> np.ndarray:
    """Control reads per strand in the central ``width`` bp of centred windows (..., L, 2) → (..., 2) float32.

    The window ``[L // 2 - width // 2, L // 2 - width // 2 + width)`` (all of it when ``L <= width``, so for
    an out_pred_len below the width the local count is the window total): for summit-centred windows, the
    reads around the site itself.
    """
    control_counts = np.asarray(control_counts)
    start = max(0, control_counts.shape[-2] // 2 - width // 2)
    return control_counts[..., start : start + width, :].sum(axis=-2, dtype=np.float32)


def control_model_inputs(control_counts: np.ndarray, local_counts: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """BPNet's control inputs from raw control counts (..., out_pred_len, 2) of summit-centred windows.

    Returns ``"control_profile"`` = log1p(counts), same shape, and ``"control_logcounts"`` (..., 4) =
    log1p of ``[total +, total −, local +, local −]``: the reads per strand over the whole output window and
    within :data:`LOCAL_CONTROL_WIDTH` bp of the summit (:func:`local_control_counts` of ``control_counts``
    unless ``local_counts`` (..., 2) is given — the trainer's jittered crops pass the summit's own).
    """
    control_counts = np.asarray(control_counts, dtype=np.float32)
    local = local_control_counts(control_counts) if local_counts is None else np.asarray(local_counts, np.float32)
    totals = np.concatenate([control_counts.sum(axis=-2), local], axis=-1)
    return {"control_profile": np.log1p(control_counts), "control_logcounts": np.log1p(totals)}


def fixed_arrays(
    windows: WindowSet, params: BPNetParams, use_control: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Centred (no jitter, forward strand) inputs and targets of every window, in WindowSet order.

    Returns ``(inputs, targets)``: inputs ``"sequence"`` (n, seq_len, 4) float32 one-hot, and with
    ``use_control`` ``"control_profile"`` (n, out_pred_len, 2) = log1p(control counts) and
    ``"control_logcounts"`` (n, 4) (:func:`control_model_inputs`; zeros when the windows have no control);
    targets ``"profile"`` (n, out_pred_len, 2) float32 raw counts and ``"logcounts"`` (n, 2) =
    log1p(total per strand over out_pred_len).
    """
    _check_geometry(windows, params)
    n = len(windows)
    return _assemble(windows, np.arange(n), np.zeros(n, np.int64), np.zeros(n, bool), use_control)


class BatchGenerator(keras.utils.PyDataset):
    """Keras batches ``(inputs, targets)`` cut from a :class:`WindowSet`.

    Parameters
    ----------
    windows : the split's windows.
    params : BPNet parameters (``seq_len``/``out_pred_len`` must match the windows).
    batch_size : examples per batch (the last batch may be smaller), default 64.
    training : True → per epoch: shuffled order, a jitter per example uniform in ``[-max_jitter, max_jitter]``
        and reverse complement with probability 0.5; False (eval) → fixed order, centred, forward strand.
    use_control : add the ``control_profile``/``control_logcounts`` inputs (zeros if the windows have no
        control) — must match how the model was built.
    seed : int seed; batch ``i`` of epoch ``e`` is a pure function of ``(seed, e, i)``.
    max_jitter : maximum shift in training mode, default (None) the windows' ``max_jitter``; at most that.
    reverse_complement : allow RC augmentation in training mode (default True).
    **kwargs : passed to ``keras.utils.PyDataset`` (``workers``, ``use_multiprocessing``, ``max_queue_size``).

    Batches: inputs ``{"sequence": (b, seq_len, 4) float32 one-hot[, "control_profile": (b, out_pred_len, 2),
    "control_logcounts": (b, 4)]}``, targets ``{"profile": (b, out_pred_len, 2) float32 raw counts,
    "logcounts": (b, 2) log1p(strand totals)}``. RC reverses the one-hot on both axes, and reverses profiles
    (and control) in position and swaps their strands, so logcounts swap strands too.

    Epochs: :meth:`on_epoch_end` advances :attr:`epoch` (Keras calls it after every epoch; Keras 3 ``fit``
    also calls it once before the first epoch, so fit's epoch k uses generator epoch k + 1 — deterministic
    all the same). Pass ``shuffle=False`` to ``fit``: the generator shuffles examples itself, and Keras'
    own shuffling of batch order uses Python's global ``random``.
    """

    def __init__(
        self,
        windows: WindowSet,
        params: BPNetParams,
        batch_size: int = 64,
        training: bool = True,
        use_control: bool = False,
        seed: int = 0,
        max_jitter: int | None = None,
        reverse_complement: bool = True,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        _check_geometry(windows, params)
        if len(windows) == 0:
            raise ValueError("windows: the WindowSet is empty; nothing to batch")
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.seed = check_int("seed", seed, 0)
        jitter = windows.max_jitter if max_jitter is None else check_int("max_jitter", max_jitter, 0)
        if jitter > windows.max_jitter:
            raise ValueError(
                f"max_jitter: {jitter} is more than the {windows.max_jitter} bp the windows were extracted with"
            )
        self.windows = windows
        self.training = bool(training)
        self.use_control = bool(use_control)
        self.max_jitter = jitter
        self.reverse_complement = bool(reverse_complement)
        if self.use_control and not windows.has_control:
            log.info("use_control=True but the %s windows have no control track: control inputs are zeros",
                     windows.split)
        self.epoch = 0
        self._set_state()

    def __len__(self) -> int:
        return -(-len(self.windows) // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the generator produce the batches of ``epoch`` (order, jitter and RC draws)."""
        self.epoch = check_int("epoch", epoch, 0)
        self._set_state()

    def on_epoch_end(self) -> None:
        """Advance to the next epoch (new order, jitters and RC flags in training mode)."""
        self.set_epoch(self.epoch + 1)

    def _set_state(self) -> None:
        n = len(self.windows)
        if not self.training:
            self._order = np.arange(n)
            self._shifts = np.zeros(n, np.int64)
            self._rc = np.zeros(n, bool)
            return
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n)
        shifts = rng.integers(-self.max_jitter, self.max_jitter + 1, size=n)
        rc = rng.random(n) < 0.5
        if not self.reverse_complement:
            rc[:] = False
        self._order, self._shifts, self._rc = order, shifts, rc  # replaced together; read by workers

    def epoch_plan(self) -> pd.DataFrame:
        """This epoch's plan in batch order: ``window`` (row of the WindowSet), ``shift`` (bp, the window centre
        moves to ``centre + shift``) and ``reverse_complement`` (bool); batch ``i`` is rows
        ``i * batch_size`` to ``(i + 1) * batch_size - 1``."""
        return pd.DataFrame(
            {"window": self._order, "shift": self._shifts[self._order], "reverse_complement": self._rc[self._order]}
        )

    def __getitem__(self, i: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if not 0 <= i < len(self):
            raise IndexError(f"batch index {i} out of range for {len(self)} batches")
        order, shifts, rc = self._order, self._shifts, self._rc
        index = order[i * self.batch_size : (i + 1) * self.batch_size]
        return _assemble(self.windows, index, shifts[index], rc[index], self.use_control)
