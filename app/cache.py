"""The models and marginalizers the explorer shares across sessions, and the one lock policy for calling them.

Lock policy: every call into a shared Keras model, :class:`~affdist_core.marginalize.marginalizer.Marginalizer` or
DeepSHAP explainer — loading, predicting, explaining — holds :data:`MODEL_LOCK`, one process-wide lock. One lock
rather than one per model because shap's explainer slot (:mod:`affdist_core.interpret.contributions`) and
TensorFlow's graph state are process-wide, and one TensorFlow call already uses every core. The resources are
cached (``st.cache_resource``, per file version) inside :class:`Shared`, which hands the resource out only inside
``with shared as resource:`` (lock held); pages get results (:func:`predicted_profile`, :func:`typed_track`) or a
:class:`LockedScorer`, never a bare model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np
import streamlit as st

from affdist_core.common.names import ModelDir
from affdist_core.catalog.queries import ModelSources
from affdist_core.interpret import profiles, tracks
from affdist_core.marginalize import variants
from affdist_core.marginalize.spec import ModelSpec
from app import data, files

log = logging.getLogger(__name__)

MODEL_LOCK = threading.Lock()
T = TypeVar("T")


class Shared(Generic[T]):
    """A resource shared by every session of the server; usable only as ``with shared as resource:``, which holds
    :data:`MODEL_LOCK` for the block."""

    __slots__ = ("_resource",)

    def __init__(self, resource: T) -> None:
        self._resource = resource

    def __enter__(self) -> T:
        MODEL_LOCK.acquire()
        return self._resource

    def __exit__(self, *exc_info: object) -> None:
        MODEL_LOCK.release()


class LockedScorer:
    """A shared marginalizer behind :data:`MODEL_LOCK` (the :class:`~affdist_core.marginalize.variants.Scorer` that
    :func:`~affdist_core.marginalize.variants.predict_ddg` needs): each :meth:`score` call — one chunk of
    sequences — holds the lock, so sessions scoring at once take turns chunk by chunk."""

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        with shared as marginalizer:
            self.seq_len: int = int(marginalizer.seq_len)
            self.n_backgrounds: int = int(marginalizer.n_backgrounds)

    def score(self, sequences: Sequence[str], keep_deltas: bool = False, progress: bool = True) -> Any:
        """``Marginalizer.score`` under the lock: ``mean`` (n,), ``sd`` (n,), ``deltas`` (n, N)."""
        with self._shared as marginalizer:
            return marginalizer.score(sequences, keep_deltas=keep_deltas, progress=progress)


# ------------------------------------------------------------------------------------------------ models


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _model(path: str, mtime: float) -> Shared:
    from affdist_core.model.bpnet import load_model

    log.info("loading model %s", path)
    with MODEL_LOCK:
        return Shared(load_model(path))


@st.cache_data(show_spinner=False, max_entries=512)
def _predicted(model_file: str, mtime: float, onehot: np.ndarray, control_profile: np.ndarray | None,
               control_logcounts: np.ndarray | None) -> profiles.PredictedProfiles:
    with _model(model_file, mtime) as keras_model:
        return profiles.predict_profiles(keras_model, onehot, control_profile, control_logcounts)


def predicted_profile(sources: ModelSources, onehot: np.ndarray, chrom: str | None = None,
                      centre: int | None = None) -> profiles.PredictedProfiles | None:
    """Predicted profiles of one window (seq_len, 4); None without the model file. For a genome window
    (``chrom``, ``centre``) of a model trained with a control track, the control inputs are read there (as in
    evaluation); otherwise (a typed sequence) they are zero."""
    if not sources.has_model:
        return None
    control_profile = control_logcounts = None
    if sources.has_control and chrom is not None and centre is not None:
        control_profile, control_logcounts = files.control_inputs(sources, chrom, int(centre))
    return _predicted(str(sources.model_file), files.mtime(sources.model_file), np.asarray(onehot, dtype=np.float32),
                      control_profile, control_logcounts)


@st.cache_data(show_spinner=False, max_entries=128)
def _typed_track(model_file: str, mtime: float, scores_path: str, scores_mtime: float,
                 sequence: str) -> tracks.ContributionTrack:
    scores = files.contributions_at(scores_path, scores_mtime)
    background, label = tracks.background_window(scores)
    with _model(model_file, mtime) as keras_model:
        return tracks.typed_contributions(keras_model, sequence, background, n_shuffles=scores.n_shuffles,
                                          task=scores.task, rc_average=scores.rc_average, background_label=label)


def typed_track(sources: ModelSources, sequence: str) -> tracks.ContributionTrack:
    """DeepSHAP track of a validated typed sequence, computed with the stored explainer's settings."""
    return _typed_track(str(sources.model_file), files.mtime(sources.model_file), str(sources.contributions),
                        files.mtime(sources.contributions), sequence)


# ------------------------------------------------------------------------------------------------ marginalizers


@st.cache_resource(show_spinner=False, max_entries=4)
def _marginalizer(model_dir: str, mtime: float, spec: ModelSpec, lengths: tuple[int, ...],
                  readouts: str | None) -> Shared:
    with MODEL_LOCK:
        return Shared(variants.build_marginalizer(model_dir, spec, lengths=lengths, readouts=readouts))


def marginalizer(spec: ModelSpec, lengths: tuple[int, ...] = ()) -> LockedScorer:
    """The run's marginalizer (model loaded, backgrounds rebuilt and predicted once per model file version, the
    cone graphs of ``lengths`` — e.g. the library's sequence length — traced) behind the model lock. ValueError if
    the model directory is gone or the backgrounds differ from the run's."""
    model_dir = ModelDir.at(data.resolve_path(spec.model_dir))
    readouts = None if spec.readouts is None else str(data.resolve_path(spec.readouts))
    return LockedScorer(_marginalizer(str(model_dir.root), files.mtime(model_dir.model), spec, tuple(lengths),
                                      readouts))
