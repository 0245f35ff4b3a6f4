"""Calibration: uncalibrated and calibrated scores against measured values, and an interactive calibration
subset that refits every method at once (computation in :mod:`affdist_core.calibrate.subsets`)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from affdist_core.calibrate import subsets as rc
from affdist_core.calibrate.calibration import MIN_CALIBRATION_ROWS
from affdist_core.io.user_text import IdListError, parse_id_list
from app import data, subsets, widgets

log = logging.getLogger(__name__)

DENSE_ROWS = 5000  # above this many rows a figure shows a binned density plus a sample of points
MAX_POINTS = 2000
KEYS = ("cal_n", "cal_seed", "cal_pattern_kind", "cal_pattern", "cal_use_range", "cal_range", "cal_method")


def _init_state(table: rc.ScoredTable, stored_sample, scope: tuple[str, str]) -> None:
    """Default widget values for this run/library; the user's values survive page switches (saved copy)."""
    rule = rc.default_rule(stored_sample, len(table))
    measured = table.rows["measured"]
    defaults = {"cal_n": int(rule.n), "cal_seed": int(rule.seed), "cal_pattern_kind": "IUPAC", "cal_pattern": "",
                "cal_use_range": False, "cal_range": (float(measured.min()), float(measured.max())),
                "cal_method": table.columns[0]}
    saved = st.session_state.get("cal_saved", {})
    if st.session_state.get("cal_scope") != scope:
        saved = {}
        st.session_state["cal_scope"] = scope
        for key in KEYS:
            st.session_state.pop(key, None)
        st.session_state["cal_ids_version"] = st.session_state.get("cal_ids_version", -1) + 1
    st.session_state["cal_defaults"] = defaults
    for key in KEYS:
        if key not in st.session_state:
            st.session_state[key] = saved.get(key, defaults[key])


def _reset() -> None:
    for key, value in st.session_state.get("cal_defaults", {}).items():
        st.session_state[key] = value
    st.session_state["cal_saved"] = {}
    st.session_state["cal_ids_version"] = st.session_state.get("cal_ids_version", 0) + 1  # a fresh, empty uploader


def _ids_key() -> str:
    version = st.session_state.get("cal_ids_version", 0)
    return "cal_ids" if version == 0 else f"cal_ids_{version}"


def _subset_controls(table: rc.ScoredTable, units: str) -> tuple[rc.SubsetRule | None, str | None]:
    """The subset widgets; returns the rule (None on an unreadable id file) and an error message."""
    n_rows = len(table)
    measured = table.rows["measured"]
    with st.container(border=True):
        st.markdown("**Calibration subset** — refits every method immediately; metrics are on the scored rows "
                    "not in the subset.")
        c1, c2, c3, c4 = st.columns([1.1, 1.4, 1.4, 1.4])
        with c1:
            st.number_input("Sample size", min_value=3, max_value=max(3, n_rows - rc.MIN_HELDOUT_ROWS), step=50,
                            key="cal_n", help="Rows drawn from those passing the filters (all of them if fewer).")
            st.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="cal_seed")
            st.button("Reset to stored", key="cal_reset", on_click=_reset)
        with c2:
            st.radio("Pattern type", ["IUPAC", "regex"], key="cal_pattern_kind", horizontal=True)
            st.text_input("Sequence pattern", key="cal_pattern", placeholder="e.g. NNNNNCACGTGNNNNN or CACGTG[AT]",
                          help="Matched on the given (forward) strand. IUPAC codes (N = any base; as long as the "
                               "sequences: whole-sequence match, shorter: anywhere) or a regular expression "
                               "(searched, case-insensitive).")
        with c3:
            st.checkbox(f"Restrict measured value ({units or 'library units'})", key="cal_use_range")
            low, high = float(measured.min()), float(measured.max())
            st.slider("Measured range", min_value=low, max_value=high, key="cal_range",
                      step=(high - low) / 200 or 0.01, disabled=not st.session_state["cal_use_range"], format="%.3f")
        with c4:
            upload = st.file_uploader("Calibrate on these ids only (txt or CSV)", type=["txt", "csv", "tsv"],
                                      key=_ids_key())
    st.session_state["cal_saved"] = {key: st.session_state[key] for key in KEYS if key in st.session_state}
    ids = None
    if upload is not None:
        try:
            ids = tuple(parse_id_list(upload.getvalue(), upload.name))
        except IdListError as exc:
            return None, str(exc)
    pattern = st.session_state["cal_pattern"].strip() or None
    value_range = tuple(st.session_state["cal_range"]) if st.session_state["cal_use_range"] else None
    return rc.SubsetRule(n=int(st.session_state["cal_n"]), seed=int(st.session_state["cal_seed"]), pattern=pattern,
                         pattern_kind=st.session_state["cal_pattern_kind"].lower(), value_range=value_range,
                         ids=ids), None


