"""Peak files: narrowPeak (with summits) and BED, read into a validated table; summit-centred windows.

The peak table has one row per peak and the columns of :data:`PEAK_COLUMNS`. ``summit`` is the absolute
0-based summit position: ``start + peak`` for narrowPeak (column 10), the interval centre
``(start + end) // 2`` for BED3/BED6 and for narrowPeak lines whose column 10 is ``-1``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from affdist_core.common.atomic import atomic_path

log = logging.getLogger(__name__)

PEAK_COLUMNS = ["chrom", "start", "end", "name", "score", "strand", "signal", "p_value", "q_value", "summit"]
_NARROWPEAK_FIELDS = 10


def read_peaks(path: str | os.PathLike, chrom_sizes: dict[str, int] | None = None) -> pd.DataFrame:
    """Read a narrowPeak or BED file (tab-separated; ``#``, ``track`` and ``browser`` lines skipped).

    Returns a DataFrame with :data:`PEAK_COLUMNS`. Raises ValueError naming the file and 1-based line for
    malformed lines (too few fields, non-integer coordinates, start >= end, summit outside the peak) and,
    when ``chrom_sizes`` is given, for unknown chromosomes or peaks past the chromosome end.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"peaks: file {path} does not exist")
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            stripped = line.rstrip("\n\r")
            if not stripped.strip() or stripped.startswith(("#", "track", "browser")):
                continue
            rows.append(_parse_peak_line(stripped, path, line_no, chrom_sizes))
    if not rows:
        raise ValueError(f"peaks: {path} contains no peaks (expected BED or narrowPeak lines)")
    return pd.DataFrame(rows, columns=PEAK_COLUMNS + ["line"]).drop(columns="line")


def _parse_peak_line(line: str, path: Path, line_no: int, chrom_sizes: dict[str, int] | None) -> tuple:
    where = f"peaks: {path.name} line {line_no}"
    fields = line.split("\t")
    if len(fields) < 3:
        raise ValueError(
            f"{where}: expected at least 3 tab-separated fields (chrom, start, end), got {len(fields)}: {line!r}"
        )
    chrom = fields[0]
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise ValueError(f"{where}: start/end must be integers, got {fields[1]!r}, {fields[2]!r}") from None
    if start < 0 or start >= end:
        raise ValueError(f"{where}: need 0 <= start < end, got start={start}, end={end}")
    if chrom_sizes is not None:
        if chrom not in chrom_sizes:
            raise ValueError(f"{where}: chromosome {chrom!r} is not in the genome (names must match the FASTA)")
        if end > chrom_sizes[chrom]:
            raise ValueError(f"{where}: end {end} is past the end of {chrom} (length {chrom_sizes[chrom]})")
    name = fields[3] if len(fields) > 3 else f"peak_{line_no}"
    strand = fields[5] if len(fields) > 5 else "."
    try:
        score = float(fields[4]) if len(fields) > 4 and fields[4] not in ("", ".") else 0.0
        signal, p_value, q_value = (
            (float(fields[6]), float(fields[7]), float(fields[8])) if len(fields) >= 9 else (np.nan,) * 3
        )
        offset = int(fields[9]) if len(fields) >= _NARROWPEAK_FIELDS else -1
    except ValueError as err:
        raise ValueError(f"{where}: non-numeric score/signal/p/q/peak field ({err}); line: {line!r}") from None
    if offset >= 0:
        if offset >= end - start:
            raise ValueError(f"{where}: summit offset {offset} is outside the peak (length {end - start})")
        summit = start + offset
    else:
        summit = (start + end) // 2
    return (chrom, start, end, name, score, strand, signal, p_value, q_value, summit, line_no)


def write_narrowpeak(path: str | os.PathLike, peaks: pd.DataFrame) -> Path:
    """Write peaks (columns :data:`PEAK_COLUMNS`) as narrowPeak, atomically; column 10 = summit − start."""
    missing = [c for c in PEAK_COLUMNS if c not in peaks.columns]
    if missing:
        raise ValueError(f"peaks: missing columns {missing}")
    out = pd.DataFrame(
        {
            "chrom": peaks["chrom"],
            "start": peaks["start"].astype(np.int64),
            "end": peaks["end"].astype(np.int64),
            "name": peaks["name"],
            "score": peaks["score"].round().astype(np.int64),
            "strand": peaks["strand"],
            "signal": peaks["signal"].map(lambda v: f"{v:.5g}"),
            "p_value": peaks["p_value"].map(lambda v: f"{v:.5g}"),
            "q_value": peaks["q_value"].map(lambda v: f"{v:.5g}"),
            "peak": (peaks["summit"] - peaks["start"]).astype(np.int64),
        }
    )
    with atomic_path(path) as tmp:
        out.to_csv(tmp, sep="\t", header=False, index=False)
    return Path(path)


def summit_windows(
    peaks: pd.DataFrame, length: int, chrom_sizes: dict[str, int], on_edge: str = "drop"
) -> pd.DataFrame:
    """Windows of ``length`` bp centred on each summit: start = summit − length // 2, end = start + length.

    Parameters
    ----------
    on_edge : what to do with windows that run past a chromosome end: ``"drop"`` them (logged),
        ``"shift"`` them inside the chromosome, or ``"error"``.

    Returns the peak rows kept, with ``window_start``/``window_end`` columns added.
    """
    if length <= 0:
        raise ValueError(f"length: must be a positive number of bp, got {length}")
    if on_edge not in ("drop", "shift", "error"):
        raise ValueError(f"on_edge: expected 'drop', 'shift' or 'error', got {on_edge!r}")
    sizes = peaks["chrom"].map(chrom_sizes)
    if sizes.isna().any():
        unknown = sorted(set(peaks.loc[sizes.isna(), "chrom"]))
        raise ValueError(f"peaks: chromosomes {unknown[:5]} are not in the genome")
    starts = peaks["summit"].to_numpy(np.int64) - length // 2
    sizes = sizes.to_numpy(np.int64)
    outside = (starts < 0) | (starts + length > sizes)
    if on_edge == "shift":
        starts = np.clip(starts, 0, np.maximum(sizes - length, 0))
        outside = starts + length > sizes
    if outside.any() and on_edge == "error":
        first = peaks.index[np.flatnonzero(outside)[0]]
        raise ValueError(
            f"peaks: {int(outside.sum())} window(s) of {length} bp run past a chromosome end "
            f"(first: peak {peaks.loc[first, 'name']}); use on_edge='drop' or 'shift'"
        )
    if outside.any():
        log.info("dropping %d of %d peaks whose %d-bp window runs past a chromosome end",
                 int(outside.sum()), len(peaks), length)
    kept = peaks.loc[~outside].copy()
    kept["window_start"] = starts[~outside]
    kept["window_end"] = starts[~outside] + length
    return kept.reset_index(drop=True)
