"""Summit-centred training windows of one split, read once into memory, with GC-matched backgrounds.

:func:`extract_windows` → :class:`WindowSet`: the arrays of one split (``"train"``, ``"valid"``, ``"test"``,
:mod:`affdist_core.model.data_spec`), read from the FASTA (pyfaidx) and bigWigs (pyBigWig) **window by
window** (never a whole chromosome), and held in memory in compact dtypes. Each window is extended by
``max_jitter`` on both sides so that jittered crops can be cut from memory later
(:mod:`affdist_core.model.inputs`, :mod:`affdist_core.model.batches`).

Window geometry (0-based, half-open; ``c`` = window centre = the peak summit, ``J`` = ``max_jitter``)
---------------------------------------------------------------------------------------------------------
* central input window:  ``[c - seq_len // 2, c - seq_len // 2 + seq_len)``;
* central output window: ``[c - out_pred_len // 2, c - out_pred_len // 2 + out_pred_len)`` — the exact
  centre of the input window (``seq_len - out_pred_len`` is even);
* stored (extended) windows: input ``[c - seq_len // 2 - J, ... + seq_len + 2J)`` as ``WindowSet.codes``,
  output ``[c - out_pred_len // 2 - J, ... + out_pred_len + 2J)`` as ``WindowSet.counts``;
* a jitter ``s`` in ``[-J, J]`` crops ``codes[:, J + s : J + s + seq_len]`` and
  ``counts[:, J + s : J + s + out_pred_len]``, so sequence and profile move together (centre ``c + s``).

Several ChIP-nexus experiments in the same cells (``DataSpec.extra_tasks``, a multi-task BPNet) give one window
set: the windows of every task's summits (a summit two tasks share is kept once), each window carrying every
task's counts (``counts[..., 2t:2t + 2]`` is task ``t``); backgrounds avoid the peaks of every task.

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
from collections.abc import Mapping

import numpy as np
import pandas as pd

from affdist_core.io.bigwig import BigWigReader
from affdist_core.io.fasta import GenomeReader
from affdist_core.io.peaks import read_peaks, summit_windows
from affdist_core.model.data_spec import SPLITS, DataSpec, check_files, split_chromosomes
from affdist_core.model.params import BPNetParams
from affdist_core.seq.alphabet import N_CODE

log = logging.getLogger(__name__)

__all__ = ["WindowSet", "extract_windows"]

_UINT16_MAX = np.iinfo(np.uint16).max


@dataclasses.dataclass
class WindowSet:
    """Extended windows of one split, in memory (see the module docstring for the geometry).

    Attributes
    ----------
    split : ``"train"``, ``"valid"`` or ``"test"``.
    codes : (n, seq_len + 2 * max_jitter) uint8 sequence codes (A=0 C=1 G=2 T=3 N=4).
    counts : (n, out_pred_len + 2 * max_jitter, 2 * n_tasks) uint16 (integer counts <= 65535) or float32;
        channels ``[task0 +, task0 −, task1 +, …]``.
    control : (n, out_pred_len + 2 * max_jitter, 2) (the control track, shared by the tasks) or None.
    meta : DataFrame, one row per window: ``chrom``, ``centre`` (summit for peaks), ``is_peak``, ``name``
        (peak name or ``bg_<i>``), ``gc`` (GC fraction of the central input window) and, with several tasks,
        ``peak_task`` (the task whose peak file called the summit; -1 for backgrounds).
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
        want_track = (n, self.out_pred_len + 2 * self.max_jitter)
        if self.codes.shape != want_codes or self.codes.dtype != np.uint8:
            raise ValueError(f"codes: expected uint8 {want_codes}, got {self.codes.dtype} {self.codes.shape}")
        if self.counts.ndim != 3 or self.counts.shape[:2] != want_track or self.counts.shape[2] % 2 \
                or self.counts.shape[2] == 0:
            raise ValueError(f"counts: expected shape {(*want_track, '2 × n_tasks')}, got {self.counts.shape}")
        if self.control is not None and self.control.shape != (*want_track, 2):
            raise ValueError(f"control: expected shape {(*want_track, 2)}, got {self.control.shape}")

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
    def n_tasks(self) -> int:
        """Number of ChIP-nexus experiments in ``counts`` (two strand channels each)."""
        return int(self.counts.shape[2] // 2)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (codes + counts + control)."""
        return int(self.codes.nbytes + self.counts.nbytes + (0 if self.control is None else self.control.nbytes))

    @property
    def bytes_per_window(self) -> int:
        """Array bytes per window (see the module docstring)."""
        per = self.codes.shape[1] + self.counts.shape[1] * self.counts.shape[2] * self.counts.itemsize
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
    check_files(spec)
    seq_len, out_len, jitter = params.seq_len, params.out_pred_len, spec.max_jitter
    ext_seq = seq_len + 2 * jitter

    genome = GenomeReader(spec.genome_fasta)
    readers: list[BigWigReader] = []
    try:
        chrom_sizes = genome.chrom_sizes
        chroms = split_chromosomes(spec, chrom_sizes)[split]
        tracks = spec.task_tracks()
        task_peaks = [read_peaks(peak_file, chrom_sizes).assign(peak_task=t)
                      for t, (_, _, peak_file) in enumerate(tracks)]
        all_peaks = pd.concat(task_peaks, ignore_index=True) if len(tracks) > 1 else task_peaks[0]
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
                f"peaks: no peak of {', '.join(t[2] for t in tracks)} lies on the {split} chromosomes {chroms} with a full "
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
        if len(tracks) > 1:
            meta["peak_task"] = windows["peak_task"].to_numpy(np.int64)
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

        if len(tracks) > 1:
            meta["peak_task"] = meta["peak_task"].fillna(-1).astype(np.int64)
        for plus, minus, _ in tracks:
            readers += [BigWigReader(plus), BigWigReader(minus)]
        if spec.has_control:
            readers += [BigWigReader(spec.control_plus_bigwig), BigWigReader(spec.control_minus_bigwig)]
        used = sorted(set(meta["chrom"]), key=order.get)
        for reader in readers:
            _check_bigwig_chroms(reader, used, chrom_sizes)
        per_task = [_read_tracks(readers[2 * t], readers[2 * t + 1], meta, out_len, jitter)
                    for t in range(len(tracks))]
        counts = per_task[0] if len(per_task) == 1 else np.concatenate(
            [c.astype(np.result_type(*per_task)) for c in per_task], axis=2)
        control = (_read_tracks(readers[-2], readers[-1], meta, out_len, jitter) if spec.has_control else None)
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
