"""Cached access to models, profiles and contribution tracks for the Overview and SHAP-tracks pages.

Thin ``st.cache_data`` / ``st.cache_resource`` wrappers over :mod:`affdist_core.interpret.tracks`: query results are keyed
by the catalog file and its modification time (like :func:`app.data.query`), models and contribution files by
their path and modification time. Model calls are serialised by one lock (TensorFlow graphs and shap's
explainer cache are shared by every session of the server).
"""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from affdist_core.interpret import tracks
from app import data

log = logging.getLogger(__name__)

_MODEL_LOCK = threading.Lock()
BASE_COLOURS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}


def _catalog() -> tuple[str, float]:
    path = data.catalog_path()
    return str(path), path.stat().st_mtime


def _mtime(path: Path | None) -> float:
    return path.stat().st_mtime if path is not None and path.exists() else 0.0


def _run(fn, *args, **kwargs):
    """Call ``fn(cursor, *args, **kwargs)`` with a fresh cursor of the shared read-only connection."""
    cursor = data.connection().cursor()
    try:
        return fn(cursor, *args, **kwargs)
    finally:
        cursor.close()


# ------------------------------------------------------------------------------------------------ catalog


@st.cache_data(show_spinner=False, max_entries=16)
def _catalog_counts(catalog: str, mtime: float) -> dict[str, int]:
    return _run(tracks.catalog_counts)


def catalog_counts() -> dict[str, int]:
    """Numbers of TFs, libraries, models and runs."""
    return _catalog_counts(*_catalog())


@st.cache_data(show_spinner=False, max_entries=16)
def _runs_table(catalog: str, mtime: float) -> pd.DataFrame:
    return _run(tracks.runs_table)


def runs_table() -> pd.DataFrame:
    """Every run with its provenance (see :func:`affdist_core.interpret.tracks.runs_table`)."""
    return _runs_table(*_catalog())


@st.cache_data(show_spinner=False, max_entries=64)
def _models(catalog: str, mtime: float, tf: str | None) -> pd.DataFrame:
    return _run(tracks.list_models, tf)


def models(tf: str | None = None) -> pd.DataFrame:
    """Models of ``tf`` (or all), newest first."""
    return _models(*_catalog(), tf)


@st.cache_data(show_spinner=False, max_entries=64)
def _sources(catalog: str, mtime: float, model_id: str) -> tracks.ModelSources:
    return _run(tracks.model_sources, model_id, resolve=data.resolve_path)


