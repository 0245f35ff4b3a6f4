"""Marginalization backgrounds: dinucleotide shuffles of held-out peak windows, with a content hash.

One dinucleotide shuffle (:func:`affdist_core.seq.shuffle.dinucleotide_shuffle_one_hot`) per background of
held-out peak windows — the test-chromosome peaks of the model's data spec, never seen in training or model
selection (:func:`backgrounds_from_model_dir`). Peaks are taken in a random (seeded) order and cycled through
(:func:`make_backgrounds`): background ``j`` comes from the ``j mod n_peaks``-th peak of that order and is its
shuffle number ``j // n_peaks``, so the first ``m`` backgrounds come from ``m`` different peaks whenever
``m <= n_peaks``, and with fewer peaks than backgrounds every peak is reused with new, independent shuffles (a
warning says so). A :class:`BackgroundSet` carries a content hash (``background_id``) so that a catalog can
say which backgrounds a score was computed on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os

import numpy as np
import pandas as pd

from affdist_core.common.checks import check_int
from affdist_core.common.names import DATA_SPEC_FILE, PARAMS_FILE, ModelDir
from affdist_core.common.rng import RandomState, resolve_rng
from affdist_core.seq.alphabet import validate_onehot
from affdist_core.seq.shuffle import dinucleotide_shuffle_one_hot

log = logging.getLogger(__name__)

__all__ = ["BackgroundSet", "backgrounds_from_model_dir", "make_backgrounds", "run_backgrounds"]


def _default_source(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "background": np.arange(n, dtype=np.int64),
            "peak_index": np.arange(n, dtype=np.int64),
            "shuffle": np.full(n, -1, dtype=np.int64),
        }
    )


@dataclasses.dataclass(frozen=True, eq=False)
class BackgroundSet:
    """Background sequences for marginalization.

    Attributes
    ----------
    onehot : (N, seq_len, 4) float32 one-hot (``ACGT``; all-zero row = N), read-only.
    source : DataFrame, one row per background in order: ``background`` (0..N-1), ``peak_index`` (row of the
        peak window array it was shuffled from), ``shuffle`` (0 for the first shuffle of that peak, 1, 2, ...
        when peaks are reused; -1 = not a shuffle, e.g. user-given backgrounds) and, when known, the peak's
        ``chrom``, ``centre`` (summit, 0-based) and ``name``. Default (None): ``peak_index = background``,
        ``shuffle = -1``.
    random_state : the int seed the set was drawn with (None when unseeded or drawn from a Generator).
    background_id : ``"bg-" + sha1`` of the shape and the one-hot bytes (computed; identical content →
        identical id), for catalogs.
    """

    onehot: np.ndarray
    source: pd.DataFrame | None = None
    random_state: int | None = None
    background_id: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        arr = np.array(validate_onehot(self.onehot, "onehot"), dtype=np.float32, copy=True)
        if len(arr) == 0:
            raise ValueError("onehot: expected at least one background, got 0")
        arr.setflags(write=False)
        object.__setattr__(self, "onehot", arr)
        source = _default_source(len(arr)) if self.source is None else self.source.reset_index(drop=True)
        if not isinstance(source, pd.DataFrame) or len(source) != len(arr):
            raise ValueError(f"source: expected a DataFrame with {len(arr)} rows (one per background), got "
                             f"{type(source).__name__} with {len(source) if hasattr(source, '__len__') else '?'}")
        object.__setattr__(self, "source", source)
        digest = hashlib.sha1(np.asarray(arr.shape, dtype=np.int64).tobytes() + arr.tobytes()).hexdigest()
        object.__setattr__(self, "background_id", f"bg-{digest}")

    def __len__(self) -> int:
        return int(self.onehot.shape[0])

    def __repr__(self) -> str:
        return (f"BackgroundSet({len(self)} backgrounds × {self.seq_len} bp, random_state={self.random_state}, "
                f"background_id={self.background_id[:15]}…)")

    @property
    def seq_len(self) -> int:
        """Length of every background (the model input length)."""
        return int(self.onehot.shape[1])

    def subset(self, n: int) -> BackgroundSet:
        """The first ``n`` backgrounds as a new set (new id)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(self):
            raise ValueError(f"n: expected an integer in 1..{len(self)}, got {n!r}")
        return BackgroundSet(self.onehot[:n], self.source.iloc[:n].copy(), self.random_state)


