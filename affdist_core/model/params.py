"""BPNet hyper-parameters: the seed's JSON keys, validated once, with the length arithmetic.

The parameter file has exactly the seed's keys (no more, no fewer)::

    seq_len, out_pred_len, c_task_weight, filters, n_dil_layers, conv1_kernel_size,
    dil_kernel_size, outconv_kernel_size, lr, genome_fasta, genome_sizes

Length arithmetic (all convolutions use ``valid`` padding; see :mod:`affdist_core.model.bpnet`):

* first conv, kernel ``conv1_kernel_size`` (dilation 1);
* ``n_dil_layers`` dilated convs, layer ``i = 1 .. n_dil_layers`` has kernel ``dil_kernel_size`` and
  dilation ``2**i`` (the seed BPNet schedule: 2, 4, 8, ...), each removes ``2**i * (dil_kernel_size - 1)``;
* profile conv, kernel ``outconv_kernel_size`` (dilation 1).

So ``body_length = seq_len - (conv1 - 1) - sum_i 2**i (dil - 1)`` and
``output_length = body_length - (outconv - 1)``. ``output_length`` must be ``>= out_pred_len``; when it is
larger, the model crops the centre ``out_pred_len`` positions. The seed's MAX config gives exactly
``1346 - 20 - 252 - 74 = 1000`` (no crop); the compact yeast config gives ``546 - 20 - 124 - 74 = 328``,
cropped centrally to 300.

Rules checked (``ValueError`` names the key(s), the value and what was expected):

* integer keys are ints (an integral float such as ``64.0`` is accepted), ``>= 1``; ``n_dil_layers >= 0``
  (0 means no dilated layers, handy for tiny test models);
* kernel sizes must be **odd**: an even kernel has no centre, so residual crops and the final crop could not
  be central and the model would not map a reverse-complemented input onto the mirrored output positions,
  which RC-averaged prediction relies on;
* ``seq_len - out_pred_len`` must be even, for the same reason (the central crop must be exact);
* ``lr`` finite and ``> 0``; ``c_task_weight`` finite and ``>= 0``;
* ``genome_fasta`` / ``genome_sizes`` are strings (paths; empty string = not set; JSON ``null`` → ``""``).

:class:`TrainingSettings` holds the training hyperparameters beyond these keys (batch size, epochs, seed, …).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from affdist_core.common.atomic import write_json
from affdist_core.common.checks import check_int, path_string, read_json_object, replace_fields

__all__ = [
    "BPNetParams",
    "PARAM_KEYS",
    "SEED_MAX_PARAMS",
    "TrainingSettings",
    "YEAST_COMPACT_PARAMS",
    "body_length",
    "dilations",
    "load_params",
    "output_length",
    "receptive_field",
    "save_params",
]

_INT_KEYS = (
    "seq_len",
    "out_pred_len",
    "filters",
    "n_dil_layers",
    "conv1_kernel_size",
    "dil_kernel_size",
    "outconv_kernel_size",
)
_KERNEL_KEYS = ("conv1_kernel_size", "dil_kernel_size", "outconv_kernel_size")
_FLOAT_KEYS = ("c_task_weight", "lr")
_PATH_KEYS = ("genome_fasta", "genome_sizes")


@dataclasses.dataclass(frozen=True)
class BPNetParams:
    """Validated BPNet hyper-parameters (the seed's keys). Construction validates; see the module docstring.

    ``c_task_weight`` (weight of the counts MSE relative to the profile NLL) and ``lr`` are training
    settings; the genome paths say which genome the model was trained on. None of these change the model
    graph.
    """

    seq_len: int
    out_pred_len: int
    c_task_weight: float
    filters: int
    n_dil_layers: int
    conv1_kernel_size: int
    dil_kernel_size: int
    outconv_kernel_size: int
    lr: float
    genome_fasta: str = ""
    genome_sizes: str = ""

    def __post_init__(self) -> None:
        for key in _INT_KEYS:
            object.__setattr__(self, key, check_int(key, getattr(self, key), 0 if key == "n_dil_layers" else 1))
        for key in _KERNEL_KEYS:
            value = getattr(self, key)
            if value % 2 == 0:
                raise ValueError(
                    f"{key}: expected an odd kernel size (so crops stay central and reverse-complement "
                    f"symmetric), got {value}"
                )
        object.__setattr__(self, "c_task_weight", _check_float("c_task_weight", self.c_task_weight, strict=False))
        object.__setattr__(self, "lr", _check_float("lr", self.lr, strict=True))
        for key in _PATH_KEYS:
            object.__setattr__(self, key, path_string(key, getattr(self, key)))
        _check_lengths(self)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict with exactly the seed's keys, in the seed's order."""
        return {key: getattr(self, key) for key in PARAM_KEYS}

    def replace(self, **changes: Any) -> BPNetParams:
        """A copy with ``changes`` applied (validated again)."""
        return replace_fields(self, changes, "BPNet parameter")


PARAM_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(BPNetParams))