def sources(model_id: str) -> tracks.ModelSources:
    """Where ``model_id`` and its data are (paths resolved like every catalog path)."""
    return _sources(*_catalog(), model_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _metrics(catalog: str, mtime: float, model_id: str) -> tuple[pd.DataFrame, dict]:
    return _run(tracks.metrics_table, model_id), _run(tracks.split_pearson, model_id)


def metrics(model_id: str) -> tuple[pd.DataFrame, dict[str, tuple[float, int]]]:
    """(metric × split table, {split: (counts Pearson, n windows)})."""
    return _metrics(*_catalog(), model_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _counts_points(catalog: str, mtime: float, model_id: str, max_per_split: int) -> pd.DataFrame:
    return _run(tracks.counts_points, model_id, max_per_split)


def counts_points(model_id: str, max_per_split: int = 5000) -> pd.DataFrame:
    """Observed vs predicted log counts per window (at most ``max_per_split`` per split)."""
    return _counts_points(*_catalog(), model_id, max_per_split)


@st.cache_data(show_spinner=False, max_entries=64)
def _held_out_peaks(catalog: str, mtime: float, model_id: str, split: str) -> pd.DataFrame:
    return _run(tracks.held_out_peaks, sources(model_id), split)


def held_out_peaks(model_id: str, split: str = "test") -> pd.DataFrame:
    """Held-out peak windows of ``model_id``, strongest first."""
    return _held_out_peaks(*_catalog(), model_id, split)


# ------------------------------------------------------------------------------------------------ model


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _model(path: str, mtime: float):
    from affdist_core.model.bpnet import load_model

    log.info("loading model %s", path)
    return load_model(path)


def model(model_id: str):
    """The Keras model of ``model_id`` (loaded once per file version)."""
    src = sources(model_id)
    return _model(str(src.model_file), _mtime(src.model_file))


@st.cache_data(show_spinner=False, max_entries=512)
def _observed(plus: str, minus: str, mtime: float, chrom: str, centre: int, out_pred_len: int) -> np.ndarray:
    return tracks.observed_profile(plus, minus, chrom, centre, out_pred_len)


def observed_profile(model_id: str, chrom: str, centre: int) -> np.ndarray | None:
    """Observed (out_pred_len, 2) strand counts around ``centre``; None without bigWigs."""
    src = sources(model_id)
    if not src.has_observed:
        return None
    return _observed(str(src.plus_bigwig), str(src.minus_bigwig), _mtime(src.plus_bigwig), chrom, int(centre),
                     src.out_pred_len)


@st.cache_data(show_spinner=False, max_entries=512)
def _window_onehot(fasta: str, mtime: float, chrom: str, centre: int, seq_len: int) -> np.ndarray:
    return tracks.window_onehot(fasta, chrom, centre, seq_len)


def window_onehot(model_id: str, chrom: str, centre: int) -> np.ndarray | None:
    """Genome one-hot (seq_len, 4) of the input window around ``centre``; None without the genome."""
    src = sources(model_id)
    if src.genome_fasta is None:
        return None
    return _window_onehot(str(src.genome_fasta), _mtime(src.genome_fasta), chrom, int(centre), src.seq_len)


@st.cache_data(show_spinner=False, max_entries=512)
def _control(plus: str, minus: str, mtime: float, chrom: str, centre: int, out_pred_len: int):
    return tracks.control_inputs(plus, minus, chrom, centre, out_pred_len)


@st.cache_data(show_spinner=False, max_entries=512)
def _predicted(model_file: str, mtime: float, onehot: np.ndarray, control_profile: np.ndarray | None,
               control_logcounts: np.ndarray | None) -> tracks.PredictedProfiles:
    keras_model = _model(model_file, mtime)
    with _MODEL_LOCK:
        return tracks.predict_profiles(keras_model, onehot, control_profile, control_logcounts)


def predicted_profile(model_id: str, onehot: np.ndarray, chrom: str | None = None,
                      centre: int | None = None) -> tracks.PredictedProfiles | None:
    """Predicted profiles of one window (seq_len, 4); None without the model file. For a genome window
    (``chrom``, ``centre``) of a model trained with a control track, the control inputs are read there (as in
    evaluation); otherwise (a typed sequence) they are zero."""
    src = sources(model_id)
    if not src.has_model:
        return None
    control_profile = control_logcounts = None
    if src.has_control and chrom is not None and centre is not None:
        control_profile, control_logcounts = _control(str(src.control_plus_bigwig), str(src.control_minus_bigwig),
                                                      _mtime(src.control_plus_bigwig), chrom, int(centre),
                                                      src.out_pred_len)
    return _predicted(str(src.model_file), _mtime(src.model_file), np.asarray(onehot, dtype=np.float32),
                      control_profile, control_logcounts)


# ------------------------------------------------------------------------------------------------ contributions


@st.cache_resource(show_spinner="Reading contribution scores…", max_entries=4)
def _contributions(path: str, mtime: float):
    from affdist_core.interpret.contributions import load_contributions

    return load_contributions(path)


def contributions(model_id: str):
    """The stored :class:`~affdist_core.interpret.contributions.ContributionScores` of the model's run (or None)."""
    src = sources(model_id)
    if src.contributions is None:
        return None
    return _contributions(str(src.contributions), _mtime(src.contributions))


@st.cache_data(show_spinner=False, max_entries=16)
def _contribution_peaks(path: str, mtime: float) -> pd.DataFrame:
    return tracks.contribution_peaks(_contributions(path, mtime))


def contribution_peaks(model_id: str) -> pd.DataFrame:
    """Peaks in the stored contributions file (empty frame when there is none)."""
    src = sources(model_id)
    if src.contributions is None:
        return pd.DataFrame(columns=["index", "chrom", "centre", "name", "split", "prediction"])
    return _contribution_peaks(str(src.contributions), _mtime(src.contributions))


@st.cache_data(show_spinner=False, max_entries=256)
def _peak_track(path: str, mtime: float, index: int) -> tracks.ContributionTrack:
    return tracks.peak_track(_contributions(path, mtime), index)


def peak_track(model_id: str, index: int) -> tracks.ContributionTrack:
    """The stored DeepSHAP track of row ``index`` of the contributions file."""
    src = sources(model_id)
    return _peak_track(str(src.contributions), _mtime(src.contributions), int(index))


@st.cache_data(show_spinner=False, max_entries=128)
def _typed_track(model_file: str, mtime: float, scores_path: str, scores_mtime: float,
                 sequence: str) -> tracks.ContributionTrack:
    scores = _contributions(scores_path, scores_mtime)
    background, label = tracks.background_window(scores)
    keras_model = _model(model_file, mtime)
    with _MODEL_LOCK:
        return tracks.typed_contributions(keras_model, sequence, background, n_shuffles=scores.n_shuffles,
                                          task=scores.task, rc_average=scores.rc_average, background_label=label)


def typed_track(model_id: str, sequence: str) -> tracks.ContributionTrack:
    """DeepSHAP track of a validated typed sequence, computed with the stored explainer's settings."""
    src = sources(model_id)
    return _typed_track(str(src.model_file), _mtime(src.model_file), str(src.contributions),
                        _mtime(src.contributions), sequence)


# ------------------------------------------------------------------------------------------------ figures


def logo_limits(values: np.ndarray) -> tuple[float, float]:
    """y range (min, max) that holds a logo of ``values`` (k, 4): stacked negative and positive letters."""
    values = np.asarray(values, dtype=np.float64)
    low = float(np.minimum(values, 0).sum(axis=1).min(initial=0.0))
    high = float(np.maximum(values, 0).sum(axis=1).max(initial=0.0))
    pad = 0.05 * (high - low) or 1e-6
    return low - (pad if low < 0 else 0.0), high + pad


@st.cache_data(show_spinner=False, max_entries=256)
def logo_png(values: np.ndarray, ylim: tuple[float, float], px_per_base: int = 24, height_px: int = 320) -> bytes:
    """A sequence logo (logomaker) of ``values`` (k, 4) ACGT contributions, letters scaled by contribution
    (negative ones below zero), drawn edge to edge with no axes: x spans positions −0.5 … k − 0.5 and y spans
    ``ylim``, so the PNG can be laid over a plot in data coordinates. Returns PNG bytes (transparent)."""
    import logomaker
    from matplotlib.figure import Figure

    values = np.asarray(values, dtype=np.float64)
    frame = pd.DataFrame(values, columns=list("ACGT"))
    width = min(max(len(values) * px_per_base, 200), 4000)
    figure = Figure(figsize=(width / 100, height_px / 100), dpi=100)
    ax = figure.add_axes((0, 0, 1, 1))
    logomaker.Logo(frame, ax=ax, color_scheme=BASE_COLOURS, flip_below=False, baseline_width=0)
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", transparent=True)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------------ widgets


def choose_model(tf: str | None, library: str | None, key: str) -> tracks.ModelSources | None:
    """A selectbox of the TF's models (default: the model of the run that scored ``library``, else the
    newest); returns its sources, or None (with an explanation shown) when the TF has no model."""
    if tf is None:
        st.info("The catalog has no transcription factor yet.")
        return None
    frame = models(tf)
    if frame.empty:
        st.info(f"No trained model for {tf} in this catalog. Train one with `affdist demo` (or `affdist train`) "
                "and rebuild the catalog.")
        return None
    options = frame["model_id"].tolist()
    index = 0
    if library is not None:
        run = data.run_for(library)
        runs = frame["run_id"].tolist()
        if run in runs:
            index = runs.index(run)
    if len(options) == 1:
        st.caption(f"Model: `{options[0]}`")
        return sources(options[0])
    model_id = st.selectbox("Model", options, index=index, key=key,
                            help="Models of this TF, newest run first; default: the run that scored the library.")
    return sources(model_id)


STRAND_COLOURS = {"+": ("#1F4E79", "#6FA8DC"), "-": ("#8B1E3F", "#E48FA3")}  # (observed, predicted)


def add_profile_traces(figure, observed, predicted, **position) -> None:
    """Observed (solid) and predicted (dashed) reads per base, (out_pred_len, 2) each or None, as lines on
    ``figure`` (``row=…, col=…`` for subplots): + strand up, − strand drawn downwards."""
    import plotly.graph_objects as go

    from affdist_core.interpret.tracks import STRANDS, output_offsets

    for s, strand in enumerate(STRANDS):
        sign = 1.0 if strand == "+" else -1.0
        dark, light = STRAND_COLOURS[strand]
        for kind, values, colour, dash in (("observed", observed, dark, "solid"),
                                           ("predicted", predicted, light, "dash")):
            if values is None:
                continue
            figure.add_trace(go.Scatter(
                x=output_offsets(len(values)), y=sign * values[:, s], mode="lines", name=f"{kind} {strand}",
                line={"color": colour, "dash": dash, "width": 1.5 if kind == "observed" else 2},
                customdata=values[:, s],
                hovertemplate="%{x} bp: %{customdata:.2f} reads<extra>" + f"{kind} {strand}</extra>"), **position)