def _choose(table: rc.ScoredTable, rule: rc.SubsetRule, library: str):
    library_ids = data.library_ids_present(library, rule.ids) if rule.ids is not None else None
    return rc.choose_subset(table.rows, rule, library_ids)


def _scatter(frame: pd.DataFrame, x: str, y: str, title: str, xlabel: str, ylabel: str,
             lines: list[tuple[str, np.ndarray, np.ndarray, dict]]) -> go.Figure:
    """Measured vs a score: a density of every row plus sampled points when large, else every point."""
    fig = go.Figure()
    if len(frame) > DENSE_ROWS:
        density = rc.binned_density(frame[x].to_numpy(), frame[y].to_numpy())
        grid = density.pivot(index="y", columns="x", values="count")
        fig.add_trace(go.Heatmap(x=grid.columns, y=grid.index, z=grid.where(grid > 0).to_numpy(),
                                 colorscale="Greys", name="density", showscale=False, zmin=0,
                                 hovertemplate="x %{x:.3g}<br>y %{y:.3g}<br>%{z} rows<extra>density</extra>"))
    shown = rc.sample_points(frame, MAX_POINTS)
    for group, color in (("held out", "#1f77b4"), ("calibration", "#d62728")):
        part = shown[shown["subset"] == group]
        fig.add_trace(go.Scattergl(
            x=part[x], y=part[y], mode="markers", name=f"{group} ({int((frame['subset'] == group).sum()):,})",
            marker={"size": 4, "color": color, "opacity": 0.6}, customdata=np.stack([part.index, part["sequence"]],
                                                                                   axis=-1),
            hovertemplate="%{customdata[0]} %{customdata[1]}<br>x %{x:.4g}<br>y %{y:.4g}<extra></extra>"))
    for name, xs, ys, style in lines:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line=style, hoverinfo="name"))
    fig.update_layout(title=title, xaxis_title=xlabel, yaxis_title=ylabel, height=430,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h", "y": -0.2})
    return fig


def _fit_line(xs: np.ndarray, slope: float, intercept: float) -> tuple[np.ndarray, np.ndarray]:
    finite = xs[np.isfinite(xs)]
    grid = np.array([finite.min(), finite.max()]) if finite.size else np.array([0.0, 1.0])
    return grid, slope * grid + intercept


def _method_section(table, fits, predictions, stored, sample, units):
    labels = {row.column: row.column + ("" if row.motif_id is None else f" ({row.motif_id}, {row.scoring})")
              for row in table.methods.itertuples()}
    column = st.selectbox("Method", table.columns, format_func=labels.get, key="cal_method")
    fit = fits.set_index("column").loc[column]
    meta = table.methods.set_index("column").loc[column]
    old = stored[(stored["method"] == meta["method"]) & (stored["scoring"] == meta["scoring"])]
    old = old.iloc[0] if len(old) else None
    if fit["note"]:
        st.warning(f"{column}: cannot calibrate on this subset — {fit['note']}")
    cols = st.columns(6)
    for col, (name, field, inverse) in zip(cols, [("Slope", "slope", False), ("Intercept", "intercept", False),
                                                  ("R² (calibration)", "r2", False),
                                                  ("Pearson (held out)", "pearson", False),
                                                  ("Spearman (held out)", "spearman", False),
                                                  (f"RMSE (held out{', ' + units if units else ''})", "rmse", True)]):
        value = fit[field]
        delta = None if old is None or not np.isfinite(value) or field in ("slope", "intercept") \
            else float(value - old[field])
        if delta is not None and abs(delta) < 5e-5:
            col.metric(name, f"{value:.4g}", delta="same as stored", delta_color="off")
        else:
            col.metric(name, "n/a" if not np.isfinite(value) else f"{value:.4g}",
                       delta=None if delta is None else f"{delta:+.4f} vs stored",
                       delta_color="inverse" if inverse else "normal")
    frame = pd.DataFrame({"sequence": table.rows["sequence"], "measured": table.rows["measured"],
                          "score": table.rows[column], "calibrated": predictions[column]})
    frame["subset"] = np.where(sample.mask(table.ids), "calibration", "held out")
    lines = [("fit (this subset)", *_fit_line(frame["score"].to_numpy(), fit["slope"], fit["intercept"]),
              {"color": "black"})] if np.isfinite(fit["slope"]) else []
    if old is not None:
        lines.append(("stored fit", *_fit_line(frame["score"].to_numpy(), old["slope"], old["intercept"]),
                      {"color": "black", "dash": "dash"}))
    unit = f" ({units})" if units else ""
    left, right = st.columns(2)
    with left:
        st.plotly_chart(_scatter(frame, "score", "measured", f"{column}: uncalibrated score vs measured",
                                 "uncalibrated score", f"measured{unit}", lines), key="cal_fig_raw")
    with right:
        valid = frame["calibrated"].dropna()
        span = np.array([min(valid.min(), frame["measured"].min()), max(valid.max(), frame["measured"].max())]) \
            if len(valid) else np.array([0.0, 1.0])
        st.plotly_chart(_scatter(frame.dropna(subset=["calibrated"]), "calibrated", "measured",
                                 f"{column}: calibrated vs measured", f"calibrated{unit}", f"measured{unit}",
                                 [("y = x", span, span, {"color": "black", "dash": "dot"})]), key="cal_fig_cal")
    note = f"every one of the {len(frame):,} rows" if len(frame) <= DENSE_ROWS else \
        f"a binned density of all {len(frame):,} rows and {MAX_POINTS:,} sampled points"
    st.caption(f"Figures show {note}.")
    widgets.download_button(frame.reset_index(), f"calibration_{column}", "Download scores and predictions (CSV)")


def _all_methods(comparison: pd.DataFrame, sample, stored_sample) -> None:
    st.subheader("Every method: held-out metrics, stored vs this subset")
    stored_text = f"stored: {stored_sample.rule}, seed {stored_sample.seed}, {stored_sample.size:,} rows" \
        if stored_sample is not None else "no stored calibration"
    st.caption(f"This subset: {sample.rule} ({sample.size:,} rows); {stored_text}. Held-out rows differ between "
               f"the two calibrations (each is judged on the scored rows outside its own subset).")
    shown = comparison.rename(columns=lambda c: c.replace("_", " "))
    st.dataframe(shown, hide_index=True, key="cal_table",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in shown.columns
                                if shown[c].dtype.kind == "f"})
    long = rc.metrics_long(comparison)
    fig = make_subplots(rows=1, cols=3, subplot_titles=("Pearson (held out)", "Spearman (held out)",
                                                        "RMSE (held out)"))
    for i, metric in enumerate(rc.METRICS, start=1):
        for which, color in (("stored", "#9e9e9e"), ("new", "#1f77b4")):
            part = long[(long["metric"] == metric) & (long["calibration"] == which)]
            fig.add_trace(go.Bar(x=part["method"], y=part["value"], name="stored" if which == "stored" else
                                 "this subset", marker_color=color, legendgroup=which, showlegend=i == 1,
                                 hovertemplate="%{x}<br>%{y:.4f}<extra>" + which + "</extra>"), row=1, col=i)
    fig.update_layout(barmode="group", height=380, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    st.plotly_chart(fig, key="cal_fig_methods")
    widgets.download_button(comparison, "calibration_methods", "Download metrics (CSV)")


def main() -> None:
    """Draw the Calibration page."""
    selection = widgets.selection()
    st.title("Calibration")
    run_id = widgets.require_scored_run(selection, ", so there is nothing to calibrate")
    if run_id is None:
        return
    table = data.scored_table(run_id, selection.library)
    if len(table) < MIN_CALIBRATION_ROWS + rc.MIN_HELDOUT_ROWS:
        st.info(f"Run `{run_id}` scored only {len(table)} rows of `{selection.library}`; too few to calibrate.")
        return
    units = data.library_units(selection.library)
    stored_sample = data.stored_sample(run_id, selection.library, len(table))
    stored = data.stored_fits(run_id, selection.library)
    st.caption(f"Run `{run_id}` · library `{selection.library}` · {len(table):,} scored rows · linear fit "
               f"measured ≈ slope × score + intercept on the calibration subset, metrics on the other rows.")
    _init_state(table, stored_sample, (run_id, selection.library))
    rule, error = _subset_controls(table, units)
    sample = None
    if error is None:
        try:
            sample = _choose(table, rule, selection.library)
        except rc.SubsetError as exc:
            error = str(exc)
    if error is not None:
        st.error(error)
        if stored_sample is None:
            return
        st.info("Showing the stored calibration until the subset is fixed.")
        sample = stored_sample
    is_stored = stored_sample is not None and sample.ids == stored_sample.ids
    if error is None:
        subsets.set_user_calibration(run_id, selection.library, None if is_stored else sample)
        st.caption(f"Subset: {sample.rule} → {sample.size:,} calibration rows, {len(table) - sample.size:,} held "
                   f"out" + (" (the stored calibration sample)." if is_stored else
                             ". The Variant ΔΔG page can use this calibration."))
    fits, predictions = subsets.refit(run_id, selection.library, sample)
    _method_section(table, fits, predictions, stored, sample, units)
    _all_methods(rc.compare_with_stored(fits, stored), sample, stored_sample)
