"""The model's input contract: input names and shapes, the control transform, the layer names, and the check
that a saved model matches them.

What BPNet takes (:func:`affdist_core.model.bpnet.build_bpnet`), per example:

* ``"sequence"`` (seq_len, 4) float32 one-hot ``ACGT`` (N = zero row);
* with control: ``"control_profile"`` (out_pred_len, 2) = ``log1p`` of the control reads per position and
  strand, and ``"control_logcounts"`` (:data:`CONTROL_LOGCOUNTS_WIDTH` = 4,) = ``log1p`` of
  ``[total +, total −, local +, local −]`` (the reads per strand over the output window and within
  :func:`~affdist_core.model.params.local_control_width` bp of the summit, the span one output position reads;
  :func:`control_model_inputs`). The accessibility branch's
  prediction of the control (:mod:`affdist_core.model.accessibility`) is computed inside the graph from
  ``"sequence"``; it is not an input.

Outputs: ``"profile"`` (out_pred_len, 2 × n_tasks) logits and ``"logcounts"`` (2 × n_tasks,) log1p(totals).

:data:`LAYERS` is the one table of layer names: ``build_bpnet`` names its layers from it and every lookup
(``counts_model``, the trainer, the tests) reads it. :func:`model_contract` is what
:func:`~affdist_core.model.bpnet.save_model` stores as ``inputs.json`` beside every model;
:func:`check_contract` (called by ``load_model``) refuses a model whose stored contract differs from this
code's. :func:`assemble_examples` / :func:`fixed_arrays` build the input dicts from a
:class:`~affdist_core.model.windows.WindowSet`. No Keras import here: models are inspected by duck typing.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from affdist_core.common.atomic import write_json
from affdist_core.common.checks import read_json_object
from affdist_core.common.names import INPUTS_FILE
from affdist_core.model.params import BPNetParams, local_control_width
from affdist_core.model.windows import WindowSet
from affdist_core.seq.alphabet import ONE_HOT_TABLE

log = logging.getLogger(__name__)

__all__ = [
    "CONTRACT_VERSION",
    "CONTROL_LOGCOUNTS_WIDTH",
    "LOCAL_CONTROL_RULE",
    "INPUT_NAMES",
    "LAYERS",
    "LayerNames",
    "ModelContractError",
    "assemble_examples",
    "check_contract",
    "check_geometry",
    "control_model_inputs",
    "fixed_arrays",
    "input_shapes",
    "local_control_counts",
    "model_contract",
    "read_contract",
    "strand_swap",
    "write_contract",
]

#: Version of the contract below; bump it when the meaning of an input changes without its name or shape.
#: 2 (issue 25): the local control count's width follows the model's geometry
#: (:func:`~affdist_core.model.params.local_control_width`) instead of a fixed 150 bp.
CONTRACT_VERSION = 2

#: How the width of the summit-centred control count is set (stored in every model's contract): the span of
#: sequence one output position reads (:func:`~affdist_core.model.params.local_control_width`).
LOCAL_CONTROL_RULE = "receptive_field"
#: Length of the ``control_logcounts`` input: ``[total +, total −, local +, local −]``.
CONTROL_LOGCOUNTS_WIDTH = 4
#: Strands per task (+, −), in every profile and count array.
N_STRANDS = 2

SEQUENCE = "sequence"
CONTROL_PROFILE = "control_profile"
CONTROL_LOGCOUNTS = "control_logcounts"
#: Every input a BPNet may have, in the order ``build_bpnet`` declares them.
INPUT_NAMES = (SEQUENCE, CONTROL_PROFILE, CONTROL_LOGCOUNTS)
#: The model's two outputs (also the target names of the batches).
PROFILE = "profile"
LOGCOUNTS = "logcounts"


@dataclasses.dataclass(frozen=True)
class LayerNames:
    """Names of BPNet's layers (``build_bpnet``) and of the counts model's (``counts_model``).

    Names with ``{i}`` are per dilated layer (``i`` = 1..n_dil_layers): use :meth:`dilated`. Without control
    the sequence heads are named :attr:`profile` / :attr:`logcounts` themselves (no ``*_seq`` layers).
    """

    sequence: str = SEQUENCE
    control_profile: str = CONTROL_PROFILE
    control_logcounts: str = CONTROL_LOGCOUNTS
    conv1: str = "conv1"
    dil_conv: str = "dil_conv{i}"
    crop: str = "crop{i}"
    residual: str = "residual{i}"
    pool: str = "pool"
    profile_crop: str = "profile_crop"
    profile_seq: str = "profile_seq"
    logcounts_seq: str = "logcounts_seq"
    profile: str = PROFILE
    logcounts: str = LOGCOUNTS
    control_profile_conv: str = "control_profile_conv"
    access_conv1: str = "access_conv1"
    access_conv2: str = "access_conv2"
    access_bins: str = "access_bins"
    access_flat: str = "access_flat"
    access_hidden: str = "access_hidden"
    access_logcounts: str = "access_logcounts"
    access_offset: str = "access_offset"
    nuisance_features: str = "nuisance_features"
    nuisance_norm: str = "nuisance_norm"
    bound_hidden: str = "bound_hidden"
    bound_nuisance: str = "bound_nuisance"
    bound_logcounts: str = "bound_logcounts"
    background_hidden: str = "background_hidden"
    background_logcounts: str = "background_logcounts"
    control_logcounts_dense: str = "control_logcounts_dense"
    total_logcounts: str = "total_logcounts"
    reverse_complement: str = "reverse_complement"
    rc_average: str = "rc_average"

    def dilated(self, i: int) -> tuple[str, str, str]:
        """``(conv, crop, residual)`` names of dilated layer ``i`` (1-based)."""
        return self.dil_conv.format(i=i), self.crop.format(i=i), self.residual.format(i=i)

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


LAYERS = LayerNames()
"""The one table of layer names."""


class ModelContractError(ValueError):
    """A saved model does not match this code's input contract (retrain it)."""


