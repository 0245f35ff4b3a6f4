"""Cached reads of the files a catalog model points to: strand and control bigWigs, the genome FASTA and the
stored DeepSHAP contribution scores (paths from :class:`~affdist_core.catalog.queries.ModelSources`).

Each read is cached per file path and modification time, so a rewritten file is read again. No model is called
here (see :mod:`app.cache`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from affdist_core.catalog.queries import ModelSources
from affdist_core.interpret import profiles, tracks
from affdist_core.interpret.contributions import ContributionScores

PEAK_COLUMNS = ["index", "chrom", "centre", "name", "split", "prediction"]


def mtime(path: Path | None) -> float:
    """The file's modification time (0.0 when it is missing): part of every file cache key."""
    return path.stat().st_mtime if path is not None and path.exists() else 0.0


@st.cache_data(show_spinner=False, max_entries=512)
def _observed(plus: str, minus: str, plus_mtime: float, chrom: str, centre: int, out_pred_len: int) -> np.ndarray:
    return profiles.observed_profile(plus, minus, chrom, centre, out_pred_len)


def observed_profile(sources: ModelSources, chrom: str, centre: int) -> np.ndarray | None:
    """Observed (out_pred_len, 2) strand reads per base around ``centre``; None without the bigWigs."""
    if not sources.has_observed:
        return None
    return _observed(str(sources.plus_bigwig), str(sources.minus_bigwig), mtime(sources.plus_bigwig), chrom,
                     int(centre), sources.out_pred_len)


@st.cache_data(show_spinner=False, max_entries=512)
def _window_onehot(fasta: str, fasta_mtime: float, chrom: str, centre: int, seq_len: int) -> np.ndarray:
    return profiles.window_onehot(fasta, chrom, centre, seq_len)


def window_onehot(sources: ModelSources, chrom: str, centre: int) -> np.ndarray | None:
    """Genome one-hot (seq_len, 4) of the input window around ``centre``; None without the genome."""
    if sources.genome_fasta is None:
        return None
    return _window_onehot(str(sources.genome_fasta), mtime(sources.genome_fasta), chrom, int(centre),
                          sources.seq_len)


@st.cache_data(show_spinner=False, max_entries=512)
def _control(plus: str, minus: str, plus_mtime: float, chrom: str, centre: int, out_pred_len: int,
             local_width: int):
    return profiles.control_inputs(plus, minus, chrom, centre, out_pred_len, local_width)


def control_inputs(sources: ModelSources, chrom: str, centre: int) -> tuple[np.ndarray, np.ndarray]:
    """The control inputs of a model trained with a control track at ``chrom:centre``: profile
    (out_pred_len, 2) and log counts (4,) (see :func:`affdist_core.interpret.profiles.control_inputs`)."""
    return _control(str(sources.control_plus_bigwig), str(sources.control_minus_bigwig),
                    mtime(sources.control_plus_bigwig), chrom, int(centre), sources.out_pred_len,
                    sources.local_control_width)


@st.cache_resource(show_spinner="Reading contribution scores…", max_entries=4)
def contributions_at(path: str, path_mtime: float) -> ContributionScores:
    """The contribution scores file at ``path`` (read once per file version, shared read-only)."""
    from affdist_core.interpret.contributions import load_contributions

    return load_contributions(path)


def contributions(sources: ModelSources) -> ContributionScores | None:
    """The stored DeepSHAP scores of the model's run (None when it stored none)."""
    if sources.contributions is None:
        return None
    return contributions_at(str(sources.contributions), mtime(sources.contributions))


@st.cache_data(show_spinner=False, max_entries=16)
def _contribution_peaks(path: str, path_mtime: float) -> pd.DataFrame:
    return tracks.contribution_peaks(contributions_at(path, path_mtime))


def contribution_peaks(sources: ModelSources) -> pd.DataFrame:
    """Peaks in the stored contributions file, in file order (empty frame when there is none)."""
    if sources.contributions is None:
        return pd.DataFrame(columns=PEAK_COLUMNS)
    return _contribution_peaks(str(sources.contributions), mtime(sources.contributions))


@st.cache_data(show_spinner=False, max_entries=256)
def _peak_track(path: str, path_mtime: float, index: int) -> tracks.ContributionTrack:
    return tracks.peak_track(contributions_at(path, path_mtime), index)


def peak_track(sources: ModelSources, index: int) -> tracks.ContributionTrack:
    """The stored DeepSHAP track of row ``index`` of the contributions file."""
    return _peak_track(str(sources.contributions), mtime(sources.contributions), int(index))