def _check_float(key: str, value: Any, strict: bool) -> float:
    bound = "> 0" if strict else ">= 0"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key}: expected a finite number {bound}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (strict and value == 0):
        raise ValueError(f"{key}: expected a finite number {bound}, got {value!r}")
    return value


def dilations(params: BPNetParams) -> list[int]:
    """Dilation rate of each dilated layer: ``[2, 4, ..., 2**n_dil_layers]``."""
    return [2**i for i in range(1, params.n_dil_layers + 1)]


def body_length(params: BPNetParams) -> int:
    """Length of the body (after the first conv and all dilated convs): the counts head pools over it."""
    return (
        params.seq_len
        - (params.conv1_kernel_size - 1)
        - sum(d * (params.dil_kernel_size - 1) for d in dilations(params))
    )


def output_length(params: BPNetParams) -> int:
    """Profile length the valid convolutions leave (before the central crop to ``out_pred_len``).

    ``seq_len - (conv1 - 1) - sum_{i=1..n_dil} 2**i (dil - 1) - (outconv - 1)``. The model's profile output
    has length ``out_pred_len`` (``<=`` this); the difference is cropped equally from both ends.
    """
    return body_length(params) - (params.outconv_kernel_size - 1)


def receptive_field(params: BPNetParams) -> int:
    """Input positions that one profile output position depends on: ``seq_len - output_length + 1``.

    (The counts head pools over the whole body, so it sees all ``seq_len`` positions.)
    """
    return params.seq_len - output_length(params) + 1


def local_control_width(params: BPNetParams) -> int:
    """Width (bp) of the summit-centred control count the counts head gets beside the output window's total:
    the span of sequence that the summit's own output position reads (:func:`receptive_field`), at most
    ``out_pred_len``. The control over that span measures the chromatin the site's sequence sits in, as wide
    as the model's own view of it; a fixed width (150 bp until issue 25, "one nucleosome") equalled the
    simulator's accessibility window, so the width now follows the model's geometry instead."""
    return min(receptive_field(params), params.out_pred_len)


def _check_lengths(params: BPNetParams) -> None:
    keys = "seq_len, conv1_kernel_size, n_dil_layers, dil_kernel_size, outconv_kernel_size"
    formula = (
        f"seq_len {params.seq_len} - (conv1_kernel_size - 1) {params.conv1_kernel_size - 1} - "
        f"sum_i 2**i (dil_kernel_size - 1) {sum(d * (params.dil_kernel_size - 1) for d in dilations(params))} - "
        f"(outconv_kernel_size - 1) {params.outconv_kernel_size - 1}"
    )
    if body_length(params) <= 0 or output_length(params) <= 0:
        raise ValueError(
            f"{keys}: the valid convolutions leave no output ({formula} = {output_length(params)}); "
            f"increase seq_len or reduce the kernel sizes / n_dil_layers"
        )
    available = output_length(params)
    if params.out_pred_len > available:
        raise ValueError(
            f"out_pred_len: {params.out_pred_len} is longer than the {available} positions the convolutions "
            f"leave ({formula}); increase seq_len or lower out_pred_len, {keys}"
        )
    if (params.seq_len - params.out_pred_len) % 2:
        raise ValueError(
            f"seq_len, out_pred_len: seq_len - out_pred_len must be even so the output is the exact centre "
            f"of the input, got seq_len {params.seq_len} and out_pred_len {params.out_pred_len}"
        )


def load_params(
    path_or_dict: str | os.PathLike | Mapping[str, Any] | BPNetParams,
    defaults: Mapping[str, Any] | BPNetParams | None = None,
) -> BPNetParams:
    """Load BPNet parameters from a JSON file (path) or a mapping, merged over ``defaults``.

    ``defaults`` (mapping or :class:`BPNetParams`, e.g. :data:`YEAST_COMPACT_PARAMS`) fills keys the input
    lacks; without defaults every key is required. Raises ``ValueError`` naming missing keys, unknown keys
    (with the list of valid keys), bad values, or inconsistent lengths.
    """
    if isinstance(path_or_dict, BPNetParams):
        given: dict[str, Any] = path_or_dict.to_dict()
        source = "params"
    elif isinstance(path_or_dict, Mapping):
        given = dict(path_or_dict)
        source = "params"
    elif isinstance(path_or_dict, (str, os.PathLike)):
        source = str(Path(path_or_dict))
        given = read_json_object(path_or_dict, "path_or_dict", "parameter file")
    else:
        raise ValueError(
            f"path_or_dict: expected a JSON path, a mapping or BPNetParams, got {type(path_or_dict).__name__}"
        )

    if defaults is None:
        base: dict[str, Any] = {}
    elif isinstance(defaults, BPNetParams):
        base = defaults.to_dict()
    elif isinstance(defaults, Mapping):
        base = dict(defaults)
    else:
        raise ValueError(f"defaults: expected a mapping, BPNetParams or None, got {type(defaults).__name__}")

    for what, mapping in (("defaults", base), (source, given)):
        unknown = sorted(set(mapping) - set(PARAM_KEYS))
        if unknown:
            raise ValueError(f"{what}: unknown BPNet parameter key(s) {unknown}; valid keys: {list(PARAM_KEYS)}")
    merged = {**base, **given}
    missing = [key for key in PARAM_KEYS if key not in merged]
    if missing:
        raise ValueError(f"{source}: missing BPNet parameter key(s) {missing} and no default given for them")
    return BPNetParams(**merged)


