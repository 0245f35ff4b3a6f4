"""Dynamic range: histograms of measured vs calibrated predicted values per method on the held-out rows, the sd
ratio each method recovers, and AD's RMSE and spread as a function of the number of backgrounds."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from affdist_core.catalog import explore
from app import data, widgets
from app.figures import method_label

PER_ROW = 3


def histograms_figure(table: pd.DataFrame, methods: list[str], units: str, ratios: dict[str, float]) -> go.Figure:
    """One panel per method: the measured histogram (grey) and the method's calibrated predictions, shared bins;
    the panel title gives the method's sd ratio."""
    rows = math.ceil(len(methods) / PER_ROW)
    cols = min(PER_ROW, len(methods))
    titles = [method_label(m) + (f" · sd ratio {ratios[m]:.2f}" if m in ratios else "") for m in methods]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles,
                        shared_xaxes="all", vertical_spacing=0.12 if rows > 1 else 0.1)
    measured = table[table["series"] == "measured"]
    for i, method in enumerate(methods):
        row, col = i // PER_ROW + 1, i % PER_ROW + 1
        predicted = table[table["series"] == method]
        for series, frame, colour in (("measured", measured, "rgba(120,120,120,0.55)"),
                                      (method, predicted, "rgba(31,119,180,0.65)")):
            centre = (frame["bin_left"] + frame["bin_right"]) / 2
            fig.add_trace(go.Bar(
                x=centre, y=frame["count"], width=(frame["bin_right"] - frame["bin_left"]),
                name="measured" if series == "measured" else "calibrated prediction",
                legendgroup=series if series == "measured" else "predicted", showlegend=i == 0,
                marker_color=colour, customdata=list(zip(frame["bin_left"], frame["bin_right"])),
                hovertemplate="[%{customdata[0]:.3f}, %{customdata[1]:.3f})<br>%{y} rows"
                              f"<extra>{method_label(series)}</extra>"), row=row, col=col)
    fig.update_layout(barmode="overlay", bargap=0, height=300 * rows + 60, margin=dict(t=50, b=40),
                      legend=dict(orientation="h", y=-0.08))
    fig.update_xaxes(title_text=f"value ({units})" if units else "value", row=rows)
    fig.update_yaxes(title_text="held-out rows", col=1)
    return fig


def curve_figure(curve: pd.DataFrame, units: str) -> go.Figure:
    """AD held-out RMSE and the spread of scores across backgrounds vs the number of backgrounds N (log x)."""
    unit = f" ({units})" if units else ""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[f"held-out RMSE{unit}", f"spread across backgrounds{unit}"])
    fig.add_trace(go.Scatter(x=curve["n"], y=curve["rmse"], mode="lines+markers", name="RMSE",
                             hovertemplate="N = %{x}<br>RMSE %{y:.4f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=curve["n"], y=curve["sd"], mode="lines+markers", name="sd across backgrounds",
                             hovertemplate="N = %{x}<br>sd %{y:.4f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=curve["n"], y=curve["sem"], mode="lines+markers", name="sd / √N",
                             hovertemplate="N = %{x}<br>sd/√N %{y:.4f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Scatter(x=curve["n"], y=curve["pred_sd"], mode="lines+markers", name="sd of predictions",
                             hovertemplate="N = %{x}<br>sd of predictions %{y:.4f}<extra></extra>"), row=1, col=2)
    fig.update_xaxes(type="log", title_text="number of backgrounds N")
    fig.update_layout(height=380, margin=dict(t=50, b=40), legend=dict(orientation="h", y=-0.25))
    return fig


def main() -> None:
    """Draw the Dynamic range page."""
    st.title("Dynamic range")
    selection = widgets.selection()
    run_id = widgets.require_scored_run(selection)
    if run_id is None:
        return
    units = data.library_units(selection.library)
    st.caption(f"Run `{run_id}` · library `{selection.library}` · held-out rows only.")
    histograms_section(run_id, selection.library, units)
    curve_section(run_id, selection.library, units)


def histograms_section(run_id: str, library: str, units: str) -> None:
    """Measured vs calibrated predicted histograms of the chosen methods and their sd ratios."""
    dynamic = data.analysis(run_id, library, "dynamic_range")
    if dynamic is None or dynamic.table is None or dynamic.table.empty:
        st.info(f"Run `{run_id}` has no dynamic-range histograms for `{library}`.")
        return
    table = dynamic.table
    methods = [s for s in table["series"].unique() if s != "measured"]
    payload = dynamic.payload or {}
    ratios = payload.get("sd_ratio", {})
    chosen = st.multiselect("Methods", methods, default=methods, format_func=method_label, key="dynamic_methods")
    if chosen:
        st.plotly_chart(histograms_figure(table, chosen, units, ratios), key="dynamic_histograms")
    else:
        st.caption("Choose at least one method.")
    measured_sd = payload.get("measured_sd_heldout", float("nan"))
    ratio_table = pd.DataFrame({"method": list(ratios), "sd_ratio": list(ratios.values())})
    ratio_table["predicted_sd"] = ratio_table["sd_ratio"] * measured_sd
    st.markdown(f"**sd ratio** = sd(calibrated predictions) / sd(measured) on the held-out rows "
                f"(measured sd {measured_sd:.4f}{' ' + units if units else ''}); 1 = the full dynamic range.")
    st.dataframe(ratio_table.assign(method=[method_label(m) for m in ratio_table["method"]]), hide_index=True,
                 key="dynamic_ratios")
    widgets.download_button(table[table["series"].isin(["measured", *chosen])], f"dynamic_range_{library}")


def curve_section(run_id: str, library: str, units: str) -> None:
    """AD's held-out RMSE and spread against the number of backgrounds (the run's ``backgrounds_curve``)."""
    st.subheader("Number of backgrounds")
    curve_payload = data.analysis_payload(run_id, library, "backgrounds_curve")
    curve = explore.backgrounds_curve_frame(curve_payload)
    if curve.empty:
        st.info(f"Run `{run_id}` has no backgrounds curve for `{library}`.")
        return
    curve_models = explore.backgrounds_curve_models(curve_payload)
    scored_by = ("the primary model alone" if curve_models in (None, 1)
                 else f"the mean of the first {curve_models} ensemble models")
    st.caption(f"AD scores of {scored_by}, recomputed from the first N backgrounds of one pool and "
               "re-calibrated on the curve's calibration rows; spread = mean over rows of the sd of Δ log counts "
               "across the N backgrounds, in calibrated units (none for N = 1).")
    st.plotly_chart(curve_figure(curve, units), key="dynamic_curve")
    st.dataframe(curve, hide_index=True, key="dynamic_curve_table")
    widgets.download_button(curve, f"backgrounds_curve_{library}")
