"""The BPNet model: one-hot DNA → base-resolution strand profiles and total log counts (Keras 3).

Architecture (:func:`build_bpnet`; lengths in :mod:`affdist_core.model.params`)::

    sequence (seq_len, 4)
      → Conv1D(filters, conv1_kernel_size, valid, relu)                      name "conv1"
      → for i = 1..n_dil_layers:                                              dilation 2**i
            c = Conv1D(filters, dil_kernel_size, dilation 2**i, valid, relu)  name "dil_conv{i}"
            x = centre-crop(x, len(c)) + c                                    names "crop{i}", "residual{i}"
      = body (body_length, filters)
    profile:   centre-crop(body, out_pred_len + outconv - 1)                  name "profile_crop" (if needed)
               → Conv1D(2 * n_tasks, outconv_kernel_size, valid)              → (out_pred_len, 2 * n_tasks)
    logcounts: GlobalAveragePooling1D(body) → Dense(2 * n_tasks)              → (2 * n_tasks,)

Cropping the body before the profile conv gives exactly the same numbers as convolving first and cropping
the conv output centrally, with fewer FLOPs. Channels are ordered ``[task0 +, task0 −, task1 +, ...]``;
``logcounts[2t + s]`` is the predicted ``log(1 + total reads)`` of task ``t`` on strand ``s``, and
``profile[:, 2t + s]`` are the multinomial logits over positions (softmax over axis 1 gives probabilities).

Control (``use_control=True``, the bpnet-lite / chrombpnet way): two extra inputs, ``control_profile``
(out_pred_len, 2) — the control track of the same window, + and − strand (recommended transform:
``log(1 + counts)``; the trainer fixes it) — and ``control_logcounts`` (4,) = ``log(1 + control reads)``
per strand over the whole output window and within :func:`~affdist_core.model.params.local_control_width` bp
of the summit (the span one output position reads; :func:`affdist_core.model.inputs.control_model_inputs`).
The profile head adds the control linearly; the counts head (``counts_control="mixture"``, the default)
models the reads as **bound + background**::

    profile   = profile_seq + Conv1D(2 * n_tasks, 1, no bias)(control_profile)        name "control_profile_conv"
    nuisance  = standardise(concat([control_logcounts, accessibility(sequence)]))
                                                            names "nuisance_features", "nuisance_norm"
    bound     = logcounts_seq + MLP_bound(nuisance) + mean(accessibility(sequence)[local ±])
                                 names "bound_hidden", "bound_nuisance", "access_offset", "bound_logcounts"
    background = MLP_background(nuisance)                   names "background_hidden", "background_logcounts"
    logcounts = log(exp(bound) + exp(background))                                     name "logcounts"

with ``accessibility(sequence)`` the frozen accessibility branch (:mod:`affdist_core.model.accessibility`):
a small network fitted, before BPNet trains, to predict the control's 4 log counts from sequence alone — the
chromatin's and the library's own sequence rule, learned from the control and nothing else — centred on its
training mean. Its local prediction also enters the bound reads directly, with coefficient 1: bound reads
scale with accessibility the way control reads do (the assumption behind every ChIP/input ratio), so from the
first epoch the sequence part has nothing of the chromatin's sequence rule left to learn. Each MLP is
``Dense(NUISANCE_UNITS, relu) → Dense(2 * n_tasks)``. ``standardise`` is a ``Normalization`` layer whose
per-feature mean and variance the trainer sets from the training windows (identity until then).

Reads from the bound factor scale with the accessibility of the site (which the local control measures
with Poisson noise, and the branch predicts from the site's sequence) times what the sequence adds; the
rest of the window's reads (unbound background) do not depend on the site at all. Because the nuisance side
already sees what the control says about the site and its sequence, the sequence part has less reason to
learn "open-looking DNA next to the site = more reads" (accessibility) as if it were affinity;
marginalization keeps the nuisance fixed, so a query's composition changes its score only through binding.
No feature is hand-made: an earlier version gave the head GC, GC² and the A/T and poly(dA:dT) content of the
central 150 bp, which happened to be the simulator's own accessibility formula (issue 16; what each step did
to AD's held-out Pearson: docs/experiments.md, "counts head"). With the seed's linear form
(``counts_control="linear"``: ``logcounts_seq + Dense(2 * n_tasks, no bias)(control_logcounts)``, name
``"control_logcounts_dense"``) the counts head can express neither.
:func:`counts_model` (DeepSHAP, marginalization) returns ``logcounts_seq``, the sequence part of the bound
reads, for both forms. With ``use_control=False`` the model has the ``sequence`` input only and
``logcounts = logcounts_seq``.

Inputs and outputs are dicts: inputs ``"sequence"`` (+ ``"control_profile"``, ``"control_logcounts"``),
outputs ``"profile"`` (n, out_pred_len, 2 * n_tasks) logits and ``"logcounts"`` (n, 2 * n_tasks). Every
output ends in a Keras Layer; the custom layers are registered as ``affdist>...`` so ``.keras`` files reload.
Input names and shapes and every layer name come from :mod:`affdist_core.model.inputs` (``LAYERS``), the
model's contract: :func:`save_model` stores it as ``inputs.json`` beside the model and :func:`load_model`
refuses a model whose stored contract differs from the code's.

Reverse complement: **RC augmentation in training + RC-averaged prediction** (``rc_mode="augment"``). The
network is not constrained to be RC-symmetric; the trainer feeds random reverse complements (profile
reversed, strands swapped, controls likewise), and the predict helpers here average the forward prediction
with the mapped-back prediction of the reverse complement by default (``rc_average=True``), so predictions
are exactly RC-invariant. ``rc_mode="none"`` builds the same graph and only records (in the model name) that
no augmentation is intended. Odd kernel sizes and an even ``seq_len - out_pred_len`` (enforced by
:class:`~affdist_core.model.params.BPNetParams`) make every crop exactly central, so output position ``j``
of the RC input corresponds to position ``out_pred_len - 1 - j`` of the forward input.

Counts model (for DeepSHAP and marginalization, :func:`counts_model`): a single-input Keras model
``sequence (n, seq_len, 4) → (n, 1)`` built from the same layer objects (same weights), the counts head's
sequence part only (no control or background term: Δ between two sequences is the Δ log bound reads at any
fixed control), output = ``logsumexp`` of the strand log counts (of one task), i.e. ``log(e^a + e^b)`` ≈
``log(2 + total reads)``: smooth, never undefined (unlike ``log(e^a + e^b - 1)``, the exact
``log(1 + total)``, which fails when predictions go below 0), and Δ between two sequences equals
Δlog(total) whenever counts are not tiny. It is computed as ``a + softplus(b - a)`` (a fold for more
channels), which is numerically stable and uses ops SHAP's DeepExplainer handles (Sub, Softplus, AddV2,
StridedSlice); the dilated convolutions lower to SpaceToBatchND/BatchToSpaceND, which need the pass-through
handlers of :mod:`affdist_core.interpret.shap_patch`. :func:`predict_logcounts` returns the same quantity, shape (n,).
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import keras
import numpy as np

from affdist_core.common.atomic import atomic_path
from affdist_core.common.checks import check_int
from affdist_core.common.names import ModelDir
from affdist_core.model.accessibility import accessibility_branch
from affdist_core.model.inputs import (
    CONTROL_LOGCOUNTS,
    CONTROL_PROFILE,
    LAYERS,
    LOGCOUNTS,
    PROFILE,
    SEQUENCE,
    check_contract,
    input_shapes,
    read_contract,
    strand_swap,
    write_contract,
)
from affdist_core.model.params import BPNetParams, body_length, dilations, output_length

__all__ = [
    "CentralCrop1D",
    "ColumnMean",
    "LogSumExpChannels",
    "ReverseComplement",
    "build_bpnet",
    "counts_model",
    "load_model",
    "predict_logcounts",
    "predict_outputs",
    "predict_profile_probs",
    "profile_head",
    "save_model",
    "sequence_counts_head",
]

RC_MODES = ("augment", "none")
_PACKAGE = "affdist"
#: How the control enters the counts head: bound + background reads (default) or the seed's linear mix.
COUNTS_CONTROL_MODES = ("mixture", "linear")
#: Columns of ``control_logcounts`` (and of the accessibility branch's prediction) holding the local counts.
LOCAL_COLUMNS = (2, 3)
#: Hidden units of each small network on the nuisance features in the ``"mixture"`` counts head.
NUISANCE_UNITS = 16


# ----------------------------------------------------------------------------------------------- layers


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CentralCrop1D(keras.layers.Layer):
    """Keep the central ``length`` positions of a (batch, L, C) tensor; ``L - length`` must be even."""

    def __init__(self, length: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.length = int(length)

    def _start(self, in_length: int | None) -> int:
        if in_length is None:
            raise ValueError(f"{self.name}: CentralCrop1D needs a static input length")
        extra = in_length - self.length
        if extra < 0 or extra % 2:
            raise ValueError(
                f"{self.name}: cannot crop length {in_length} centrally to {self.length} "
                f"(the difference must be even and >= 0)"
            )
        return extra // 2

    def call(self, inputs):
        start = self._start(inputs.shape[1])
        return inputs[:, start : start + self.length, :]

    def compute_output_shape(self, input_shape):
        self._start(input_shape[1])
        return (input_shape[0], self.length, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "length": self.length}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LogSumExpChannels(keras.layers.Layer):
    """``log(sum_c exp(x[:, c]))`` over the listed channels of (batch, C) → (batch, 1).

    Folded pairwise as ``acc + softplus(x_c - acc)``: stable, and built only from ops SHAP handles.
    """

    def __init__(self, channels: list[int] | tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels = [int(c) for c in channels]
        if not self.channels:
            raise ValueError("channels: expected at least one channel index")

    def call(self, inputs):
        acc = inputs[:, self.channels[0] : self.channels[0] + 1]
        for c in self.channels[1:]:
            acc = acc + keras.ops.softplus(inputs[:, c : c + 1] - acc)
        return acc

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "channels": list(self.channels)}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ColumnMean(keras.layers.Layer):
    """Mean of ``columns`` of a (batch, k) input, repeated ``repeats`` times: (batch, repeats)."""

    def __init__(self, columns: list[int] | tuple[int, ...], repeats: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = [int(c) for c in columns]
        self.repeats = int(repeats)

    def call(self, inputs):
        mean = keras.ops.mean(keras.ops.take(inputs, self.columns, axis=1), axis=1, keepdims=True)
        return keras.ops.repeat(mean, self.repeats, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.repeats)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "columns": self.columns, "repeats": self.repeats}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LogAddExp(keras.layers.Layer):
    """Elementwise ``log(exp(a) + exp(b))`` of two same-shape tensors (numerically stable)."""

    def call(self, inputs):
        a, b = inputs
        return keras.ops.logaddexp(a, b)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReverseComplement(keras.layers.Layer):
    """Reverse complement of one-hot (batch, L, 4) ``ACGT`` input: reverses positions and bases."""

    def call(self, inputs):
        return inputs[:, ::-1, ::-1]

    def compute_output_shape(self, input_shape):
        return input_shape


# ----------------------------------------------------------------------------------------------- build


def build_bpnet(
    params: BPNetParams,
    n_tasks: int = 1,
    use_control: bool = True,
    rc_mode: str = "augment",
    counts_control: str = "mixture",
) -> keras.Model:
    """Build (not compile) the BPNet described in the module docstring.

    ``params``: :class:`BPNetParams` (lengths already validated). ``n_tasks``: number of ChIP-nexus
    experiments predicted jointly (each has 2 strands). ``use_control``: add the control inputs.
    ``rc_mode``: ``"augment"`` (default) or ``"none"``; recorded in the model name (``bpnet_rc_augment``).
    ``counts_control``: how the control enters the counts head with ``use_control`` — ``"mixture"`` (default,
    bound + background reads) or ``"linear"`` (the seed's form); see the module docstring.
    """
    if not isinstance(params, BPNetParams):
        raise ValueError(f"params: expected BPNetParams (see load_params), got {type(params).__name__}")
    n_tasks = check_int("n_tasks", n_tasks, 1)
    if rc_mode not in RC_MODES:
        raise ValueError(f"rc_mode: expected one of {list(RC_MODES)}, got {rc_mode!r}")
    if counts_control not in COUNTS_CONTROL_MODES:
        raise ValueError(f"counts_control: expected one of {list(COUNTS_CONTROL_MODES)}, got {counts_control!r}")
    n_out = 2 * n_tasks
    layers = keras.layers

    shapes = input_shapes(params.seq_len, params.out_pred_len, use_control)
    sequence = keras.Input(shapes[SEQUENCE], name=LAYERS.sequence)
    x = layers.Conv1D(
        params.filters, params.conv1_kernel_size, padding="valid", activation="relu", name=LAYERS.conv1
    )(sequence)
    length = params.seq_len - (params.conv1_kernel_size - 1)
    for i, rate in enumerate(dilations(params), start=1):
        conv_name, crop_name, residual_name = LAYERS.dilated(i)
        conv = layers.Conv1D(
            params.filters,
            params.dil_kernel_size,
            dilation_rate=rate,
            padding="valid",
            activation="relu",
            name=conv_name,
        )(x)
        length -= rate * (params.dil_kernel_size - 1)
        x = layers.Add(name=residual_name)([CentralCrop1D(length, name=crop_name)(x), conv])
    assert length == body_length(params)
    body = x

    control = use_control
    pooled = layers.GlobalAveragePooling1D(name=LAYERS.pool)(body)
    logcounts = layers.Dense(n_out, name=LAYERS.logcounts_seq if control else LAYERS.logcounts)(pooled)

    profile_in = body
    if output_length(params) > params.out_pred_len:
        profile_in = CentralCrop1D(params.out_pred_len + params.outconv_kernel_size - 1,
                                   name=LAYERS.profile_crop)(body)
    profile = layers.Conv1D(
        n_out, params.outconv_kernel_size, padding="valid", name=LAYERS.profile_seq if control else LAYERS.profile
    )(profile_in)

    inputs = {SEQUENCE: sequence}
    if control:
        control_profile = keras.Input(shapes[CONTROL_PROFILE], name=LAYERS.control_profile)
        control_logcounts = keras.Input(shapes[CONTROL_LOGCOUNTS], name=LAYERS.control_logcounts)
        inputs.update({CONTROL_PROFILE: control_profile, CONTROL_LOGCOUNTS: control_logcounts})
        profile = layers.Add(name=LAYERS.profile)(
            [profile, layers.Conv1D(n_out, 1, use_bias=False, name=LAYERS.control_profile_conv)(control_profile)]
        )
        if counts_control == "mixture":
            predicted_control = accessibility_branch(sequence, shapes[CONTROL_LOGCOUNTS][0])
            nuisance = layers.Normalization(name=LAYERS.nuisance_norm)(
                layers.Concatenate(name=LAYERS.nuisance_features)([control_logcounts, predicted_control]))
            access = layers.Dense(n_out, name=LAYERS.bound_nuisance)(
                layers.Dense(NUISANCE_UNITS, activation="relu", name=LAYERS.bound_hidden)(nuisance))
            offset = ColumnMean(LOCAL_COLUMNS, n_out, name=LAYERS.access_offset)(predicted_control)
            bound = layers.Add(name=LAYERS.bound_logcounts)([logcounts, access, offset])
            background = layers.Dense(n_out, name=LAYERS.background_logcounts)(
                layers.Dense(NUISANCE_UNITS, activation="relu", name=LAYERS.background_hidden)(nuisance))
            logcounts = LogAddExp(name=LAYERS.logcounts)([bound, background])
        else:
            control_counts = layers.Dense(n_out, use_bias=False, name=LAYERS.control_logcounts_dense)(
                control_logcounts)
            logcounts = layers.Add(name=LAYERS.logcounts)([logcounts, control_counts])
    return keras.Model(inputs=inputs, outputs={PROFILE: profile, LOGCOUNTS: logcounts}, name=f"bpnet_rc_{rc_mode}")


# ----------------------------------------------------------------------------------------------- introspection


def _layer_names(model: keras.Model) -> set[str]:
    return {layer.name for layer in model.layers}


def sequence_counts_head(model: keras.Model) -> keras.layers.Layer:
    """The Dense layer of the counts head's sequence part (``logcounts_seq``, or ``logcounts`` without control)."""
    names = _layer_names(model)
    return model.get_layer(LAYERS.logcounts_seq if LAYERS.logcounts_seq in names else LAYERS.logcounts)


def profile_head(model: keras.Model) -> keras.layers.Layer:
    """The profile head's sequence conv (``profile_seq``, or ``profile`` without control)."""
    names = _layer_names(model)
    return model.get_layer(LAYERS.profile_seq if LAYERS.profile_seq in names else LAYERS.profile)


def model_n_tasks(model: keras.Model) -> int:
    """Number of ChIP-nexus tasks a BPNet predicts (its counts head has two strand outputs per task)."""
    return int(sequence_counts_head(model).units) // 2


def task_view(model: keras.Model, task: int, params: BPNetParams) -> keras.Model:
    """A single-task BPNet that predicts exactly task ``task`` of the multi-task ``model`` (same ``params``): the
    same graph built with ``n_tasks=1``, every weight copied, and each per-channel output layer (the heads, the
    control terms, the mixture's bound and background outputs) cut to the task's two strand channels. Its
    outputs equal ``model``'s channels ``2·task, 2·task + 1``, so every tool made for a single-task model
    (marginalization, DeepSHAP, MoDISco, the catalog) reads one TF of a multi-task model unchanged."""
    n_tasks = model_n_tasks(model)
    task = check_int("task", task, 0)
    if task >= n_tasks:
        raise ValueError(f"task: the model has {n_tasks} task(s); expected 0..{n_tasks - 1}, got {task}")
    names = _layer_names(model)
    counts_control = "linear" if LAYERS.control_logcounts_dense in names else "mixture"
    rc_mode = model.name.removeprefix("bpnet_rc_") if model.name.startswith("bpnet_rc_") else "augment"
    view = build_bpnet(params, n_tasks=1, use_control=_has_control(model),
                       rc_mode=rc_mode if rc_mode in RC_MODES else "augment", counts_control=counts_control)
    channels = slice(2 * task, 2 * task + 2)
    for layer in view.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        source = model.get_layer(layer.name).get_weights()
        copied = []
        for mine, theirs in zip(weights, source, strict=True):
            if mine.shape == theirs.shape:
                copied.append(theirs)
            elif mine.shape[:-1] == theirs.shape[:-1] and theirs.shape[-1] == 2 * n_tasks and mine.shape[-1] == 2:
                copied.append(theirs[..., channels])
            else:
                raise ValueError(f"{layer.name}: weight shape {theirs.shape} cannot give a single-task {mine.shape}")
        layer.set_weights(copied)
    return view


def _has_control(model: keras.Model) -> bool:
    return LAYERS.control_profile in _layer_names(model)


def _seq_len(model: keras.Model) -> int:
    return int(model.get_layer(LAYERS.sequence).output.shape[1])


def _out_pred_len(model: keras.Model) -> int:
    return int(profile_head(model).output.shape[1])


def _apply_sequence_counts(model: keras.Model, x):
    """Re-apply the model's body and sequence counts head (same layer objects) to tensor ``x``."""
    names = _layer_names(model)
    x = model.get_layer(LAYERS.conv1)(x)
    i = 1
    while LAYERS.dilated(i)[0] in names:
        conv_name, crop_name, residual_name = LAYERS.dilated(i)
        conv = model.get_layer(conv_name)(x)
        x = model.get_layer(residual_name)([model.get_layer(crop_name)(x), conv])
        i += 1
    pooled = model.get_layer(LAYERS.pool)(x)
    return sequence_counts_head(model)(pooled)


_COUNTS_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def counts_model(model: keras.Model, task: int | None = None, rc_average: bool = False) -> keras.Model:
    """Single-input model ``sequence (n, seq_len, 4) float32 → (n, 1)``: log counts of one task's sequence part.

    Shares the layers (weights) of ``model``; the counts head's sequence part only (no control or background
    term). Output = logsumexp of the task's two strand log counts (see the module docstring). ``task``: which
    task (``None`` allowed only for single-task models). ``rc_average``: output the mean of the forward and
    reverse-complement predictions (inside the graph, via :class:`ReverseComplement` and ``Average``). The model ends in a
    Keras Layer (what SHAP's DeepExplainer needs). Models are cached per (model, task, rc_average).
    """
    n_tasks = model_n_tasks(model)
    if task is None:
        if n_tasks != 1:
            raise ValueError(f"task: the model has {n_tasks} tasks; pass task=0..{n_tasks - 1}")
        task = 0
    if isinstance(task, bool) or not isinstance(task, (int, np.integer)) or not 0 <= task < n_tasks:
        raise ValueError(f"task: expected an integer in 0..{n_tasks - 1}, got {task!r}")
    key = (int(task), bool(rc_average))
    cache = _COUNTS_MODELS.setdefault(model, {})
    if key in cache:
        return cache[key]

    channels = [2 * int(task), 2 * int(task) + 1]
    sequence = keras.Input((_seq_len(model), 4), name=LAYERS.sequence)
    lse = LogSumExpChannels(channels, name=LAYERS.total_logcounts)
    forward = lse(_apply_sequence_counts(model, sequence))
    if rc_average:
        reverse = lse(_apply_sequence_counts(model, ReverseComplement(name=LAYERS.reverse_complement)(sequence)))
        output = keras.layers.Average(name=LAYERS.rc_average)([forward, reverse])
    else:
        output = forward
    result = keras.Model(sequence, output, name=f"{model.name}_counts_task{task}" + ("_rcavg" if rc_average else ""))
    cache[key] = result
    return result


# ----------------------------------------------------------------------------------------------- predict


def _as_onehot(model: keras.Model, onehot: Any) -> np.ndarray:
    x = np.asarray(onehot, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    seq_len = _seq_len(model)
    if x.ndim != 3 or x.shape[1:] != (seq_len, 4):
        raise ValueError(f"onehot: expected shape (n, {seq_len}, 4) or ({seq_len}, 4), got {np.shape(onehot)}")
    return x


def _check_batch_size(batch_size: Any) -> int:
    return check_int("batch_size", batch_size, 1)


def predict_logcounts(
    model: keras.Model,
    onehot: np.ndarray,
    batch_size: int = 256,
    rc_average: bool = True,
    task: int | None = None,
) -> np.ndarray:
    """Predicted log counts of the sequence part of the counts head (:func:`counts_model`), shape (n,) float32.

    ``onehot``: (n, seq_len, 4) or (seq_len, 4) float one-hot (``ACGT``, N = zero row). Value =
    logsumexp over the task's two strands of the predicted ``log(1 + strand total)`` (see
    :func:`counts_model`). ``rc_average`` (default True): mean of the forward and reverse-complement
    predictions, so ``f(x) == f(revcomp(x))``.
    """
    x = _as_onehot(model, onehot)
    batch_size = _check_batch_size(batch_size)
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    cm = counts_model(model, task=task, rc_average=rc_average)
    return np.asarray(cm.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32).reshape(-1)


def predict_outputs(
    model: keras.Model,
    onehot: np.ndarray,
    control_profile: np.ndarray | None = None,
    control_logcounts: np.ndarray | None = None,
    batch_size: int = 256,
    rc_average: bool = True,
) -> dict[str, np.ndarray]:
    """Both heads of the full model: ``{"profile": (n, out_pred_len, 2 * n_tasks) logits,
    "logcounts": (n, 2 * n_tasks)}``, float32.

    ``control_profile`` (n, out_pred_len, 2) and ``control_logcounts`` (n, 4): the control inputs; ``None``
    → zeros (ignored for models built without control). ``rc_average``: also predict the reverse complement
    (controls reversed / strand-swapped too), map it back (positions reversed, strands swapped) and average
    with the forward prediction — logits and log counts are averaged.
    """
    x = _as_onehot(model, onehot)
    batch_size = _check_batch_size(batch_size)
    n, out_len = len(x), _out_pred_len(model)
    inputs: dict[str, np.ndarray] = {SEQUENCE: x}
    if _has_control(model):
        if control_profile is None:
            control_profile = np.zeros((n, out_len, 2), dtype=np.float32)
        n_control = int(model.get_layer(LAYERS.control_logcounts).output.shape[1])
        if control_logcounts is None:
            control_logcounts = np.zeros((n, n_control), dtype=np.float32)
        control_profile = np.asarray(control_profile, dtype=np.float32)
        control_logcounts = np.asarray(control_logcounts, dtype=np.float32)
        if control_profile.shape != (n, out_len, 2):
            raise ValueError(f"control_profile: expected shape {(n, out_len, 2)}, got {control_profile.shape}")
        if control_logcounts.shape != (n, n_control):
            raise ValueError(f"control_logcounts: expected shape {(n, n_control)} (control_model_inputs), got "
                             f"{control_logcounts.shape}")
        inputs.update({CONTROL_PROFILE: control_profile, CONTROL_LOGCOUNTS: control_logcounts})
    elif control_profile is not None or control_logcounts is not None:
        raise ValueError("control_profile, control_logcounts: this model was built without control inputs")

    def run(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if n == 0:
            n_out = 2 * model_n_tasks(model)
            return {PROFILE: np.zeros((0, out_len, n_out), np.float32), LOGCOUNTS: np.zeros((0, n_out), np.float32)}
        out = model.predict(feed, batch_size=batch_size, verbose=0)
        return {k: np.asarray(out[k], dtype=np.float32) for k in (PROFILE, LOGCOUNTS)}

    forward = run(inputs)
    if not rc_average:
        return forward
    rc_inputs = {SEQUENCE: np.ascontiguousarray(x[:, ::-1, ::-1])}
    if CONTROL_PROFILE in inputs:
        rc_inputs[CONTROL_PROFILE] = np.ascontiguousarray(inputs[CONTROL_PROFILE][:, ::-1, ::-1])
        rc_inputs[CONTROL_LOGCOUNTS] = np.ascontiguousarray(inputs[CONTROL_LOGCOUNTS][:, strand_swap(n_control)])
    reverse = run(rc_inputs)
    swap = strand_swap(forward[LOGCOUNTS].shape[1])
    return {
        PROFILE: 0.5 * (forward[PROFILE] + reverse[PROFILE][:, ::-1, swap]),
        LOGCOUNTS: 0.5 * (forward[LOGCOUNTS] + reverse[LOGCOUNTS][:, swap]),
    }


def predict_profile_probs(
    model: keras.Model,
    onehot: np.ndarray,
    control_profile: np.ndarray | None = None,
    control_logcounts: np.ndarray | None = None,
    batch_size: int = 256,
    rc_average: bool = True,
) -> np.ndarray:
    """Profile probabilities (n, out_pred_len, 2 * n_tasks) float32: softmax over positions (axis 1) of the
    (RC-averaged) logits of :func:`predict_outputs`, separately per strand/task channel; sums to 1 on axis 1.
    """
    logits = predict_outputs(model, onehot, control_profile, control_logcounts, batch_size, rc_average)[PROFILE]
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------------------------- save / load


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Atomically save ``model`` to a ``.keras`` file (weights + architecture, no optimizer needed), and its
    input contract (:func:`affdist_core.model.inputs.model_contract`) as ``inputs.json`` beside it."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"path: expected a file name ending in .keras, got {str(path)!r}")
    write_contract(model, path)
    with atomic_path(path) as tmp:
        model.save(tmp, overwrite=True)
    return path


def load_model(path: str | os.PathLike) -> keras.Model:
    """Load a model saved by :func:`save_model` (uncompiled; the custom layers are registered here).

    ``path``: the ``.keras`` file or its model directory (then ``model.keras`` in it). The model is checked
    against this code's input contract and the ``inputs.json`` beside it
    (:func:`affdist_core.model.inputs.check_contract`); a mismatch raises ``ModelContractError`` (a
    ``ValueError``) saying which key differs and to retrain; a model without ``inputs.json`` loads with a
    warning after the checks its graph allows.
    """
    path = Path(path)
    if path.is_dir():
        path = ModelDir.at(path).model
    if not path.is_file():
        raise ValueError(f"path: model file {str(path)!r} does not exist")
    model = keras.saving.load_model(path, compile=False)
    check_contract(model, read_contract(path), str(path))
    return model
