"""The accessibility branch: a small sequence model of the control track, learned from the control alone.

How much a site's reads depend on its chromatin (how open it is, how well the library captures it) is not
the TF's affinity, and a model of the ChIP reads that cannot tell the two apart reads "open-looking DNA next
to the site = more reads" into its sequence head, where marginalization takes it for binding energy. The
control track (input / IgG / MNase of the same cells) measures the chromatin and the library without the
factor, so the way *its* reads depend on sequence is the chromatin's and the library's rule, whatever that
rule is in the user's organism. This module learns that rule, the way ChromBPNet learns its bias model
before the TF model (Pampari et al. 2024): before BPNet trains, a small network is fitted to predict the
control's log counts from sequence alone::

    sequence (seq_len, 4)
      → Conv1D(ACCESS_FILTERS, ACCESS_KERNEL, relu)                            name "access_conv1"
      → Conv1D(ACCESS_FILTERS, ACCESS_KERNEL, dilation ACCESS_DILATION, relu)  name "access_conv2"
      → AveragePooling1D into ACCESS_BINS equal bins, flatten                  names "access_bins", "access_flat"
      → Dense(ACCESS_HIDDEN, relu) → Dense(4)                                   names "access_hidden", "access_logcounts"
      = predicted log1p control reads [total +, total −, local +, local −], minus their training mean

The bins let the output weigh the centre and the flanks of the window differently (the local count is the
summit's neighbourhood) without a hand-chosen window; nothing in it counts particular bases or runs. It is
trained with MSE on the training windows and their reverse complements (strands swapped), early-stopped on
the validation windows, then **frozen**: BPNet's counts head reads its output as nuisance features next to
the observed control (:func:`affdist_core.model.bpnet.build_bpnet`), and BPNet's own training cannot move
it, so binding cannot leak into it. Marginalization and DeepSHAP read only the sequence part of the counts
head (:func:`affdist_core.model.bpnet.counts_model`), never this branch.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import keras
import numpy as np

from affdist_core.model.inputs import CONTROL_LOGCOUNTS, LAYERS, SEQUENCE, fixed_arrays, strand_swap
from affdist_core.model.params import BPNetParams

log = logging.getLogger(__name__)

__all__ = ["ACCESS_LAYER_NAMES", "accessibility_branch", "accessibility_windows", "copy_accessibility",
           "fit_accessibility"]

#: Filters of each conv of the branch.
ACCESS_FILTERS = 32
#: Kernel size of both convs (odd). One binned feature sees K + (K − 1) × dilation = 41 bp of sequence.
ACCESS_KERNEL = 9
#: Dilation of the second conv.
ACCESS_DILATION = 4
#: Equal bins the conv features are averaged over (positions left over at the ends are dropped).
ACCESS_BINS = 8
#: Hidden units before the output.
ACCESS_HIDDEN = 32
#: Training: Adam learning rate, batch size, epoch limit, early-stopping patience. No wall-time limit: a
#: 3-minute one (until issue 25) stopped the branch after 17 epochs on a quiet machine and 12 on a busy one,
#: so the same run trained different models.
ACCESS_LR = 1e-3
ACCESS_BATCH = 128
ACCESS_MAX_EPOCHS = 20
ACCESS_PATIENCE = 3
#: Non-peak windows per peak the branch trains on: the control is measured everywhere, not only at peaks, and
#: the chromatin's sequence rule is learned best from the whole genome (GC-matched non-peak windows,
#: :func:`affdist_core.model.windows.extract_windows`).
ACCESS_BACKGROUND_PER_PEAK = 10.0

#: Every layer of the branch, in graph order (all frozen after :func:`fit_accessibility`).
ACCESS_LAYER_NAMES = (LAYERS.access_conv1, LAYERS.access_conv2, LAYERS.access_bins, LAYERS.access_flat,
                      LAYERS.access_hidden, LAYERS.access_logcounts)


def accessibility_branch(sequence, n_outputs: int = 4):
    """Apply the branch's (new) layers to the one-hot ``sequence`` tensor (batch, L, 4) → (batch, n_outputs)."""
    layers = keras.layers
    x = layers.Conv1D(ACCESS_FILTERS, ACCESS_KERNEL, activation="relu", name=LAYERS.access_conv1)(sequence)
    x = layers.Conv1D(ACCESS_FILTERS, ACCESS_KERNEL, dilation_rate=ACCESS_DILATION, activation="relu",
                      name=LAYERS.access_conv2)(x)
    length = int(x.shape[1])
    if length < ACCESS_BINS:
        raise ValueError(f"seq_len: the accessibility branch needs at least "
                         f"{ACCESS_BINS + (ACCESS_KERNEL - 1) * (1 + ACCESS_DILATION)} bp of input")
    pool = length // ACCESS_BINS
    x = layers.AveragePooling1D(pool, strides=pool, name=LAYERS.access_bins)(x)
    x = layers.Flatten(name=LAYERS.access_flat)(x)
    x = layers.Dense(ACCESS_HIDDEN, activation="relu", name=LAYERS.access_hidden)(x)
    return layers.Dense(n_outputs, name=LAYERS.access_logcounts)(x)


