"""Training a BPNet on ChIP-nexus windows: losses, early stopping, resumable checkpoints, outputs.

Loss = multinomial NLL of each strand's profile + ``c_task_weight`` × MSE of log(1 + strand total)
(:mod:`affdist_core.model.losses`), Adam(``lr``), RC augmentation and jitter from
:class:`affdist_core.model.batches.BatchGenerator`. Early stopping on the validation loss (``patience``
epochs), best weights restored; the learning rate halves after 5 epochs without improvement. Stopping depends on
epochs and patience only, never on the machine's speed; an optional wall-time guard (``max_minutes``, off by
default) stops cleanly after the epoch that crosses it, logs a warning and is recorded (``wall_time_guard``).

The model directory (``--out``, :class:`affdist_core.common.names.ModelDir`) holds::

    model.keras        the trained model (best validation loss)
    params.json        the resolved BPNet parameters (the seed's keys)
    data.json          the data spec used (genome, bigWigs, peaks, split)
    training.json      training settings, fingerprint, chromosome split, window counts, stop reason, wall time
    history.json       per-epoch losses
    checkpoint/        last-epoch model + best weights + state: an interrupted run resumes from here

Resuming: run the same command again; training continues after the last finished epoch with the same early
stopping state. ``model.keras`` is written (atomically) only when training has finished. The checkpoint
records the training's fingerprint (:func:`training_fingerprint`: parameters, data spec and the identities of
its files, the settings that shape the trajectory — seed included —, and the training code's version); a run
with another fingerprint does not resume it: it logs a warning, deletes the checkpoint (and a finished model's
``model.keras``/``training.json``) and starts afresh. The stopping rules (``max_epochs``, ``patience``,
``max_minutes``) are not part of it: raising them continues a training.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from affdist_core.common.atomic import atomic_path, write_json
from affdist_core.common.fingerprint import code_version, digest, file_identity
from affdist_core.common.names import CHECKPOINT_STATE_FILE, LAST_CHECKPOINT_FILE, ModelDir
from affdist_core.model.accessibility import accessibility_windows, copy_accessibility, fit_accessibility
from affdist_core.model.bpnet import build_bpnet, load_model, save_model, sequence_counts_head
from affdist_core.model.params import BPNetParams, TrainingSettings, save_params
from affdist_core.model.losses import MultinomialNLL
from affdist_core.model.batches import BatchGenerator
from affdist_core.model.data_spec import DataSpec, save_data_spec, split_chromosomes
from affdist_core.model.inputs import LAYERS, LOGCOUNTS, PROFILE, fixed_arrays
from affdist_core.model.windows import extract_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_bpnet` produced."""

    model_dir: Path
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    stop_reason: str
    wall_s: float


#: Settings that only say when to stop; a checkpoint resumes under other values of these (train longer).
STOPPING_FIELDS = ("max_epochs", "patience", "max_minutes")

#: ``stop_reason`` when the optional wall-time guard (``max_minutes``) ended a training.
WALL_TIME_GUARD_REASON = "wall-time guard reached (max_minutes): the model depends on the machine's speed"

#: Best weights inside the checkpoint directory.
BEST_WEIGHTS_FILE = "best.weights.h5"


def fingerprint_parts(params: BPNetParams, spec: DataSpec, settings: TrainingSettings,
                      accessibility_from: str | os.PathLike | None = None) -> dict[str, str]:
    """Digests of what a training's result depends on: ``params``, ``data`` (the spec and its files' size and
    mtime), ``settings`` (all but :data:`STOPPING_FIELDS`), ``code`` (this module and what it imports) and,
    when the accessibility branch is shared from another model directory, ``accessibility`` (that model's
    training fingerprint: retraining the source retrains this model)."""
    spec_dict = spec.to_dict()
    files = {k: file_identity(v) for k, v in sorted(spec_dict.items()) if isinstance(v, str) and v}
    for task in spec.extra_tasks:
        files.update({f"{task.name}.{k}": file_identity(getattr(task, k))
                      for k in ("plus_bigwig", "minus_bigwig", "peaks")})
    trajectory = {k: v for k, v in dataclasses.asdict(settings).items() if k not in STOPPING_FIELDS}
    parts = {"params": digest(dataclasses.asdict(params)), "data": digest({"spec": spec_dict, "files": files}),
             "settings": digest(trajectory), "code": digest(code_version([__name__]))}
    if accessibility_from is not None:
        parts["accessibility"] = digest(_source_fingerprint(accessibility_from))
    return parts


