"""In-silico marginalization (Affinity Distillation, step 3): the model's Δ log counts of a query sequence.

For a query ``s`` (a BET-seq 16-mer, a longer gcPBM-style probe, a variant, ...) and a set of ``N`` background
sequences ``b_1 … b_N`` of the model's input length::

    Δ_j(s)  = f(insert(b_j, s)) - f(b_j)
    score(s) = mean_j Δ_j(s),   sd(s) = sd_j Δ_j(s) (ddof = 1),   n = N

where ``f`` is the counts head's total log counts (:func:`affdist_core.model.bpnet.counts_model`: logsumexp of the
two strands' log counts, RC-averaged by default) and ``insert`` overwrites the centre of the background with
``s`` from ``start = (seq_len - len(s)) // 2`` (the seed's rule: for odd ``seq_len - len(s)`` the extra base
goes to the right flank). Scores are uncalibrated (see the calibration step).

Backgrounds (:func:`make_backgrounds`, :func:`backgrounds_from_model_dir`): one dinucleotide shuffle
(:func:`affdist_core.seq.shuffle.dinucleotide_shuffle_one_hot`) per background of held-out peak windows — the
test-chromosome peaks of the model's data spec, never seen in training or model selection. Peaks are taken
in a random (seeded) order and cycled through: background ``j`` comes from the ``j mod n_peaks``-th peak of
that order and is its shuffle number ``j // n_peaks``, so the first ``m`` backgrounds come from ``m``
different peaks whenever ``m <= n_peaks``, and with fewer peaks than backgrounds every peak is reused with
new, independent shuffles (a warning says so). A :class:`BackgroundSet` carries a content hash
(``background_id``) so that a catalog can say which backgrounds a score was computed on.

Computation (:class:`Marginalizer`): the ``N`` background predictions are computed once per Marginalizer and
reused for every query. Queries are validated up front, grouped by length, and the inserted sequences are
built batch by batch (``batch_size`` rows of ``(seq_len, 4)`` at a time, query-major: all ``N`` backgrounds
of a query, then the next query), so memory stays ``O(batch_size × seq_len)`` plus ``O(n)`` results (and
``n × N`` float32 when ``keep_deltas=True``) — the ``n × N × seq_len`` inserted library is never held.
The model is called with ``predict_on_batch``, which ran about 1.4× faster than calling the Keras model
eagerly on the same numpy batches (``benchmarks/bench_marginalize.py``).

Scoring model: a BPNet from :func:`affdist_core.model.bpnet.build_bpnet` (the sequence part of its counts head:
:func:`affdist_core.model.bpnet.counts_model`) or any single-input Keras model ``(n, seq_len, 4) → (n, 1)`` (e.g. an
analytic test model). With ``rc_average=True`` the score uses ``(f(x) + f(revcomp x)) / 2`` computed inside one
Keras graph. A list of models is an ensemble (:mod:`affdist_core.model.ensemble`): ``f`` is the mean of the members'
``f``, evaluated in the same graph.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from affdist_core.model.bpnet import ReverseComplement, counts_model
from affdist_core.model.ensemble import scoring_ensemble
from affdist_core.common.rng import RandomState, resolve_rng
from affdist_core.seq.alphabet import N_CODE, ONE_HOT_TABLE, encode, validate_onehot
from affdist_core.seq.insert import centre_start
from affdist_core.seq.shuffle import dinucleotide_shuffle_one_hot

log = logging.getLogger(__name__)

__all__ = [
    "BackgroundSet",
    "MarginalizationResult",
    "Marginalizer",
    "backgrounds_from_model_dir",
    "make_backgrounds",
]

_MAX_REPORTED = 5


# --------------------------------------------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------------------------------------------


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
    if isinstance(n_backgrounds, bool) or not isinstance(n_backgrounds, (int, np.integer)) or n_backgrounds < 1:
        raise ValueError(f"n_backgrounds: expected an integer >= 1, got {n_backgrounds!r}")
    n_backgrounds = int(n_backgrounds)
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
    from affdist_core.model.training_data import extract_windows, fixed_arrays, load_data_spec

    model_dir = Path(model_dir)
    for name in ("params.json", "data.json"):
        if not (model_dir / name).is_file():
            raise ValueError(f"model_dir: {str(model_dir)!r} has no {name} (expected a directory written by "
                             f"affdist train)")
    params = load_params(model_dir / "params.json")
    spec = load_data_spec(model_dir / "data.json")
    if not spec.test_chroms:
        raise ValueError(f"model_dir: the data spec in {str(model_dir)!r} has no test_chroms; backgrounds are "
                         f"shuffles of held-out test-chromosome peaks")
    windows = extract_windows(spec, params, "test", include_background=False)
    onehot = fixed_arrays(windows, params)[0]["sequence"]
    log.info("backgrounds: %d test-split peak windows on %s", len(windows), ", ".join(spec.test_chroms))
    return make_backgrounds(onehot, n_backgrounds, random_state, peak_meta=windows.meta)


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class MarginalizationResult:
    """Marginalization scores of ``n`` query sequences.

    Attributes
    ----------
    sequences : list of the n query strings, as given.
    mean : (n,) float64, mean over backgrounds of Δ total log counts (the uncalibrated AD score).
    sd : (n,) float64, sample sd (ddof = 1) of Δ over backgrounds; nan when ``n_backgrounds == 1``.
    n_backgrounds : N.
    background_id : :attr:`BackgroundSet.background_id` of the backgrounds used.
    deltas : (n, N) float32 Δ per background (column j = background j) when scored with ``keep_deltas=True``,
        else None.
    member_means : (n, K) float64, each ensemble member's own score (column k = member k) when the
        Marginalizer scores with K > 1 models, else None; ``mean`` is their row mean.
    """

    sequences: list[str]
    mean: np.ndarray
    sd: np.ndarray
    n_backgrounds: int
    background_id: str
    deltas: np.ndarray | None = None
    member_means: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def sem(self) -> np.ndarray:
        """(n,) standard error of the mean, ``sd / sqrt(N)``."""
        return self.sd / math.sqrt(self.n_backgrounds)

    def to_frame(self) -> pd.DataFrame:
        """One row per query: ``sequence``, ``mean``, ``sd``, ``n_backgrounds``, ``background_id``."""
        return pd.DataFrame(
            {
                "sequence": pd.Series(self.sequences, dtype=object),
                "mean": np.asarray(self.mean, dtype=np.float64),
                "sd": np.asarray(self.sd, dtype=np.float64),
                "n_backgrounds": np.full(len(self), self.n_backgrounds, dtype=np.int64),
                "background_id": pd.Series([self.background_id] * len(self), dtype=object),
            }
        )

    def first_backgrounds(self, m: int) -> MarginalizationResult:
        """Scores recomputed from the first ``m`` backgrounds only (needs ``deltas``): for the analysis of
        AD's sd / RMSE against the number of backgrounds. ``background_id`` gets the suffix ``":first{m}"``."""
        if self.deltas is None:
            raise ValueError("m: per-background deltas were not kept; score with keep_deltas=True")
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or not 1 <= m <= self.n_backgrounds:
            raise ValueError(f"m: expected an integer in 1..{self.n_backgrounds}, got {m!r}")
        d = self.deltas[:, : int(m)]
        mean, sd = _mean_sd(d)
        return MarginalizationResult(list(self.sequences), mean, sd, int(m), f"{self.background_id}:first{m}",
                                     d.copy())


