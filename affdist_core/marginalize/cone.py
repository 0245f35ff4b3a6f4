"""Exact receptive-field-cone recomputation of Δ log counts for inserts into fixed backgrounds.

Inserting a ``k``-bp query at ``[start, start + k)`` of a background changes, in BPNet's trunk of valid
convolutions, only a cone of positions: ``conv1`` (kernel ``K1``) outputs ``[start - K1 + 1, start + k)``, and each
dilated layer (kernel ``K``, dilation ``d``) widens the changed interval by ``(K - 1) d`` to the left (valid
convolutions shift coordinates; the centred residual crop changes nothing outside that interval). The sequence
counts head is linear in the globally pooled last layer, so for a background ``b`` with last-layer sum ``S_b``::

    pooled(insert(b, s)) = (S_b - Σ_{cone} body_b + Σ_{cone} body_{insert(b, s)}) / L_body
    f = logsumexp_strands(Dense(pooled))                         (the counts model of affdist_core.model.bpnet)

and the cone of every layer is computed from the query, the layer below's new cone and the background's
activations just outside it (cached once per background and insert geometry). Nothing else of the trunk, and
never the profile head, is evaluated. With RC averaging the reverse strand is the same computation on the
reverse-complemented background with the reverse-complemented query at ``seq_len - start - k``.

:func:`cone_plan` accepts only what it can prove exact from the layers themselves: a Conv1D stack with
``valid`` padding and stride 1 (any pointwise activation), centred residual crops, global average pooling and a
linear Dense head — the graph :func:`affdist_core.model.bpnet.build_bpnet` makes. Anything else returns the
reason, and the Marginalizer falls back to full evaluation. :class:`ConeScorer` also checks itself against the
full model on a few inserts when it is built (``verify``).

Cost per query and background (trunk FLOPs): the cone's widths (36, 40, 48, 64, 96, 160 positions for a 16-mer
on yeast-compact) against the full layers' (526 … 402); ``benchmarks/bench_marginalize.py`` measures the wall time.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from affdist_core.model.bpnet import CentralCrop1D, counts_model
from affdist_core.model.inputs import LAYERS
from affdist_core.seq.alphabet import ONE_HOT_TABLE

log = logging.getLogger(__name__)


class _OneTracePerGeometry(logging.Filter):
    """Drops TensorFlow's retracing notice: each insert geometry is its own graph, traced once by design."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_OneTracePerGeometry())

__all__ = ["ConePlan", "ConeScorer", "TrunkLayer", "cone_plan"]


@dataclasses.dataclass(frozen=True)
class TrunkLayer:
    """One valid Conv1D of the trunk: ``out = conv(x)`` (+ ``x`` cropped centrally when ``residual``)."""

    conv: keras.layers.Conv1D
    kernel: int
    dilation: int
    residual: bool

    @property
    def shrink(self) -> int:
        """Positions lost by the valid convolution: ``(kernel - 1) × dilation``."""
        return (self.kernel - 1) * self.dilation


@dataclasses.dataclass(frozen=True)
class ConePlan:
    """The proven-exact trunk of one BPNet's sequence counts head.

    ``layers``: conv1 then the dilated layers; ``lengths``: output length of each layer; ``head``: the linear
    Dense on the pooled last layer; ``channels``: the task's strand channels; ``seq_len``: input length.
    """

    layers: tuple[TrunkLayer, ...]
    lengths: tuple[int, ...]
    head: keras.layers.Dense
    channels: tuple[int, ...]
    seq_len: int

    def intervals(self, start: int, k: int) -> list[tuple[int, int]]:
        """Changed half-open interval ``[lo, hi)`` of each layer's output for an insert at ``[start, start + k)``."""
        lo, hi, out = start, start + k, []
        for layer, length in zip(self.layers, self.lengths):
            lo, hi = max(0, lo - layer.shrink), min(length, hi)
            out.append((lo, hi))
        return out


def _conv_reason(layer: Any, name: str) -> str | None:
    if not isinstance(layer, keras.layers.Conv1D) or type(layer).__name__ != "Conv1D":
        return f"{name} is {type(layer).__name__}, not a plain Conv1D"
    if layer.padding != "valid":
        return f"{name} has padding {layer.padding!r} (only 'valid' is exact)"
    if tuple(layer.strides) != (1,):
        return f"{name} has strides {layer.strides}"
    if getattr(layer, "groups", 1) != 1:
        return f"{name} is a grouped convolution"
    if layer.data_format != "channels_last":
        return f"{name} is {layer.data_format}"
    return None