def input_shapes(seq_len: int, out_pred_len: int, use_control: bool) -> dict[str, tuple[int, ...]]:
    """Per-example shapes of the model's inputs (no batch axis), in :data:`INPUT_NAMES` order."""
    shapes: dict[str, tuple[int, ...]] = {SEQUENCE: (int(seq_len), 4)}
    if use_control:
        shapes[CONTROL_PROFILE] = (int(out_pred_len), N_STRANDS)
        shapes[CONTROL_LOGCOUNTS] = (CONTROL_LOGCOUNTS_WIDTH,)
    return shapes


# ----------------------------------------------------------------------------------------------- control


def local_control_counts(control_counts: np.ndarray, width: int) -> np.ndarray:
    """Control reads per strand in the central ``width`` bp of centred windows (..., L, 2) → (..., 2) float32.

    The window ``[L // 2 - width // 2, L // 2 - width // 2 + width)`` (all of it when ``L <= width``, so for
    an out_pred_len below the width the local count is the window total): for summit-centred windows, the
    reads around the site itself.
    """
    control_counts = np.asarray(control_counts)
    start = max(0, control_counts.shape[-2] // 2 - width // 2)
    return control_counts[..., start : start + width, :].sum(axis=-2, dtype=np.float32)


def control_model_inputs(control_counts: np.ndarray, local_width: int | None = None,
                         local_counts: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """BPNet's control inputs from raw control counts (..., out_pred_len, 2) of summit-centred windows.

    Returns ``"control_profile"`` = log1p(counts), same shape, and ``"control_logcounts"`` (..., 4) =
    log1p of ``[total +, total −, local +, local −]``: the reads per strand over the whole output window and
    within ``local_width`` bp of the summit (the model's
    :func:`~affdist_core.model.params.local_control_width`; :func:`local_control_counts` of ``control_counts``)
    unless ``local_counts`` (..., 2) is given — the trainer's jittered crops pass the summit's own.
    """
    control_counts = np.asarray(control_counts, dtype=np.float32)
    if local_counts is None:
        if local_width is None:
            raise ValueError("control_model_inputs: pass local_width (the model's local_control_width) or "
                             "local_counts")
        local = local_control_counts(control_counts, int(local_width))
    else:
        local = np.asarray(local_counts, np.float32)
    totals = np.concatenate([control_counts.sum(axis=-2), local], axis=-1)
    return {CONTROL_PROFILE: np.log1p(control_counts), CONTROL_LOGCOUNTS: np.log1p(totals)}


def strand_swap(n_channels: int) -> np.ndarray:
    """Column order that swaps + and − of ``n_channels`` strand-interleaved columns (a reverse complement):
    ``[1, 0, 3, 2, ...]``."""
    return np.arange(n_channels).reshape(-1, 2)[:, ::-1].reshape(-1)


# ----------------------------------------------------------------------------------------------- examples


def check_geometry(windows: WindowSet, params: BPNetParams) -> None:
    """ValueError unless ``windows`` is a WindowSet cut for ``params``' seq_len/out_pred_len."""
    if not isinstance(windows, WindowSet):
        raise ValueError(f"windows: expected a WindowSet (see extract_windows), got {type(windows).__name__}")
    if (windows.seq_len, windows.out_pred_len) != (params.seq_len, params.out_pred_len):
        raise ValueError(
            f"params: seq_len/out_pred_len {params.seq_len}/{params.out_pred_len} differ from the windows' "
            f"{windows.seq_len}/{windows.out_pred_len}; extract the windows with the same params"
        )


def assemble_examples(
    windows: WindowSet,
    index: np.ndarray,
    shifts: np.ndarray,
    rc: np.ndarray,
    use_control: bool,
    local_width: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cut (and reverse-complement where ``rc``) the windows ``index`` (b,) at jitter ``shifts`` (b,) bp.
    ``local_width``: the model's :func:`~affdist_core.model.params.local_control_width` (required when the
    windows have a control track and ``use_control``).

    Returns ``(inputs, targets)`` as described in :func:`fixed_arrays` (b examples)."""
    J, L, P = windows.max_jitter, windows.seq_len, windows.out_pred_len
    offsets = (J + shifts)[:, None]
    rows = index[:, None]
    sequence = ONE_HOT_TABLE[windows.codes[rows, offsets + np.arange(L)]]
    profile = windows.counts[rows, offsets + np.arange(P)].astype(np.float32)
    if rc.any():
        sequence[rc] = sequence[rc][:, ::-1, ::-1]
        profile[rc] = profile[rc][:, ::-1][..., strand_swap(profile.shape[-1])]  # strands swap within each task
    targets = {PROFILE: profile, LOGCOUNTS: np.log1p(profile.sum(axis=1))}
    inputs = {SEQUENCE: sequence}
    if use_control:
        if windows.control is None:
            inputs[CONTROL_PROFILE] = np.zeros((len(index), P, N_STRANDS), dtype=np.float32)
            inputs[CONTROL_LOGCOUNTS] = np.zeros((len(index), CONTROL_LOGCOUNTS_WIDTH), dtype=np.float32)
        else:
            control = windows.control[rows, offsets + np.arange(P)].astype(np.float32)
            # The local count sits at the summit (the stored window's centre) whatever the jitter.
            if local_width is None:
                raise ValueError("assemble_examples: local_width is required for windows with a control track")
            local = local_control_counts(windows.control[index], min(int(local_width), P))
            if rc.any():
                control[rc] = control[rc][:, ::-1, ::-1]
                local[rc] = local[rc][:, ::-1]
            inputs.update(control_model_inputs(control, local_counts=local))
    return inputs, targets


def fixed_arrays(
    windows: WindowSet, params: BPNetParams, use_control: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Centred (no jitter, forward strand) inputs and targets of every window, in WindowSet order.

    Returns ``(inputs, targets)``: inputs ``"sequence"`` (n, seq_len, 4) float32 one-hot, and with
    ``use_control`` ``"control_profile"`` (n, out_pred_len, 2) = log1p(control counts) and
    ``"control_logcounts"`` (n, 4) (:func:`control_model_inputs`; zeros when the windows have no control);
    targets ``"profile"`` (n, out_pred_len, 2 × n_tasks) float32 raw counts and ``"logcounts"`` (n, 2 × n_tasks)
    = log1p(total per strand over out_pred_len).
    """
    check_geometry(windows, params)
    n = len(windows)
    return assemble_examples(windows, np.arange(n), np.zeros(n, np.int64), np.zeros(n, bool), use_control,
                             local_control_width(params))


# ----------------------------------------------------------------------------------------------- contract


def _shape(tensor: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(tensor.shape)[1:]]


def _named(struct: Any, tensors: list[Any]) -> dict[str, Any]:
    if isinstance(struct, dict):
        return dict(struct)
    return {str(t.name): t for t in tensors}


def model_contract(model: Any) -> dict[str, Any]:
    """The contract of a built BPNet (what ``inputs.json`` holds): version, the input and output shapes of
    ``model`` (no batch axis), :data:`LOCAL_CONTROL_RULE`, :data:`CONTROL_LOGCOUNTS_WIDTH` and :data:`LAYERS`."""
    inputs = _named(model.input, model.inputs)
    outputs = _named(model.output, model.outputs)
    return {
        "contract_version": CONTRACT_VERSION,
        "inputs": {name: _shape(inputs[name]) for name in INPUT_NAMES if name in inputs}
        | {name: _shape(t) for name, t in inputs.items() if name not in INPUT_NAMES},
        "outputs": {name: _shape(t) for name, t in outputs.items()},
        "local_control_rule": LOCAL_CONTROL_RULE,
        "control_logcounts_width": CONTROL_LOGCOUNTS_WIDTH,
        "layer_names": LAYERS.to_dict(),
    }


def contract_path(model_file: str | os.PathLike) -> Path:
    """Where the contract of the model saved as ``model_file`` lives: ``inputs.json`` beside it."""
    return Path(model_file).parent / INPUTS_FILE


def write_contract(model: Any, model_file: str | os.PathLike) -> Path:
    """Atomically write :func:`model_contract` of ``model`` beside ``model_file``; returns its path."""
    return write_json(contract_path(model_file), model_contract(model))


def read_contract(model_file: str | os.PathLike) -> dict[str, Any] | None:
    """The stored contract beside ``model_file`` (a dict), or None when there is none."""
    path = contract_path(model_file)
    if not path.is_file():
        return None
    return read_json_object(path, INPUTS_FILE, "model input contract")


_RETRAIN = "retrain the model with `affdist train` (or `affdist demo --force` for a demo run)"


def _structure_problems(model: Any) -> list[str]:
    """What the model itself shows against this code: input names and shapes, and the layers looked up."""
    problems = []
    inputs = {name: _shape(t) for name, t in _named(model.input, model.inputs).items()}
    unknown = sorted(set(inputs) - set(INPUT_NAMES))
    if unknown:
        problems.append(f"inputs: expected names among {list(INPUT_NAMES)}, got {unknown}")
    if SEQUENCE not in inputs or len(inputs[SEQUENCE]) != 2 or inputs[SEQUENCE][1] != 4:
        problems.append(f"inputs.{SEQUENCE}: expected shape [seq_len, 4], got {inputs.get(SEQUENCE)}")
    if CONTROL_LOGCOUNTS in inputs and inputs[CONTROL_LOGCOUNTS] != [CONTROL_LOGCOUNTS_WIDTH]:
        problems.append(f"inputs.{CONTROL_LOGCOUNTS}: expected shape [{CONTROL_LOGCOUNTS_WIDTH}] (total and "
                        f"local control reads per strand), got {inputs[CONTROL_LOGCOUNTS]}")
    if CONTROL_PROFILE in inputs and (len(inputs[CONTROL_PROFILE]) != 2 or inputs[CONTROL_PROFILE][1] != N_STRANDS):
        problems.append(f"inputs.{CONTROL_PROFILE}: expected shape [out_pred_len, {N_STRANDS}], got "
                        f"{inputs[CONTROL_PROFILE]}")
    if (CONTROL_PROFILE in inputs) != (CONTROL_LOGCOUNTS in inputs):
        problems.append(f"inputs: expected both {CONTROL_PROFILE} and {CONTROL_LOGCOUNTS} or neither, got "
                        f"{sorted(inputs)}")
    names = {layer.name for layer in model.layers}
    counts = LAYERS.logcounts_seq if CONTROL_PROFILE in inputs else LAYERS.logcounts
    wanted = [LAYERS.conv1, LAYERS.pool, counts]
    i = 1
    while LAYERS.dilated(i)[0] in names:
        wanted += LAYERS.dilated(i)[1:]
        i += 1
    missing = [name for name in wanted if name not in names]
    if missing:
        problems.append(f"layer_names: the model has no layer(s) {missing}, which this code looks up")
    return problems


def check_contract(model: Any, stored: dict[str, Any] | None, source: str) -> None:
    """Check a loaded ``model`` against this code's contract and its stored contract ``stored``.

    Always checks what the model shows (input names and shapes, the layers the code looks up). With
    ``stored`` (the ``inputs.json`` beside the model): every code-side key (version, widths, layer names)
    must equal this code's value and the stored input/output shapes must be the model's. Without: logs a
    warning. Raises :class:`ModelContractError` naming ``source``, the key, the stored and the expected value.
    """
    problems = _structure_problems(model)
    if problems:
        raise ModelContractError(f"{source}: the model does not match this code's input contract: "
                                 f"{'; '.join(problems)}; {_RETRAIN}")
    expected = model_contract(model)
    if stored is None:
        log.warning("%s: no %s beside the model (saved before model contracts were stored); checked its input "
                    "names and shapes and layer names only", source, INPUTS_FILE)
        return
    for key in ("contract_version", "local_control_rule", "control_logcounts_width", "layer_names"):
        if stored.get(key) != expected[key]:
            raise ModelContractError(
                f"{source}: {INPUTS_FILE}: {key}: the model was saved with {stored.get(key)!r}, this code expects "
                f"{expected[key]!r}; the model's input contract changed since it was trained: {_RETRAIN}"
            )
    for key in ("inputs", "outputs"):
        if stored.get(key) != expected[key]:
            raise ModelContractError(
                f"{source}: {INPUTS_FILE}: {key}: it records {stored.get(key)!r} but the model has "
                f"{expected[key]!r}; the file belongs to another model: {_RETRAIN}"
            )
