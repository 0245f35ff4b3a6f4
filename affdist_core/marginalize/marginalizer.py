"""In-silico marginalization (Affinity Distillation, step 3): the model's Δ log counts of a query sequence.

For a query ``s`` (a BET-seq 16-mer, a longer gcPBM-style probe, a variant, ...) and a set of ``N`` background
sequences ``b_1 … b_N`` of the model's input length (:mod:`affdist_core.marginalize.backgrounds`)::

    Δ_j(s)  = f(insert(b_j, s)) - f(b_j)
    score(s) = mean_j Δ_j(s),   sd(s) = sd_j Δ_j(s) (ddof = 1),   n = N

where ``f`` is the counts head's total log counts (:func:`affdist_core.model.bpnet.counts_model`: logsumexp of the
two strands' log counts, RC-averaged by default) and ``insert`` overwrites the centre of the background with
``s`` (:func:`affdist_core.seq.insert.centre_start`: ``start = (seq_len - len(s)) // 2``; for odd
``seq_len - len(s)`` the extra base goes to the right flank). Scores are uncalibrated (see the calibration step).

Computation (:class:`Marginalizer`): two engines give the same scores (within float32 round-off).
``engine="cone"`` (:mod:`affdist_core.marginalize.cone`, the default whenever :func:`~affdist_core.marginalize.cone.cone_plan`
proves it exact for every member) recomputes only the receptive-field cone of the insert from cached background
activations: 4.5× (yeast-compact) and 8.1× (seed-max) the whole-sequence engine's rate, as measured by
``benchmarks/bench_marginalize.py``. ``engine="full"`` evaluates
whole inserted sequences with the Keras scoring graph and is what any other model (e.g. an analytic test
model) gets; ``"auto"`` picks the cone when it can and logs why not when it cannot. In the full engine the
``N`` background predictions are computed once per Marginalizer and reused for every query. Queries are validated up front, grouped by length, and the inserted sequences are
built batch by batch (``batch_size`` rows of ``(seq_len, 4)`` at a time, query-major: all ``N`` backgrounds
of a query, then the next query), so memory stays ``O(batch_size × seq_len)`` plus ``O(n)`` results (and
``n × N`` float32 when ``keep_deltas=True``) — the ``n × N × seq_len`` inserted library is never held.
The model is called with ``predict_on_batch`` (faster than calling the Keras model eagerly on the same numpy
batches; ``benchmarks/bench_marginalize.py`` measures it).

Scoring graph: a BPNet from :func:`affdist_core.model.bpnet.build_bpnet` (the sequence part of its counts head:
:func:`affdist_core.model.bpnet.counts_model`) or any single-input Keras model ``(n, seq_len, 4) → (n, 1)`` (e.g.
an analytic test model). With ``rc_average=True`` the score uses ``(f(x) + f(revcomp x)) / 2`` computed inside
one Keras graph. A list of models is an ensemble (:mod:`affdist_core.model.ensemble`): :func:`scoring_ensemble`
puts every member in the same graph, so one ``predict`` call evaluates them all; ``f`` is the mean of the
members' ``f`` (Δ log counts is linear in the log counts, so the ensemble score is exactly the mean of the
members' scores on the same backgrounds), and each member's own score is kept too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from tqdm.auto import tqdm

from affdist_core.common.checks import check_int
from affdist_core.marginalize.backgrounds import BackgroundSet
from affdist_core.marginalize.cone import ConeScorer, cone_plan
from affdist_core.marginalize.results import MarginalizationResult, mean_sd
from affdist_core.model.bpnet import ReverseComplement, counts_model
from affdist_core.seq.alphabet import N_CODE, ONE_HOT_TABLE, encode, validate_onehot
from affdist_core.seq.insert import centre_start

log = logging.getLogger(__name__)

__all__ = ["Marginalizer", "scoring_ensemble"]

_MAX_REPORTED = 5
CONE_MIN_QUERIES = 8
"""A query length with fewer queries than this, whose cone graph is not traced yet, is evaluated whole: tracing
a new insert geometry (about 2 s) costs more than evaluating a few whole sequences (the app's variant page)."""


# --------------------------------------------------------------------------------------------------------------
# The scoring graph
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


def scoring_ensemble(scoring_models: list[keras.Model]) -> keras.Model:
    """One Keras model ``(n, L, 4) → (n, K)``: column k = member k's output (each member (n, L, 4) → (n, 1),
    same L), so one call evaluates every member. A single model is returned unchanged ((n, 1))."""
    if len(scoring_models) == 1:
        return scoring_models[0]
    shape = tuple(scoring_models[0].input_shape[1:])
    wrapped = []
    for k, model in enumerate(scoring_models):
        if tuple(model.input_shape[1:]) != shape:
            raise ValueError(f"models: ensemble member {k} takes input {model.input_shape[1:]}, member 0 takes "
                             f"{shape}; members must share the input length")
        inp = keras.Input(shape, name="sequence")
        wrapped.append(keras.Model(inp, model(inp), name=f"member_{k}"))  # unique names inside the ensemble
    inp = keras.Input(shape, name="sequence")
    output = keras.layers.Concatenate(axis=-1, name="members")([member(inp) for member in wrapped])
    return keras.Model(inp, output, name=f"ensemble_of_{len(scoring_models)}")


# --------------------------------------------------------------------------------------------------------------
# Marginalizer
# --------------------------------------------------------------------------------------------------------------


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
        backgrounds: a :class:`~affdist_core.marginalize.backgrounds.BackgroundSet` or an (N, seq_len, 4) one-hot
            array; ``seq_len`` must equal the
            model's input length.
        batch_size: rows (sequences of seq_len) per model call, default 512.
        rc_average: score with ``(f(x) + f(revcomp x)) / 2`` (default True).
        task: which task of a multi-task BPNet (None for single-task models).
        engine: ``"auto"`` (default: the cone engine when it is provably exact for every model, else full
            evaluation with a log line saying why), ``"cone"`` (ValueError when it cannot be used) or ``"full"``.

    Attributes: ``scoring_model`` (the full Keras scoring graph), ``engine`` (``"cone"`` or ``"full"``),
    ``n_models``, ``backgrounds``, ``seq_len``, ``n_evaluations`` (query-background pairs scored so far, plus
    the ``N`` backgrounds themselves).
    """

    def __init__(
        self,
        model: keras.Model | Sequence[keras.Model],
        backgrounds: BackgroundSet | np.ndarray,
        batch_size: int = 512,
        rc_average: bool = True,
        task: int | None = None,
        engine: str = "auto",
    ) -> None:
        if engine not in ("auto", "cone", "full"):
            raise ValueError(f"engine: expected 'auto', 'cone' or 'full', got {engine!r}")
        if not isinstance(backgrounds, BackgroundSet):
            backgrounds = BackgroundSet(validate_onehot(backgrounds, "backgrounds"))
        self.backgrounds = backgrounds
        self.batch_size = check_int("batch_size", batch_size, 1)
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
        self._members, self._task = members, task
        self._cones: list[ConeScorer] | None = None
        self.engine = self._choose_engine(engine)

    def _choose_engine(self, engine: str) -> str:
        if engine == "full":
            return "full"
        reasons = []
        for k, model in enumerate(self._members):
            plan, reason = cone_plan(model, self._task or 0) if _is_bpnet(model) else (None, "not a BPNet")
            if plan is None:
                reasons.append(f"model {k}: {reason}")
        if not reasons:
            return "cone"
        if engine == "cone":
            raise ValueError(f"engine: the cone engine cannot be proven exact ({'; '.join(reasons)}); use "
                             f"engine='full'")
        log.info("marginalize: full-sequence evaluation (%s)", "; ".join(reasons))
        return "full"

    def prepare(self, lengths: Sequence[int]) -> None:
        """With the cone engine: build the cone scorers and trace the centred-insert graph of each query length
        now, so that even a single query of those lengths is scored by the cone (the app's Variant page does
        this for its library's length). Nothing to do for the full engine."""
        if self.engine != "cone":
            return
        for k in sorted({int(k) for k in lengths if 1 <= int(k) <= self.seq_len}):
            for cone in self._cone_scorers():
                cone.prepare(centre_start(self.seq_len, k), k)

    def _cone_scorers(self) -> list[ConeScorer]:
        """One :class:`ConeScorer` per model, built (and checked against the full model) on first use."""
        if self._cones is None:
            rng = np.random.default_rng(0)
            cones = []
            for model in self._members:
                plan, _ = cone_plan(model, self._task or 0)
                cone = ConeScorer(plan, self.backgrounds.onehot, rc_average=self.rc_average)
                cone.verify(model, rng)
                cones.append(cone)
            self._cones = cones
        return self._cones

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
        cones = self._cone_scorers() if self.engine == "cone" and len(seqs) >= CONE_MIN_QUERIES else \
            (self._cones or [])
        queries_per_block = max(1, (16 * bs) // n_bg)
        total = n * n_bg
        if n:
            log.info("marginalizing %d sequence(s) over %d backgrounds (%d query-background pairs, %s engine)", n,
                     n_bg, total, self.engine)
        with tqdm(total=total, disable=not progress or n == 0, unit="seq", desc="marginalize",
                  mininterval=2.0) as bar:
            for k, rows, codes in groups:
                start = centre_start(seq_len, k)
                for q0 in range(0, len(rows), queries_per_block):
                    q_codes = codes[q0 : q0 + queries_per_block]
                    n_rows = len(q_codes) * n_bg
                    if cones and (len(rows) >= CONE_MIN_QUERIES
                                  or all(cone.has_geometry(start, k) for cone in cones)):
                        d_members = np.stack([cone.deltas(q_codes, start) for cone in cones], axis=2)
                        self.n_evaluations += n_rows
                        bar.update(n_rows)
                    else:
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
                    mean[out_rows], sd[out_rows] = mean_sd(d)
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