def cone_plan(model: keras.Model, task: int = 0) -> tuple[ConePlan | None, str]:
    """``(plan, "")`` when the model's counts path is provably cone-exact, else ``(None, reason)``."""
    try:
        names = {layer.name for layer in model.layers}
    except AttributeError:
        return None, f"{type(model).__name__} is not a Keras model"
    head_name = LAYERS.logcounts_seq if LAYERS.logcounts_seq in names else LAYERS.logcounts
    if not {LAYERS.conv1, LAYERS.pool, head_name} <= names:
        return None, "not a BPNet trunk (no conv1 / pool / counts Dense layer)"
    layers, lengths = [], []
    conv1 = model.get_layer(LAYERS.conv1)
    reason = _conv_reason(conv1, LAYERS.conv1)
    if reason:
        return None, reason
    seq_len = int(model.get_layer(LAYERS.sequence).output.shape[1])
    if conv1.input.shape[1] != seq_len:
        return None, "conv1 does not read the sequence input directly"
    layers.append(TrunkLayer(conv1, int(conv1.kernel_size[0]), int(conv1.dilation_rate[0]), residual=False))
    lengths.append(seq_len - layers[0].shrink)
    last = conv1
    i = 1
    while LAYERS.dilated(i)[0] in names:
        conv_name, crop_name, residual_name = LAYERS.dilated(i)
        conv, crop, add = (model.get_layer(n) for n in (conv_name, crop_name, residual_name))
        reason = _conv_reason(conv, conv_name)
        if reason:
            return None, reason
        if not isinstance(crop, CentralCrop1D) or not isinstance(add, keras.layers.Add):
            return None, f"layer {i}: the residual is not a central crop plus an Add"
        layer = TrunkLayer(conv, int(conv.kernel_size[0]), int(conv.dilation_rate[0]), residual=True)
        if layer.shrink % 2:
            return None, f"{conv_name}: (kernel - 1) × dilation is odd, so the residual crop is not centred"
        if conv.input is not last.output or crop.input is not last.output:
            return None, f"{conv_name}: does not read the previous layer's output"
        if crop.length != lengths[-1] - layer.shrink:
            return None, f"{crop_name}: crops to {crop.length}, expected {lengths[-1] - layer.shrink}"
        layers.append(layer)
        lengths.append(lengths[-1] - layer.shrink)
        last = add
        i += 1
    pool = model.get_layer(LAYERS.pool)
    if type(pool) is not keras.layers.GlobalAveragePooling1D or pool.input is not last.output:
        return None, "the counts head does not average-pool the last trunk layer"
    head = model.get_layer(head_name)
    if type(head) is not keras.layers.Dense or head.input is not pool.output:
        return None, f"{head_name} is not a Dense on the pooled trunk"
    if keras.activations.serialize(head.activation) not in ("linear", {"class_name": "linear"}) \
            and getattr(head.activation, "__name__", "") != "linear":
        return None, f"{head_name} has a non-linear activation"
    return ConePlan(tuple(layers), tuple(lengths), head, (2 * task, 2 * task + 1), seq_len), ""


def _dilated_conv(layer: TrunkLayer, x: tf.Tensor) -> tf.Tensor:
    """``layer.conv(x)`` as ``kernel`` shifted matrix products (no SpaceToBatch round trip for the dilation)."""
    conv = layer.conv
    width = tf.shape(x)[1] - layer.shrink
    y = conv.bias if conv.use_bias else 0.0
    for t in range(layer.kernel):
        y = y + tf.tensordot(x[:, t * layer.dilation : t * layer.dilation + width], conv.kernel[t], axes=1)
    return conv.activation(y)


def _lse(logits: np.ndarray) -> np.ndarray:
    """log Σ exp over the last axis (the task's strands), float64."""
    top = logits.max(axis=-1)
    return top + np.log(np.exp(logits - top[..., None]).sum(axis=-1))