def _mean_sd(deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(deltas, dtype=np.float64)
    mean = d.mean(axis=1) if d.shape[1] else np.full(len(d), np.nan)
    sd = d.std(axis=1, ddof=1) if d.shape[1] > 1 else np.full(len(d), np.nan)
    return mean, sd


# --------------------------------------------------------------------------------------------------------------
# Marginalizer
# --------------------------------------------------------------------------------------------------------------


def _is_bpnet(model: keras.Model) -> bool:
    out = getattr(model, "output", None)
    return isinstance(out, dict) and "logcounts" in out


def _rc_averaged(model: keras.Model) -> keras.Model:
    """``(model(x) + model(revcomp x)) / 2`` as one Keras model (shares ``model``'s weights)."""
    inp = keras.Input(tuple(model.input_shape[1:]), name="sequence")
    forward = model(inp)
    reverse = model(ReverseComplement(name="reverse_complement")(inp))
    return keras.Model(inp, keras.layers.Average(name="rc_average")([forward, reverse]), name=f"{model.name}_rcavg")


def _scoring_model(model: Any, rc_average: bool, task: int | None) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise ValueError(f"model: expected a Keras model (a BPNet or a single-output (n, L, 4) → (n, 1) model), "
                         f"got {type(model).__name__}")
    if _is_bpnet(model):
        return counts_model(model, task=task, rc_average=rc_average)
    if task is not None:
        raise ValueError("task: only meaningful for a BPNet; this model has a single output")
    in_shape, out_shape = model.input_shape, model.output_shape
    ok_in = isinstance(in_shape, tuple) and len(in_shape) == 3 and in_shape[1] is not None and in_shape[2] == 4
    ok_out = isinstance(out_shape, tuple) and len(out_shape) == 2 and out_shape[1] == 1
    if not (ok_in and ok_out):
        raise ValueError(
            f"model: expected a BPNet (dict output with 'logcounts') or a single-input, single-output model "
            f"(n, seq_len, 4) → (n, 1); got input shape {in_shape} and output shape {out_shape}"
        )
    return _rc_averaged(model) if rc_average else model


def _check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def _rows(items: list) -> str:
    shown = ", ".join(items[:_MAX_REPORTED])
    return shown + (f" (and {len(items) - _MAX_REPORTED} more)" if len(items) > _MAX_REPORTED else "")


class Marginalizer:
    """Scores query sequences by in-silico marginalization over a fixed background set.

    Args:
        model: a BPNet (:func:`affdist_core.model.bpnet.build_bpnet`; the sequence part of its counts head) or a
            single-input Keras model ``(n, seq_len, 4) → (n, 1)`` that returns the log counts directly; or a
            list of such models (an ensemble, :mod:`affdist_core.model.ensemble`): the score is then the mean of the
            members' log counts, i.e. the mean of their scores on the same backgrounds.
        backgrounds: a :class:`BackgroundSet` or an (N, seq_len, 4) one-hot array; ``seq_len`` must equal the
            model's input length.
        batch_size: rows (sequences of seq_len) per model call, default 512.
        rc_average: score with ``(f(x) + f(revcomp x)) / 2`` (default True).
        task: which task of a multi-task BPNet (None for single-task models).

    Attributes: ``scoring_model`` (the Keras model called), ``n_models``, ``backgrounds``, ``seq_len``,
    ``n_evaluations`` (sequences evaluated so far, backgrounds included).
    """

    def __init__(
        self,
        model: keras.Model | Sequence[keras.Model],
        backgrounds: BackgroundSet | np.ndarray,
        batch_size: int = 512,
        rc_average: bool = True,
        task: int | None = None,
    ) -> None:
        if not isinstance(backgrounds, BackgroundSet):
            backgrounds = BackgroundSet(validate_onehot(backgrounds, "backgrounds"))
        self.backgrounds = backgrounds
        self.batch_size = _check_batch_size(batch_size)
        self.rc_average = bool(rc_average)
        members = list(model) if isinstance(model, (list, tuple)) else [model]
        if not members:
            raise ValueError("model: expected a Keras model or a non-empty list of models, got an empty list")
        self.n_models = len(members)
        self.scoring_model = scoring_ensemble([_scoring_model(m, self.rc_average, task) for m in members])
        model_len = int(self.scoring_model.input_shape[1])
        if model_len != backgrounds.seq_len:
            raise ValueError(f"backgrounds: sequences are {backgrounds.seq_len} bp but the model input is "
                             f"{model_len} bp; make backgrounds from windows of the model's seq_len")
        self.seq_len = model_len
        self.n_evaluations = 0
        self._background_logcounts: np.ndarray | None = None

    def __repr__(self) -> str:
        return (f"Marginalizer({self.scoring_model.name}, {self.backgrounds!r}, batch_size={self.batch_size}, "
                f"rc_average={self.rc_average})")

    @property
    def n_backgrounds(self) -> int:
        return len(self.backgrounds)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        """(b, L, 4) float32 → (b, K) float32 total log counts of each of the K models; one model call."""
        self.n_evaluations += len(x)
        out = self.scoring_model.predict_on_batch(x)
        return np.asarray(out, dtype=np.float32).reshape(len(x), self.n_models)

    @property
    def background_member_logcounts(self) -> np.ndarray:
        """(N, K) float32 predicted total log counts of the backgrounds by each model; computed once, cached."""
        if self._background_logcounts is None:
            bg = self.backgrounds.onehot
            out = np.empty((len(bg), self.n_models), dtype=np.float32)
            for i in range(0, len(bg), self.batch_size):
                out[i : i + self.batch_size] = self._predict(np.ascontiguousarray(bg[i : i + self.batch_size]))
            out.setflags(write=False)
            self._background_logcounts = out
        return self._background_logcounts

    @property
    def background_logcounts(self) -> np.ndarray:
        """(N,) float32 predicted total log counts of the backgrounds (mean over the models)."""
        return self.background_member_logcounts.mean(axis=1, dtype=np.float64).astype(np.float32)

    # ------------------------------------------------------------------------------------------------ validation

    def _validate(self, sequences: Sequence[str]) -> tuple[list[str], list[tuple[int, np.ndarray, np.ndarray]]]:
        """Check every query; return the list and ``[(length, row indices, (m, length) uint8 codes)]``."""
        if isinstance(sequences, (str, bytes)):
            raise ValueError("sequences: expected a list of DNA strings, got a single string; pass [sequence] or "
                             "use score_one")
        try:
            seqs = list(sequences)
        except TypeError:
            raise ValueError(f"sequences: expected a list of DNA strings, got {type(sequences).__name__}") from None
        not_str = [f"sequences[{i}] = {s!r}" for i, s in enumerate(seqs) if not isinstance(s, str)]
        if not_str:
            raise ValueError(f"sequences: expected DNA strings; {len(not_str)} item(s) are not strings: "
                             f"{_rows(not_str)}")
        seqs = [str(s) for s in seqs]
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        empty = np.flatnonzero(lengths == 0)
        if empty.size:
            raise ValueError(f"sequences: {empty.size} empty sequence(s) at row(s) "
                             f"{_rows([str(i) for i in empty])} (0-based)")
        long = np.flatnonzero(lengths > self.seq_len)
        if long.size:
            raise ValueError(
                f"sequences: {long.size} sequence(s) longer than the model input seq_len {self.seq_len}: "
                f"{_rows([f'sequences[{i}] has length {lengths[i]}' for i in long])}"
            )
        groups, bad = [], []
        for k in np.unique(lengths):
            rows = np.flatnonzero(lengths == k)
            codes = encode("".join(seqs[i] for i in rows)).reshape(len(rows), int(k))
            invalid = codes == N_CODE
            for r in np.flatnonzero(invalid.any(axis=1)):
                pos = np.flatnonzero(invalid[r])
                i = int(rows[r])
                bad.append((i, f"sequences[{i}] position {pos[0] + 1} {seqs[i][pos[0]]!r}"
                               + (f" (+{pos.size - 1} more in that sequence)" if pos.size > 1 else "")))
            groups.append((int(k), rows, codes))
        if bad:
            bad.sort()
            raise ValueError(
                f"sequences: only A, C, G, T (any case) are allowed; {len(bad)} sequence(s) contain other characters "
                f"(1-based position, character): {_rows([text for _, text in bad])}"
            )
        return seqs, groups

    # ------------------------------------------------------------------------------------------------ scoring

    def score(self, sequences: Sequence[str], keep_deltas: bool = False, progress: bool = True
              ) -> MarginalizationResult:
        """Marginalization scores of ``sequences`` (list of DNA strings, any lengths 1..seq_len, A/C/G/T in any
        case). All queries are validated before any prediction (ValueError naming rows and positions).

        ``keep_deltas``: also return the (n, N) float32 per-background Δ. ``progress``: show a tqdm bar.
        Returns a :class:`MarginalizationResult` in the order of ``sequences``.
        """
        seqs, groups = self._validate(sequences)
        n, n_bg, bs, seq_len = len(seqs), self.n_backgrounds, self.batch_size, self.seq_len
        mean = np.empty(n, dtype=np.float64)
        sd = np.empty(n, dtype=np.float64)
        deltas = np.empty((n, n_bg), dtype=np.float32) if keep_deltas else None
        n_models = self.n_models
        members = np.empty((n, n_models), dtype=np.float64) if n_models > 1 else None
        bg_pred = self.background_member_logcounts.astype(np.float64)  # (N, K)
        bg = self.backgrounds.onehot
        queries_per_block = max(1, (16 * bs) // n_bg)
        total = n * n_bg
        if n:
            log.info("marginalizing %d sequence(s) over %d backgrounds (%d model evaluations)", n, n_bg, total)
        with tqdm(total=total, disable=not progress or n == 0, unit="seq", desc="marginalize",
                  mininterval=2.0) as bar:
            for k, rows, codes in groups:
                start = centre_start(seq_len, k)
                for q0 in range(0, len(rows), queries_per_block):
                    q_codes = codes[q0 : q0 + queries_per_block]
                    n_rows = len(q_codes) * n_bg
                    pred = np.empty((n_rows, n_models), dtype=np.float32)
                    for r0 in range(0, n_rows, bs):
                        r = np.arange(r0, min(n_rows, r0 + bs))
                        x = bg[r % n_bg]  # fancy indexing copies
                        x[:, start : start + k] = ONE_HOT_TABLE[q_codes[r // n_bg]]
                        pred[r0 : r0 + len(r)] = self._predict(x)
                        bar.update(len(r))
                    d_members = pred.reshape(len(q_codes), n_bg, n_models).astype(np.float64) - bg_pred
                    d = d_members.mean(axis=2)  # the ensemble's Δ per background
                    out_rows = rows[q0 : q0 + queries_per_block]
                    mean[out_rows], sd[out_rows] = _mean_sd(d)
                    if members is not None:
                        members[out_rows] = d_members.mean(axis=1)
                    if deltas is not None:
                        deltas[out_rows] = d
        return MarginalizationResult(seqs, mean, sd, n_bg, self.backgrounds.background_id, deltas, members)

    def score_one(self, sequence: str) -> tuple[float, float]:
        """``(mean, sd)`` of one sequence (see :meth:`score`)."""
        if not isinstance(sequence, str):
            raise ValueError(f"sequence: expected a DNA string, got {type(sequence).__name__}")
        result = self.score([sequence], progress=False)
        return float(result.mean[0]), float(result.sd[0])
