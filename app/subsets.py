"""Calibration on a chosen subset, for the Calibration and Variant pages: cached refits of every method and the
AD calibration line on a :class:`~affdist_core.calibrate.calibration.CalibrationSample`, and the user's subset
kept in ``st.session_state`` so the Variant page can use what was chosen on the Calibration page.

The refits are pure computations on the run's scored table (:func:`app.data.scored_table`), cached per catalog
version, run, library and sample ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from threadpoolctl import threadpool_limits  # installed with scikit-learn (requirements.txt)

from affdist_core.calibrate import subsets as rc
from affdist_core.calibrate.calibration import CalibrationSample
from affdist_core.calibrate.bootstrap import LinearCalibration
from affdist_core.common.names import AD_METHOD
from app import data

USER_CALIBRATION_KEY = "affdist_user_calibration"


@st.cache_data(show_spinner=False, max_entries=64)
def _refit(version: data.CatalogVersion, run_id: str, library: str, ids: tuple[str, ...], seed: int | None,
           rule: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = data.scored_table(run_id, library)
    sample = CalibrationSample(ids=ids, seed=seed, rule=rule, n_total=len(table))
    # the metrics are dot products of ~20k values: one BLAS thread beats waking a pool for each (docs/experiments.md)
    with threadpool_limits(1, user_api="blas"):
        return rc.refit(table, sample)


def refit(run_id: str, library: str, sample: CalibrationSample) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`affdist_core.calibrate.subsets.refit` of the run's scored table on ``sample``: (fits, one row per
    method; calibrated predictions, one column per method)."""
    return _refit(data.catalog_version(), run_id, library, tuple(sample.ids), sample.seed, sample.rule)


@st.cache_data(show_spinner=False, max_entries=16)
def _ad_calibration(version: data.CatalogVersion, run_id: str, library: str, ids: tuple[str, ...],
                    seed: int | None, rule: str, label: str, units: str) -> LinearCalibration:
    table = data.scored_table(run_id, library)
    sample = CalibrationSample(ids=ids, seed=seed, rule=rule, n_total=len(table))
    with threadpool_limits(1, user_api="blas"):
        return LinearCalibration.from_sample(
            table.rows[AD_METHOD].to_numpy(), table.rows["measured"].to_numpy(), table.ids, sample,
            label=label, units=units)


def ad_calibration(run_id: str, library: str, sample: CalibrationSample, label: str, units: str
                   ) -> LinearCalibration:
    """The AD calibration (line and calibration rows) of the run on ``sample``."""
    return _ad_calibration(data.catalog_version(), run_id, library, tuple(sample.ids), sample.seed, sample.rule,
                           label, units)


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