class _Geometry:
    """One insert geometry of one orientation: the cached background borders of every layer and the sums."""

    def __init__(self, plan: ConePlan, activations: list[np.ndarray], inputs: np.ndarray, start: int, k: int):
        self.start, self.k = start, k
        self.borders: list[tuple[tf.Tensor, tf.Tensor]] = []
        below, (lo_below, hi_below) = inputs, (start, start + k)
        for layer, (lo, hi), acts in zip(plan.layers, plan.intervals(start, k), activations):
            self.borders.append((tf.constant(below[:, lo:lo_below]),
                                 tf.constant(below[:, hi_below : hi + layer.shrink])))
            below, (lo_below, hi_below) = acts, (lo, hi)
        # the background's own last-layer values inside the cone, (N, width, C): the cone's change of the pooled
        # sum is Σ (new - these), a small number computed without the round-off of the whole sum
        self.last = tf.constant(activations[-1][:, lo_below:hi_below])
        self.cone: Any = None  # the traced cone graph, set by ConeScorer


class ConeScorer:
    """Δ log counts of inserts into fixed backgrounds for one BPNet, by cone recomputation.

    Args:
        plan: from :func:`cone_plan`.
        backgrounds: (N, seq_len, 4) float32 one-hot.
        rc_average: average the forward and reverse-complement scores (as ``counts_model(rc_average=True)``).
        batch_rows: query × background rows per graph call (512: small enough for the cone's activations to stay
            in cache; 256–1,024 measured within a few % of each other, 4,096 10 % slower).

    :meth:`deltas` returns ``f(insert(b_j, s)) - f(b_j)`` for every query and background, equal to the full
    counts model's within float32 round-off (``verify``). Geometries (insert length and start) are cached.
    """

    def __init__(self, plan: ConePlan, backgrounds: np.ndarray, rc_average: bool = True, batch_rows: int = 512,
                 jit_compile: bool = False, shifted_matmul: bool = True):
        self.shifted_matmul = bool(shifted_matmul)
        self.plan = plan
        self.rc_average = bool(rc_average)
        self.batch_rows = int(batch_rows)
        bg = np.ascontiguousarray(backgrounds, dtype=np.float32)
        self.n_backgrounds = len(bg)
        self._inputs = [bg, np.ascontiguousarray(bg[:, ::-1, ::-1])] if self.rc_average else [bg]
        self._activations = [self._trunk(x) for x in self._inputs]
        # (N, channels) float64 head logits of each orientation's backgrounds, and their f (mean over orientations)
        self._logits = [self._head_logits(acts[-1]) for acts in self._activations]
        self.background_logcounts = np.mean([_lse(lg) for lg in self._logits], axis=0)  # (N,) float64
        self._geometries: dict[tuple[int, int], list[_Geometry]] = {}
        self._jit_compile = bool(jit_compile)

    # ----------------------------------------------------------------------------------- full passes (once)

    def _trunk(self, x: np.ndarray) -> list[np.ndarray]:
        """Every trunk layer's output for (N, L, 4) inputs, as float32 numpy arrays."""
        out, h = [], tf.constant(x)
        for layer in self.plan.layers:
            y = layer.conv(h)
            if layer.residual:
                c = layer.shrink // 2
                y = y + h[:, c : c + y.shape[1]]
            out.append(y.numpy())
            h = y
        return out

    def _head_logits(self, last: np.ndarray) -> np.ndarray:
        pooled = tf.reduce_mean(tf.constant(last), axis=1)
        logits = self.plan.head(pooled).numpy().astype(np.float64)
        return logits[:, list(self.plan.channels)]

    def has_geometry(self, start: int, k: int) -> bool:
        """Whether the cone graph of a ``k``-bp insert at ``start`` is built (traced) already."""
        return (int(start), int(k)) in self._geometries

    def prepare(self, start: int, k: int) -> None:
        """Build and trace the cone graph of a ``k``-bp insert at ``start`` now (about 2 s), so the first queries
        of that geometry are fast."""
        self.deltas(np.zeros((1, k), dtype=np.uint8), start)

    def _geometry(self, start: int, k: int) -> list[_Geometry]:
        key = (start, k)
        if key not in self._geometries:
            starts = [start, self.plan.seq_len - start - k][: len(self._inputs)]
            geometries = [_Geometry(self.plan, acts, x, s, k)
                          for acts, x, s in zip(self._activations, self._inputs, starts)]
            for geometry in geometries:  # one graph per geometry, traced once for any number of queries
                geometry.cone = tf.function(
                    lambda query, g=geometry: self._cone_fn(query, g.borders, g.last),
                    input_signature=[tf.TensorSpec((None, k, 4), tf.float32)], jit_compile=self._jit_compile)
            self._geometries[key] = geometries
        return self._geometries[key]

    # ----------------------------------------------------------------------------------- the cone

    def _cone_fn(self, query: tf.Tensor, borders: list, last: tf.Tensor) -> tf.Tensor:
        """query (Q, k, 4) → change of the task's head logits for every (query, background) row, query-major:
        (Q × N, channels); the head is linear, so Δlogits = W · Δpooled."""
        n = tf.shape(last)[0]
        q = tf.shape(query)[0]
        h = tf.repeat(query, n, axis=0)
        for layer, (left, right) in zip(self.plan.layers, borders):
            ext = tf.concat([tf.tile(left, [q, 1, 1]), h, tf.tile(right, [q, 1, 1])], axis=1)
            y = _dilated_conv(layer, ext) if self.shifted_matmul and layer.dilation > 1 else layer.conv(ext)
            if layer.residual:
                c = layer.shrink // 2
                y = y + ext[:, c : c + tf.shape(y)[1]]
            h = y
        d_pooled = tf.reduce_sum(h - tf.tile(last, [q, 1, 1]), axis=1) / self.plan.lengths[-1]
        return tf.tensordot(d_pooled, tf.gather(self.plan.head.kernel, list(self.plan.channels), axis=1), axes=1)

    def deltas(self, codes: np.ndarray, start: int) -> np.ndarray:
        """(Q, N) float64 Δ log counts of queries ``codes`` ((Q, k) uint8, A/C/G/T only) inserted at ``start``."""
        codes = np.asarray(codes)
        q_total, k = codes.shape
        if not 0 <= start <= self.plan.seq_len - k:
            raise ValueError(f"start: an insert of {k} bp at {start} does not fit in {self.plan.seq_len} bp")
        geometries = self._geometry(int(start), int(k))
        n = self.n_backgrounds
        per_call = max(1, self.batch_rows // n)
        out = np.zeros((q_total, n), dtype=np.float64)
        for orientation, geometry in enumerate(geometries):
            onehot = ONE_HOT_TABLE[codes if orientation == 0 else (3 - codes)[:, ::-1]].astype(np.float32)
            logits = self._logits[orientation]  # (N, channels)
            for q0 in range(0, q_total, per_call):
                d_logits = geometry.cone(tf.constant(onehot[q0 : q0 + per_call]))
                d_logits = d_logits.numpy().astype(np.float64).reshape(-1, n, logits.shape[1])
                out[q0 : q0 + per_call] += _lse(logits[None] + d_logits) - _lse(logits)[None]
        return out / len(geometries)

    def verify(self, model: keras.Model, rng: np.random.Generator, n_queries: int = 3, tolerance: float = 1e-4,
               off_centre: bool = False) -> float:
        """Largest |cone − full| Δ over a few random 16-bp inserts into the first backgrounds (centred, and with
        ``off_centre`` also at both ends); raises ValueError above ``tolerance`` or when the cone fails."""
        full = counts_model(model, task=self.plan.channels[0] // 2, rc_average=self.rc_average)
        bg = self._inputs[0][: min(4, self.n_backgrounds)]
        base = np.asarray(full.predict_on_batch(bg), dtype=np.float64).reshape(-1)
        worst = 0.0
        k = min(16, self.plan.seq_len)
        starts = [(self.plan.seq_len - k) // 2] + ([0, self.plan.seq_len - k] if off_centre else [])
        for start in starts:
            codes = rng.integers(0, 4, size=(n_queries, k), dtype=np.uint8)
            x = np.repeat(bg[None], n_queries, axis=0)
            x[:, :, start : start + k] = ONE_HOT_TABLE[codes][:, None]
            want = np.asarray(full.predict_on_batch(x.reshape(-1, *bg.shape[1:])), dtype=np.float64)
            want = want.reshape(n_queries, len(bg)) - base[None]
            try:
                got = self.deltas(codes, start)[:, : len(bg)]
            except (ValueError, tf.errors.InvalidArgumentError) as err:
                raise ValueError(f"cone recomputation does not reproduce the full model: it fails for a {k}-bp "
                                 f"insert at {start} ({str(err).splitlines()[-1]})") from err
            worst = max(worst, float(np.max(np.abs(got - want))))
        if worst > tolerance:
            raise ValueError(f"cone recomputation does not reproduce the full model: they differ by {worst:.2e} "
                             f"(> {tolerance:g})")
        return worst

