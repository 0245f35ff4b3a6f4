"""Cached access to a run's model, its marginalizer and its calibration data, for the Calibration and Variant
pages.

* :func:`marginalizer` (``st.cache_resource``): the run's Keras model with its background set rebuilt the way
  ``affdist_core.pipeline.method_stages.run_distill`` built it (same pool size, seed and N), once per run and catalog version.
* :func:`model_spec`, :func:`scored_table`, :func:`stored_sample`, :func:`stored_fits` (``st.cache_data``):
  thin wrappers of :mod:`affdist_core.marginalize.variants` / :mod:`affdist_core.calibrate.subsets` queries.
* :func:`user_calibration` / :func:`set_user_calibration`: the calibration subset made on the Calibration page,
  kept in ``st.session_state`` so the Variant page can use it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from threadpoolctl import threadpool_limits  # installed with scikit-learn (requirements.txt)

from affdist_core.calibrate import subsets as recalibration
from affdist_core.marginalize import variants
from affdist_core.calibrate.calibration import CalibrationSample
from app import data

log = logging.getLogger(__name__)

USER_CALIBRATION_KEY = "affdist_user_calibration"


def _version() -> tuple[str, float]:
    path = data.catalog_path()
    return str(path), path.stat().st_mtime


def _cursor():
    return data.connection().cursor()


@st.cache_data(show_spinner=False, max_entries=16)
def _model_spec(path: str, mtime: float, run_id: str) -> variants.ModelSpec | None:
    cursor = _cursor()
    try:
        return variants.load_model_spec(cursor, run_id)
    finally:
        cursor.close()


def model_spec(run_id: str) -> variants.ModelSpec | None:
    """The run's model and background-set description (None: no model or no AD scores)."""
    return _model_spec(*_version(), run_id)


@st.cache_resource(show_spinner=False, max_entries=4)
def _marginalizer(path: str, mtime: float, run_id: str, model_dir: str):
    spec = _model_spec(path, mtime, run_id)
    return variants.build_marginalizer(model_dir, spec)


def marginalizer(spec: variants.ModelSpec):
    """The run's :class:`~affdist_core.marginalize.marginalizer.Marginalizer` (model loaded, backgrounds rebuilt and
    predicted once; ValueError if the model directory is gone or the backgrounds differ from the run's)."""
    return _marginalizer(*_version(), spec.run_id, str(data.resolve_path(spec.model_dir)))


@st.cache_data(show_spinner=False, max_entries=16)
def _scored_table(path: str, mtime: float, run_id: str, library: str) -> recalibration.ScoredTable:
    cursor = _cursor()
    try:
        return recalibration.load_scored_table(cursor, run_id, library)
    finally:
        cursor.close()


def scored_table(run_id: str, library: str) -> recalibration.ScoredTable:
    """Scored rows of the run on the library, one column per reported method."""
    return _scored_table(*_version(), run_id, library)


@st.cache_data(show_spinner=False, max_entries=16)
def _stored(path: str, mtime: float, run_id: str, library: str, n_total: int
            ) -> tuple[CalibrationSample | None, pd.DataFrame]:
    cursor = _cursor()
    try:
        return (recalibration.load_stored_sample(cursor, run_id, library, n_total),
                recalibration.load_stored_fits(cursor, run_id, library))
    finally:
        cursor.close()


def stored_sample(run_id: str, library: str, n_total: int) -> CalibrationSample | None:
    """The run's stored calibration sample (None if it stored none)."""
    return _stored(*_version(), run_id, library, n_total)[0]


def stored_fits(run_id: str, library: str, n_total: int) -> pd.DataFrame:
    """The run's stored fit of each reported method."""
    return _stored(*_version(), run_id, library, n_total)[1]


@st.cache_data(show_spinner=False, max_entries=64)
def _library_ids(path: str, mtime: float, library: str, ids: tuple[str, ...]) -> frozenset[str]:
    cursor = _cursor()
    try:
        return frozenset(recalibration.library_ids_present(cursor, library, list(ids)))
    finally:
        cursor.close()


def library_ids_present(library: str, ids: tuple[str, ...]) -> set[str]:
    """Which of ``ids`` are rows of ``library``."""
    return set(_library_ids(*_version(), library, ids))


@st.cache_data(show_spinner=False, max_entries=64)
def _refit(path: str, mtime: float, run_id: str, library: str, ids: tuple[str, ...], seed: int | None,
           rule: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = _scored_table(path, mtime, run_id, library)
    sample = CalibrationSample(ids=ids, seed=seed, rule=rule, n_total=len(table))
    # the metrics are dot products of ~20k values: one BLAS thread is 3-5x faster than waking a pool for each
    with threadpool_limits(1, user_api="blas"):
        return recalibration.refit(table, sample)


def refit(run_id: str, library: str, sample: CalibrationSample) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`affdist_core.calibrate.subsets.refit` of the run's scored table on ``sample`` (cached per sample)."""
    return _refit(*_version(), run_id, library, tuple(sample.ids), sample.seed, sample.rule)


@dataclass(frozen=True)
class UserCalibration:
    """A calibration sample chosen on the Calibration page, for one run and library."""

    run_id: str
    library: str
    sample: CalibrationSample


def set_user_calibration(run_id: str, library: str, sample: CalibrationSample | None) -> None:
    """Remember (or, with None, forget) the user's calibration sample of this run and library."""
    if sample is None:
        st.session_state.pop(USER_CALIBRATION_KEY, None)
    else:
        st.session_state[USER_CALIBRATION_KEY] = UserCalibration(run_id, library, sample)


def user_calibration(run_id: str, library: str) -> CalibrationSample | None:
    """The user's calibration sample for this run and library, if one was made on the Calibration page."""
    saved = st.session_state.get(USER_CALIBRATION_KEY)
    if isinstance(saved, UserCalibration) and saved.run_id == run_id and saved.library == library:
        return saved.sample
    return None


@st.cache_data(show_spinner=False, max_entries=16)
def _ad_calibration(path: str, mtime: float, run_id: str, library: str, ids: tuple[str, ...], seed: int | None,
                    rule: str, label: str, units: str) -> variants.LinearCalibration:
    table = _scored_table(path, mtime, run_id, library)
    sample = CalibrationSample(ids=ids, seed=seed, rule=rule, n_total=len(table))
    with threadpool_limits(1, user_api="blas"):
        return variants.LinearCalibration.from_sample(
            table.rows[recalibration.AD_METHOD].to_numpy(), table.rows["measured"].to_numpy(), table.ids, sample,
            label=label, units=units)


def ad_calibration(run_id: str, library: str, sample: CalibrationSample, label: str, units: str
                   ) -> variants.LinearCalibration:
    """The AD calibration (line and calibration rows) on ``sample`` (cached per sample)."""
    return _ad_calibration(*_version(), run_id, library, tuple(sample.ids), sample.seed, sample.rule, label, units)