def save_params(params: BPNetParams, path: str | os.PathLike) -> Path:
    """Atomically write ``params`` as JSON (the seed's keys) to ``path``; returns the path."""
    if not isinstance(params, BPNetParams):
        raise ValueError(f"params: expected BPNetParams, got {type(params).__name__}")
    return write_json(path, params.to_dict())


SEED_MAX_PARAMS = BPNetParams(
    seq_len=1346,
    out_pred_len=1000,
    c_task_weight=100.0,
    filters=64,
    n_dil_layers=6,
    conv1_kernel_size=21,
    dil_kernel_size=3,
    outconv_kernel_size=75,
    lr=0.001,
    genome_fasta="",
    genome_sizes="",
)
"""The seed's MAX / HeLa-S3 config: 1346 → exactly 1000 output positions, receptive field 347."""

YEAST_COMPACT_PARAMS = BPNetParams(
    seq_len=546,
    out_pred_len=300,
    c_task_weight=5000.0,
    filters=64,
    n_dil_layers=5,
    conv1_kernel_size=21,
    dil_kernel_size=3,
    outconv_kernel_size=75,
    lr=0.004,
    genome_fasta="",
    genome_sizes="",
)
"""Compact CPU config for yeast: 546 → 328 valid positions, centre 300 kept; receptive field 219.
lr 0.004 as in the BPNet paper (Avsec et al. 2021): a yeast dataset has only ~1,500 training peaks (~25 steps per
epoch), and the counts head needs many steps to learn from globally pooled features. c_task_weight 5000, ten times
the BPNet paper's rule (half the mean total counts per peak window): Affinity Distillation reads the counts head,
whose flank effects are small next to the profile loss (~3,000 per window); with 500 the shared body learned the
profile's features and the flanks' counts effects came out too weak, and much larger weights made training collapse
to a composition-only counts head (docs/experiments.md, "c_task_weight")."""

PARAM_PRESETS: dict[str, BPNetParams] = {"seed-max": SEED_MAX_PARAMS, "yeast-compact": YEAST_COMPACT_PARAMS}
"""Built-in parameter sets by name (``affdist train --params yeast-compact``)."""


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """Training hyperparameters beyond the seed's params JSON (:func:`affdist_core.model.train.train_bpnet`; kept
    here, free of Keras, so deciding whether a training is stale does not load TensorFlow).

    batch_size : examples per step (64). max_epochs : upper bound (200). patience : epochs without validation
    improvement before stopping (8). max_minutes : an optional wall-time *guard* (default None: off). Stopping is
    decided by epochs and patience only, so the same settings give the same model on any machine; a guard,
    when given, stops after the epoch that crosses it, warns that the model now depends on the machine's
    speed, and is recorded in ``training.json`` and the run's report (``training`` entry). jit_compile : XLA-compile the train step (faster on CPU here). seed :
    weight initialisation and batch order. lr_patience, lr_factor : multiply the learning rate by
    ``lr_factor`` after ``lr_patience`` epochs without validation improvement (Keras ReduceLROnPlateau; its
    counter restarts when a run resumes). min_epoch_examples : an epoch is at least this many training examples
    (1,024 = 16 steps of 64): a small peak set passes over its windows several times per epoch, each pass with
    fresh jitter and reverse complements, so patience and the learning-rate schedule count about the same number
    of optimizer steps whatever the number of peaks (a 700-peak TF would otherwise get ~12 steps per epoch).
    """

    batch_size: int = 64
    max_epochs: int = 200
    patience: int = 8
    max_minutes: float | None = None
    jit_compile: bool = True
    seed: int = 0
    lr_patience: int = 5
    lr_factor: float = 0.5
    min_epoch_examples: int = 1024

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_epochs", "patience", "lr_patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if (isinstance(self.min_epoch_examples, bool) or not isinstance(self.min_epoch_examples, int)
                or self.min_epoch_examples < 0):
            raise ValueError(f"min_epoch_examples: expected an integer >= 0, got {self.min_epoch_examples!r}")
        if not 0 < self.lr_factor <= 1:
            raise ValueError(f"lr_factor: expected a number in (0, 1], got {self.lr_factor!r}")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ValueError(f"max_minutes: expected a positive number or None, got {self.max_minutes!r}")