def _source_fingerprint(model_dir: str | os.PathLike) -> str:
    """The training fingerprint recorded in a finished model directory ("" when it has none yet)."""
    path = ModelDir.at(model_dir).training
    return str(json.loads(path.read_text()).get("fingerprint", "")) if path.is_file() else ""


def training_fingerprint(params: BPNetParams, spec: DataSpec, settings: TrainingSettings,
                         accessibility_from: str | os.PathLike | None = None) -> str:
    """One digest of :func:`fingerprint_parts`: equal fingerprints train the same model."""
    return digest(fingerprint_parts(params, spec, settings, accessibility_from))


def finished_training(model_dir: str | os.PathLike, params: BPNetParams, spec: DataSpec,
                      settings: TrainingSettings, accessibility_from: str | os.PathLike | None = None) -> bool:
    """True when ``model_dir`` holds a finished model of exactly this training (same fingerprint and the same
    stopping rules), so it need not be trained again."""
    paths = ModelDir.at(model_dir)
    if not (paths.training.is_file() and paths.model.is_file()):
        return False
    record = json.loads(paths.training.read_text())
    return (record.get("fingerprint") == training_fingerprint(params, spec, settings, accessibility_from)
            and record.get("settings") == dataclasses.asdict(settings))


def compile_bpnet(model: keras.Model, params: BPNetParams, jit_compile: bool = True) -> keras.Model:
    """Compile with Adam(lr), multinomial NLL on "profile" and c_task_weight × MSE on "logcounts"."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=params.lr),
        loss={PROFILE: MultinomialNLL(), LOGCOUNTS: keras.losses.MeanSquaredError()},
        loss_weights={PROFILE: 1.0, LOGCOUNTS: float(params.c_task_weight)},
        jit_compile=jit_compile,
    )
    return model


class _EarlyStoppingCheckpoint(keras.callbacks.Callback):
    """Early stopping on val_loss with state saved every epoch, so a killed run resumes where it was."""

    def __init__(self, directory: Path, patience: int, deadline: float | None, state: dict[str, Any]):
        super().__init__()
        self.directory = directory
        self.patience = patience
        self.deadline = deadline
        self.state = state

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val_loss = float(logs.get("val_loss", np.inf))
        self.state["history"].append({"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()}})
        if val_loss < self.state["best_val_loss"]:
            self.state.update(best_val_loss=val_loss, best_epoch=epoch + 1, wait=0)
            with atomic_path(self.directory / BEST_WEIGHTS_FILE) as tmp:
                self.model.save_weights(tmp)
        else:
            self.state["wait"] += 1
        self.state["epochs_done"] = epoch + 1
        if self.state["wait"] >= self.patience:
            self.state["stop_reason"] = f"early stopping: no val_loss improvement in {self.patience} epochs"
            self.model.stop_training = True
        elif self.deadline is not None and time.time() > self.deadline:
            self.state["stop_reason"] = WALL_TIME_GUARD_REASON
            self.state["wall_time_guard_hit"] = True
            log.warning("training stopped by the wall-time guard after epoch %d (best epoch %d): this model depends "
                        "on the machine's speed; rerun without max_minutes (or with a larger one) to train it "
                        "to its patience / max_epochs", epoch + 1, self.state["best_epoch"])
            self.model.stop_training = True
        with atomic_path(self.directory / LAST_CHECKPOINT_FILE) as tmp:
            self.model.save(tmp)
        write_json(self.directory / CHECKPOINT_STATE_FILE, self.state)
        log.info("epoch %d: loss %.2f val_loss %.2f (best %.2f at epoch %d)", epoch + 1, logs.get("loss", np.nan),
                 val_loss, self.state["best_val_loss"], self.state["best_epoch"])


def train_bpnet(
    params: BPNetParams,
    spec: DataSpec,
    out_dir: str | os.PathLike,
    settings: TrainingSettings = TrainingSettings(),
    accessibility_from: str | os.PathLike | None = None,
) -> TrainResult:
    """Train a BPNet on ``spec``'s data and write the model directory (see the module docstring).

    ``accessibility_from``: a finished model directory of the same data and geometry (an ensemble's primary
    model) whose fitted accessibility branch this model takes, frozen, instead of fitting its own
    (:func:`~affdist_core.model.accessibility.copy_accessibility`)."""
    started = time.time()
    out = Path(out_dir)
    paths = ModelDir(out)
    checkpoint = paths.checkpoint
    if accessibility_from is not None and not ModelDir.at(accessibility_from).model.is_file():
        raise ValueError(f"accessibility_from: {accessibility_from} holds no finished model "
                         f"({ModelDir.at(accessibility_from).model.name}); train it first")
    parts = fingerprint_parts(params, spec, settings, accessibility_from)
    fingerprint = digest(parts)
    _discard_other_training(paths, parts, fingerprint)
    checkpoint.mkdir(parents=True, exist_ok=True)
    save_params(params, paths.params)
    save_data_spec(spec, paths.data_spec)

    keras.utils.set_random_seed(settings.seed)
    train = extract_windows(spec, params, "train")
    valid = extract_windows(spec, params, "valid")
    log.info("training windows: %r; validation: %r", train, valid)
    use_control = spec.has_control
    train_batches = BatchGenerator(train, params, settings.batch_size, training=True, use_control=use_control,
                                   seed=settings.seed, min_examples=settings.min_epoch_examples)
    if train_batches.passes > 1:
        log.info("small training set (%d windows): %d passes per epoch (min_epoch_examples %d)", len(train),
                 train_batches.passes, settings.min_epoch_examples)
    valid_batches = BatchGenerator(valid, params, settings.batch_size, training=False, use_control=use_control)

    state = _load_state(checkpoint)
    if state is not None and (checkpoint / LAST_CHECKPOINT_FILE).exists():
        model = keras.saving.load_model(checkpoint / LAST_CHECKPOINT_FILE)  # compiled: optimizer state comes back
        log.info("resuming after epoch %d (best val_loss %.3f at epoch %d)", state["epochs_done"],
                 state["best_val_loss"], state["best_epoch"])
    else:
        state = {"epochs_done": 0, "best_val_loss": float("inf"), "best_epoch": 0, "wait": 0, "history": [],
                 "stop_reason": "max_epochs reached", "fingerprint": fingerprint, "fingerprint_parts": parts}
        model = build_bpnet(params, use_control=use_control, n_tasks=train.n_tasks)
        if LAYERS.access_logcounts in {layer.name for layer in model.layers}:
            if accessibility_from is None:
                state["accessibility"] = fit_accessibility(model, *accessibility_windows(spec, params), params)
            else:
                source = ModelDir.at(accessibility_from)
                source_record = json.loads(source.training.read_text()).get("accessibility") or {}
                state["accessibility"] = copy_accessibility(
                    model, load_model(source.model), {k: v for k, v in source_record.items() if k != "shared_from"},
                    str(source.root))
        _standardise_nuisance(model, train, params)
        _initialise_counts_bias(model, train)
        compile_bpnet(model, params, settings.jit_compile)
    state["stop_reason"] = "max_epochs reached"
    state["wall_time_guard_hit"] = False
    deadline = started + 60 * settings.max_minutes if settings.max_minutes else None
    callback = _EarlyStoppingCheckpoint(checkpoint, settings.patience, deadline, state)
    if state["epochs_done"] < settings.max_epochs and state["wait"] < settings.patience:
        model.fit(
            train_batches,
            validation_data=valid_batches,
            epochs=settings.max_epochs,
            initial_epoch=state["epochs_done"],
            shuffle=False,
            callbacks=[
                keras.callbacks.ReduceLROnPlateau(
                    monitor="val_loss", factor=settings.lr_factor, patience=settings.lr_patience, min_lr=1e-5,
                    verbose=0),
                callback,
            ],
            verbose=1 if sys.stderr.isatty() else 2,
        )
    model.load_weights(checkpoint / BEST_WEIGHTS_FILE)
    save_model(model, paths.model)
    wall = time.time() - started
    split = split_chromosomes(spec, _chrom_sizes(spec))
    write_json(paths.history, state["history"])
    write_json(paths.training, {
        "settings": dataclasses.asdict(settings),
        "fingerprint": fingerprint,
        "split": split,
        "n_windows": {"train": len(train), "train_peaks": int(train.meta["is_peak"].sum()), "valid": len(valid),
                      "passes_per_epoch": train_batches.passes, "steps_per_epoch": len(train_batches)},
        "accessibility": state.get("accessibility"),
        "epochs_run": state["epochs_done"],
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val_loss"],
        "stop_reason": state["stop_reason"],
        "wall_time_guard": {"max_minutes": settings.max_minutes,
                            "hit": bool(state.get("wall_time_guard_hit", False))},
        "wall_s": round(wall, 1),
        "keras_version": keras.__version__,
    })
    log.info("trained %d epochs in %.0f s (%s); best epoch %d", state["epochs_done"], wall, state["stop_reason"],
             state["best_epoch"])
    return TrainResult(out, state["epochs_done"], state["best_epoch"], state["best_val_loss"],
                       state["stop_reason"], wall)


#: The mixture counts head's background term starts this many log units below the mean log counts (~5 %).
BACKGROUND_START_BELOW = 3.0


#: Training windows (at most) whose nuisance features set the counts head's standardisation.
NUISANCE_SAMPLE = 4000


def _standardise_nuisance(model: keras.Model, windows, params: BPNetParams) -> None:
    """Set the mixture counts head's ``nuisance_norm`` layer to the mean and variance of its input features
    (the control's log counts and the accessibility branch's prediction of them,
    :func:`affdist_core.model.bpnet.build_bpnet`) over up to
    :data:`NUISANCE_SAMPLE` evenly spaced centred training windows; no-op for models without it."""
    if LAYERS.nuisance_norm not in {layer.name for layer in model.layers}:
        return
    sample = windows.subset(np.arange(0, len(windows), max(1, -(-len(windows) // NUISANCE_SAMPLE))))
    inputs = fixed_arrays(sample, params, use_control=True)[0]
    features = keras.Model(model.inputs, model.get_layer(LAYERS.nuisance_features).output).predict(
        inputs, batch_size=256, verbose=0)
    model.get_layer(LAYERS.nuisance_norm).adapt(features)
    log.info("nuisance features (control ×4, predicted control ×4) over %d windows: mean [%s], sd [%s]", len(sample),
             ", ".join(f"{v:.3g}" for v in features.mean(axis=0)), ", ".join(f"{v:.3g}" for v in features.std(axis=0)))


def _initialise_counts_bias(model: keras.Model, windows) -> None:
    """Start the counts head at the mean training log counts per strand, so the first epochs learn sequence
    effects instead of the mean (the head's weights stay at their random initialisation).

    With the mixture counts head (:func:`affdist_core.model.bpnet.build_bpnet`) the bound term starts there with no
    nuisance effect (output kernel zero) and the background term at a constant :data:`BACKGROUND_START_BELOW`
    log units lower: the background grows where the data want it. Started at random, the background term
    could take every read from the first epoch on, leaving the bound term (and the sequence) without a
    gradient; one default run in two collapsed that way (held-out counts Pearson 0.27).
    """
    counts = windows.counts[:, windows.max_jitter : windows.counts.shape[1] - windows.max_jitter]
    mean_log = np.log1p(counts.astype(np.float64).sum(axis=1)).mean(axis=0)  # (2 × n_tasks,) per task and strand
    names = {layer.name for layer in model.layers}
    dense = sequence_counts_head(model)
    kernel, bias = dense.get_weights()
    if bias.shape != mean_log.shape:
        raise ValueError(f"the model's counts head has {len(bias)} outputs but the windows {len(mean_log)} channels "
                         f"({windows.n_tasks} task(s)); build the model with n_tasks={windows.n_tasks}")
    dense.set_weights([kernel, mean_log.astype(bias.dtype)])
    if LAYERS.background_logcounts in names:
        bound, background = model.get_layer(LAYERS.bound_nuisance), model.get_layer(LAYERS.background_logcounts)
        bound.set_weights([np.zeros_like(w) for w in bound.get_weights()])
        kernel, bias = background.get_weights()
        background.set_weights([np.zeros_like(kernel), (mean_log - BACKGROUND_START_BELOW).astype(bias.dtype)])


def _load_state(checkpoint: Path) -> dict[str, Any] | None:
    path = checkpoint / CHECKPOINT_STATE_FILE
    return json.loads(path.read_text()) if path.exists() else None


def _discard_other_training(paths: ModelDir, parts: dict[str, str], fingerprint: str) -> None:
    """Delete a checkpoint (and a finished model) written by a training with another fingerprint, saying which
    parts differ, so this training starts afresh instead of resuming someone else's weights."""
    state = _load_state(paths.checkpoint)
    if state is not None and state.get("fingerprint") != fingerprint:
        before = state.get("fingerprint_parts") or {}
        differ = [k for k in parts if before.get(k) != parts[k]] or ["fingerprint (none recorded)"]
        log.warning("%s: the checkpoint was written by another training (%s differ); starting afresh",
                    paths.root, ", ".join(differ))
        shutil.rmtree(paths.checkpoint)
    elif state is not None or not paths.training.is_file():
        return
    elif json.loads(paths.training.read_text()).get("fingerprint") == fingerprint:
        return
    for stale in (paths.model, paths.training):  # a finished model of another training is not this one
        stale.unlink(missing_ok=True)


def _chrom_sizes(spec: DataSpec) -> dict[str, int]:
    from affdist_core.io.fasta import GenomeReader

    genome = GenomeReader(spec.genome_fasta)
    sizes = genome.chrom_sizes
    genome.close()
    return sizes