def make_backgrounds(
    peak_onehot: np.ndarray,
    n_backgrounds: int = 100,
    random_state: RandomState = 0,
    peak_meta: pd.DataFrame | None = None,
) -> BackgroundSet:
    """Dinucleotide-shuffled peak windows as marginalization backgrounds.

    Args:
        peak_onehot: (n_peaks, seq_len, 4) one-hot peak windows (e.g. the test-split peaks,
            ``fixed_arrays(extract_windows(spec, params, "test", include_background=False), params)``).
        n_backgrounds: N >= 1, default 100.
        random_state: seed (default 0), Generator or None. Same seed → same backgrounds.
        peak_meta: optional DataFrame with one row per peak; its ``chrom``, ``centre`` and ``name`` columns
            (those present) are copied into ``source``.

    Returns:
        :class:`BackgroundSet` of ``n_backgrounds`` sequences: peaks are visited in a seeded random order and
        cycled through; background ``j`` is shuffle ``j // n_peaks`` of peak ``order[j % n_peaks]``. When
        ``n_peaks < n_backgrounds`` a warning is logged (peaks are reused, each time with a new shuffle).
    """
    peaks = validate_onehot(peak_onehot, "peak_onehot")
    n_backgrounds = check_int("n_backgrounds", n_backgrounds, 1)
    n_peaks = len(peaks)
    if n_peaks == 0:
        raise ValueError("peak_onehot: no peak windows given; backgrounds are shuffles of held-out peak windows")
    if peak_meta is not None and len(peak_meta) != n_peaks:
        raise ValueError(f"peak_meta: expected {n_peaks} rows (one per peak window), got {len(peak_meta)}")
    seed = int(random_state) if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) \
        else None
    rng = resolve_rng(random_state)
    if n_peaks < n_backgrounds:
        log.warning(
            "make_backgrounds: only %d peak windows for %d backgrounds; reusing peaks with different dinucleotide "
            "shuffles (up to %d shuffles per peak)", n_peaks, n_backgrounds, math.ceil(n_backgrounds / n_peaks)
        )
    order = rng.permutation(n_peaks)
    used = order[: min(n_peaks, n_backgrounds)]
    out = np.empty((n_backgrounds, peaks.shape[1], 4), dtype=np.float32)
    for pos, peak in enumerate(used):
        n_shuffles = len(range(pos, n_backgrounds, n_peaks))  # backgrounds pos, pos + n_peaks, ...
        out[pos::n_peaks] = dinucleotide_shuffle_one_hot(peaks[peak], n_shuffles, rng)
    j = np.arange(n_backgrounds)
    peak_index = order[j % n_peaks]
    source = pd.DataFrame({"background": j, "peak_index": peak_index.astype(np.int64), "shuffle": j // n_peaks})
    if peak_meta is not None:
        meta = peak_meta.reset_index(drop=True)
        for column in ("chrom", "centre", "name"):
            if column in meta.columns:
                source[column] = meta[column].to_numpy()[peak_index]
    return BackgroundSet(out, source, seed)


def backgrounds_from_model_dir(
    model_dir: str | os.PathLike,
    n_backgrounds: int = 100,
    random_state: RandomState = 0,
) -> BackgroundSet:
    """Backgrounds from the held-out (test-split) peak windows of a model directory written by
    :func:`affdist_core.model.train.train_bpnet`: reads its ``params.json`` and ``data.json``, extracts the centred
    test-chromosome peak windows (no GC-matched background windows) and calls :func:`make_backgrounds`.
    """
    from affdist_core.model.params import load_params
    from affdist_core.model.data_spec import load_data_spec
    from affdist_core.model.inputs import fixed_arrays
    from affdist_core.model.windows import extract_windows

    model = ModelDir.at(model_dir)
    for name, path in ((PARAMS_FILE, model.params), (DATA_SPEC_FILE, model.data_spec)):
        if not path.is_file():
            raise ValueError(f"model_dir: {str(model.root)!r} has no {name} (expected a directory written by "
                             f"affdist train)")
    params = load_params(model.params)
    spec = load_data_spec(model.data_spec)
    if not spec.test_chroms:
        raise ValueError(f"model_dir: the data spec in {str(model.root)!r} has no test_chroms; backgrounds are "
                         f"shuffles of held-out test-chromosome peaks")
    windows = extract_windows(spec, params, "test", include_background=False)
    onehot = fixed_arrays(windows, params)[0]["sequence"]
    log.info("backgrounds: %d test-split peak windows on %s", len(windows), ", ".join(spec.test_chroms))
    return make_backgrounds(onehot, n_backgrounds, random_state, peak_meta=windows.meta)


def run_backgrounds(model_dir: str | os.PathLike, pool_size: int, seed: int, n_backgrounds: int
                    ) -> tuple[BackgroundSet, BackgroundSet]:
    """``(pool, scoring set)`` as a run scores: the pool of ``pool_size`` backgrounds drawn with ``seed``
    (:func:`backgrounds_from_model_dir`) and its first ``n_backgrounds`` (the pool itself when they are equal)."""
    pool = backgrounds_from_model_dir(model_dir, pool_size, seed)
    return pool, (pool.subset(n_backgrounds) if n_backgrounds < len(pool) else pool)