def _examples(windows, params: BPNetParams, with_rc: bool) -> tuple[np.ndarray, np.ndarray]:
    inputs = fixed_arrays(windows, params, use_control=True)[0]
    x, y = inputs[SEQUENCE], inputs[CONTROL_LOGCOUNTS]
    if with_rc:
        x = np.concatenate([x, x[:, ::-1, ::-1]])
        y = np.concatenate([y, y[:, strand_swap(y.shape[1])]])  # a reverse complement swaps strands
    return x, y


def accessibility_windows(spec, params: BPNetParams):
    """``(train, valid)`` windows for the branch: every peak of the split plus
    :data:`ACCESS_BACKGROUND_PER_PEAK` GC-matched non-peak windows per peak, with the control track."""
    import dataclasses

    from affdist_core.model.windows import extract_windows

    wide = dataclasses.replace(spec, background_fraction=ACCESS_BACKGROUND_PER_PEAK)
    return (extract_windows(wide, params, "train"),
            extract_windows(wide, params, "valid", include_background=True))


def fit_accessibility(model: keras.Model, train, valid, params: BPNetParams) -> dict[str, Any]:
    """Fit ``model``'s accessibility branch to the control log counts of ``train`` (early-stopped on
    ``valid``; both :class:`~affdist_core.model.windows.WindowSet` with control, e.g. from
    :func:`accessibility_windows`), then freeze it.

    Returns a record for ``training.json``: epochs, validation MSE, and the validation Pearson r of predicted
    vs observed total and local control log counts (how much of the control the sequence explains).
    """
    started = time.time()
    sequence = model.input[SEQUENCE] if isinstance(model.input, dict) else model.get_layer(LAYERS.sequence).output
    branch = keras.Model(sequence, model.get_layer(LAYERS.access_logcounts).output, name="accessibility")
    x, y = _examples(train, params, with_rc=True)
    vx, vy = _examples(valid, params, with_rc=False)
    last = branch.get_layer(LAYERS.access_logcounts)
    kernel, bias = last.get_weights()
    last.set_weights([kernel, y.mean(axis=0).astype(bias.dtype)])  # start at the mean: learn the sequence part
    branch.compile(optimizer=keras.optimizers.Adam(ACCESS_LR), loss="mse")
    stop = keras.callbacks.EarlyStopping(patience=ACCESS_PATIENCE, restore_best_weights=True)
    history = branch.fit(x, y, batch_size=ACCESS_BATCH, epochs=ACCESS_MAX_EPOCHS, validation_data=(vx, vy),
                         shuffle=True, callbacks=[stop], verbose=0)
    kernel, bias = last.get_weights()  # centre the output on its training mean (it also enters as an offset)
    last.set_weights([kernel, bias - branch.predict(x, batch_size=256, verbose=0).mean(axis=0).astype(bias.dtype)])
    for name in ACCESS_LAYER_NAMES:
        model.get_layer(name).trainable = False
    predicted = branch.predict(vx, batch_size=256, verbose=0)
    r = [float(np.corrcoef(predicted[:, j], vy[:, j])[0, 1]) if vy[:, j].std() > 0 else float("nan")
         for j in range(vy.shape[1])]
    record = {"windows": {"train": len(train), "valid": len(valid)}, "epochs": len(history.history["loss"]),
              "valid_mse": float(min(history.history["val_loss"])),
              "valid_r_total": round(float(np.nanmean(r[:2])), 4), "valid_r_local": round(float(np.nanmean(r[2:])), 4),
              "wall_s": round(time.time() - started, 1)}
    log.info("accessibility branch: %d epochs in %.0f s; validation r with the control's log counts: total %.3f, "
             "local %.3f", record["epochs"], record["wall_s"], record["valid_r_total"], record["valid_r_local"])
    return record


def copy_accessibility(model: keras.Model, source: keras.Model, source_record: dict[str, Any] | None = None,
                       source_name: str = "") -> dict[str, Any]:
    """Give ``model`` the fitted, frozen accessibility branch of ``source`` (another BPNet of the same data and
    geometry, e.g. an ensemble's primary model) instead of fitting its own: the branch models the control,
    which does not change between members, so an ensemble fits it once. Raises ValueError naming the layer
    when ``source`` has no branch or one of another shape.

    Returns the record for ``training.json``: ``source_record`` (the source's own branch record) with
    ``shared_from`` = ``source_name``."""
    started = time.time()
    for name in ACCESS_LAYER_NAMES:
        try:
            weights = source.get_layer(name).get_weights()
        except ValueError:
            raise ValueError(f"{source_name or 'source'}: the model has no accessibility layer {name!r}; train it "
                             "with a control track") from None
        target = model.get_layer(name)
        shapes = [w.shape for w in target.get_weights()]
        if shapes != [w.shape for w in weights]:
            raise ValueError(f"{source_name or 'source'}: accessibility layer {name!r} has weights {[w.shape for w in weights]}, "
                             f"this model's {shapes}: the models differ in geometry")
        target.set_weights(weights)
        target.trainable = False
    record = {**(source_record or {}), "shared_from": str(source_name), "copy_wall_s": round(time.time() - started, 2)}
    log.info("accessibility branch: shared from %s (fitted once for the ensemble)", source_name or "the source model")
    return record
