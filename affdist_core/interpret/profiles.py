"""Observed and predicted strand profiles of model windows: coordinates, genome and bigWig windows, predictions.

Everything here is a plain function of file paths, arrays or a Keras model (the app adds caching); Keras and
TensorFlow are imported only by :func:`predict_profiles`.

Coordinates. A peak window is centred on its summit ``c`` (the model's geometry, as in
:mod:`affdist_core.model.windows`): the input window is ``[c - seq_len // 2, c - seq_len // 2 + seq_len)``,
the output (profile) window ``[c - out_pred_len // 2, c - out_pred_len // 2 + out_pred_len)``. Tracks are
plotted against the **offset from the centre** (bp): input position ``i`` has offset ``i - seq_len // 2`` and
output position ``j`` offset ``j - out_pred_len // 2``, so contributions (input length) and profiles (output
length) line up base for base.

Predicted profiles are expected read counts per base and strand, as the model defines them: the softmax over
positions of the profile logits of a strand times that strand's predicted total ``exp(logcounts) - 1`` (the
counts head predicts ``log(1 + reads)`` per strand), RC-averaged like every prediction of the project (see
:func:`affdist_core.model.bpnet.predict_outputs`). For a model trained with a control track, a genome window
gets the control inputs read from the control bigWigs (:func:`control_inputs`, as in evaluation); a typed
sequence gets zeros. Both strands together sum to ``exp(predicted_log_counts) - 1``, the
``predicted_log_counts`` of the catalog's ``model_counts`` table.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd

from affdist_core.seq.alphabet import one_hot, validate_onehot

__all__ = [
    "PredictedProfiles",
    "STRANDS",
    "control_inputs",
    "input_offsets",
    "observed_profile",
    "output_offsets",
    "predict_profiles",
    "profile_frame",
    "window_onehot",
]

STRANDS = ("+", "-")


def output_offsets(out_pred_len: int) -> np.ndarray:
    """Offsets from the window centre (bp) of the output positions: (out_pred_len,) int64."""
    return np.arange(out_pred_len, dtype=np.int64) - out_pred_len // 2


def input_offsets(seq_len: int) -> np.ndarray:
    """Offsets from the window centre (bp) of the input positions: (seq_len,) int64."""
    return np.arange(seq_len, dtype=np.int64) - seq_len // 2


def observed_profile(plus_bigwig: str | os.PathLike, minus_bigwig: str | os.PathLike, chrom: str, centre: int,
                     out_pred_len: int) -> np.ndarray:
    """Observed read 5′-end counts of the output window centred on ``centre``: (out_pred_len, 2) float32,
    strands (+, −), read from the strand bigWigs."""
    from affdist_core.io.bigwig import strand_windows

    return strand_windows(plus_bigwig, minus_bigwig, [chrom], [int(centre) - out_pred_len // 2], out_pred_len)[0]


def control_inputs(control_plus_bigwig: str | os.PathLike, control_minus_bigwig: str | os.PathLike, chrom: str,
                   centre: int, out_pred_len: int, local_width: int) -> tuple[np.ndarray, np.ndarray]:
    """The model's control inputs for the window centred on ``centre``, transformed as in training
    (:func:`affdist_core.model.inputs.control_model_inputs`): ``control_profile`` (out_pred_len, 2) =
    log(1 + control counts) and ``control_logcounts`` (4,) = log(1 + control reads per strand in the window
    and within ``local_width`` bp of its centre: the model's
    :func:`~affdist_core.model.params.local_control_width`), float32."""
    from affdist_core.model.inputs import CONTROL_LOGCOUNTS, CONTROL_PROFILE, control_model_inputs

    inputs = control_model_inputs(observed_profile(control_plus_bigwig, control_minus_bigwig, chrom, centre,
                                                   out_pred_len), local_width)
    return inputs[CONTROL_PROFILE], inputs[CONTROL_LOGCOUNTS]


def window_onehot(genome_fasta: str | os.PathLike, chrom: str, centre: int, seq_len: int) -> np.ndarray:
    """One-hot genome sequence of the model input window centred on ``centre``: (seq_len, 4) float32."""
    from affdist_core.io.fasta import GenomeReader

    start = int(centre) - seq_len // 2
    genome = GenomeReader(genome_fasta)
    try:
        return one_hot(genome.fetch(chrom, start, start + seq_len))
    finally:
        genome.close()


@dataclasses.dataclass(frozen=True)
class PredictedProfiles:
    """Model predictions of ``n`` windows: ``counts`` (n, out_pred_len, 2) float64 expected reads per base and
    strand; ``logcounts`` (n, 2) predicted log(1 + reads) per strand; ``total_log_counts`` (n,) predicted
    log(1 + reads) over both strands (as in ``model_counts``)."""

    counts: np.ndarray
    logcounts: np.ndarray
    total_log_counts: np.ndarray


def predict_profiles(model, onehot: np.ndarray, control_profile: np.ndarray | None = None,
                     control_logcounts: np.ndarray | None = None) -> PredictedProfiles:
    """Predicted strand profiles of one-hot windows ``onehot`` (n, seq_len, 4) or (seq_len, 4) with a BPNet,
    RC-averaged (see the module docstring for the definition). ``control_profile`` (n, out_pred_len, 2) or
    (out_pred_len, 2) and ``control_logcounts`` (n, 4) or (4,): the control inputs of a model trained with a
    control track (:func:`control_inputs`); None → zeros (no control, e.g. for a typed sequence)."""
    from affdist_core.model.bpnet import predict_outputs
    from affdist_core.model.evaluate import total_log_counts
    from affdist_core.model.inputs import LOGCOUNTS, PROFILE

    single = np.ndim(onehot) == 2
    x = validate_onehot(onehot, "onehot", ndim=2 if single else 3)
    if single:
        x = x[None]
    if control_profile is not None and single:
        control_profile = np.asarray(control_profile)[None]
    if control_logcounts is not None and single:
        control_logcounts = np.asarray(control_logcounts)[None]
    out = predict_outputs(model, x, control_profile, control_logcounts)
    logits = out[PROFILE][..., :2].astype(np.float64)
    logcounts = out[LOGCOUNTS][:, :2].astype(np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    totals = np.expm1(logcounts).clip(min=0)
    return PredictedProfiles(counts=probs * totals[:, None, :], logcounts=logcounts,
                             total_log_counts=total_log_counts(logcounts))


def profile_frame(predicted: np.ndarray, observed: np.ndarray | None = None) -> pd.DataFrame:
    """Long table of one window's profiles for plotting/download: ``offset`` (bp from centre), ``strand``
    (+/−), ``predicted`` and (if given) ``observed`` reads. ``predicted``/``observed``: (out_pred_len, 2)."""
    predicted = np.asarray(predicted)
    if predicted.ndim != 2 or predicted.shape[1] != 2:
        raise ValueError(f"predicted: expected shape (out_pred_len, 2), got {predicted.shape}")
    if observed is not None and np.shape(observed) != predicted.shape:
        raise ValueError(f"observed: expected shape {predicted.shape}, got {np.shape(observed)}")
    offsets = output_offsets(len(predicted))
    frame = pd.DataFrame({"offset": np.tile(offsets, 2), "strand": np.repeat(STRANDS, len(offsets)),
                          "predicted": predicted.T.reshape(-1)})
    if observed is not None:
        frame["observed"] = np.asarray(observed, dtype=np.float64).T.reshape(-1)
    return frame
