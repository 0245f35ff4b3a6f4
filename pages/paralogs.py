"""Paralogs: when another TF has a library sharing sequences with the selected one (e.g. Pho4 and Cbf1 on the
same E-box flanks), measured vs measured values of the shared sequences — a binned density aggregated in DuckDB
with sampled points when there are many — and each TF's calibrated AD predictions for the shared sequences both
runs scored (differential specificity)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from affdist_core.catalog import explore
from app import data, logos, widgets
from app.figures import fmt3

POINTS_LIMIT = 5000  # above this many shared rows, "Auto" draws a density
SAMPLE_POINTS = 2000
BINS = 60
VIEWS = {"auto": f"Auto (density above {POINTS_LIMIT:,} rows)", "density": "Binned density",
         "points": f"Points (at most {POINTS_LIMIT:,})"}


def _identity(fig: go.Figure, *columns: pd.Series) -> None:
    """The y = x line across the range of the given non-empty columns."""
    lo, hi = float(min(c.min() for c in columns)), float(max(c.max() for c in columns))
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", hoverinfo="skip",
                             line=dict(color="grey", dash="dot", width=1), showlegend=False))


def density_figure(density: pd.DataFrame, sample: pd.DataFrame, bins: int, x_title: str, y_title: str,
                   note: str) -> go.Figure:
    """Heatmap of the binned shared rows (log colour) with a deterministic sample of points on top."""
    x, y, z = explore.density_grid(density, bins)
    fig = go.Figure(go.Heatmap(
        x=x, y=y, z=np.where(z > 0, np.log10(np.maximum(z, 1)), np.nan), customdata=z, name="density",
        colorscale="Viridis", colorbar=dict(title="log10 rows"),
        hovertemplate=f"{x_title} %{{x:.3f}}<br>{y_title} %{{y:.3f}}<br>%{{customdata}} rows<extra>density</extra>"))
    if len(sample):
        fig.add_trace(go.Scattergl(
            x=sample["x"], y=sample["y"], mode="markers", name=f"sample of {len(sample):,} rows",
            marker=dict(size=3, color="rgba(255,255,255,0.5)"), customdata=sample["sequence"],
            hovertemplate="%{customdata}<br>%{x:.3f}, %{y:.3f}<extra>sampled row</extra>"))
    if len(density):
        _identity(fig, density["x_left"], density["y_left"], density["x_right"], density["y_right"])
    _layout(fig, x_title, y_title, note)
    return fig


def points_figure(points: pd.DataFrame, x_title: str, y_title: str, note: str) -> go.Figure:
    """Every shared row as a point (hover: sequence and both ids)."""
    scatter = go.Scattergl if len(points) > 2000 else go.Scatter
    fig = go.Figure(scatter(
        x=points["x"], y=points["y"], mode="markers", name="shared sequences",
        marker=dict(size=4, opacity=0.6, color="#1f77b4"),
        customdata=list(zip(points["sequence"], points["id_a"], points["id_b"])),
        hovertemplate="%{customdata[0]}<br>ids %{customdata[1]} / %{customdata[2]}<br>%{x:.3f}, %{y:.3f}"
                      "<extra></extra>"))
    if len(points):
        _identity(fig, points["x"], points["y"])
    _layout(fig, x_title, y_title, note)
    return fig


def _layout(fig: go.Figure, x_title: str, y_title: str, note: str) -> None:
    fig.add_annotation(text=note, xref="paper", yref="paper", x=0.01, y=0.99, showarrow=False, align="left",
                       bgcolor="rgba(255,255,255,0.8)")
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title, height=480, margin=dict(t=30, b=40),
                      legend=dict(orientation="h", y=-0.15))


def predictions_figure(shared: pd.DataFrame, tf_a: str, tf_b: str, units: str) -> go.Figure:
    """Left: AD-predicted (calibrated) for TF a vs TF b. Right: predicted difference vs measured difference."""
    unit = f" ({units})" if units else ""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["AD predicted, both TFs", "differential: a − b"])
    custom = list(zip(shared["sequence"], shared["measured_a"], shared["measured_b"]))
    fig.add_trace(go.Scatter(
        x=shared["predicted_a"], y=shared["predicted_b"], mode="markers", name="AD predicted",
        customdata=custom, marker=dict(size=6, color="#2ca02c"),
        hovertemplate="%{customdata[0]}<br>predicted %{x:.3f} / %{y:.3f}<br>measured %{customdata[1]:.3f} / "
                      "%{customdata[2]:.3f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(
        x=shared["measured_a"] - shared["measured_b"], y=shared["predicted_a"] - shared["predicted_b"],
        mode="markers", name="difference", customdata=shared["sequence"], marker=dict(size=6, color="#9467bd"),
        hovertemplate="%{customdata}<br>measured a − b %{x:.3f}<br>predicted a − b %{y:.3f}<extra></extra>"),
        row=1, col=2)
    fig.update_xaxes(title_text=f"{tf_a} AD predicted{unit}", row=1, col=1)
    fig.update_yaxes(title_text=f"{tf_b} AD predicted{unit}", row=1, col=1)
    fig.update_xaxes(title_text=f"measured {tf_a} − {tf_b}{unit}", row=1, col=2)
    fig.update_yaxes(title_text=f"predicted {tf_a} − {tf_b}{unit}", row=1, col=2)
    fig.update_layout(height=420, showlegend=False, margin=dict(t=50, b=40))
    return fig


def main() -> None:
    """Draw the Paralogs page."""
    st.title("Paralogs")
    selection = widgets.selection()
    if selection.library is None:
        st.info(f"{selection.tf} has no in-vitro library in this catalog.")
        return
    others = data.paralog_libraries(selection.library, selection.tf)
    if others.empty:
        st.info(f"No other TF has a library sharing sequences with `{selection.library}` ({selection.tf}), so "
                "there is no paralog comparison. Add one in a project file: another `[[experiment]]` whose "
                "`[[library]]` holds the same sequences (e.g. Cbf1 on the Pho4 E-box flanks), or list both TFs "
                "in the library's `tf`.")
        return
    choices = [(row.library, row.tf) for row in others.itertuples()]
    labels = {(row.library, row.tf): f"{row.tf} on {row.library} ({row.n_shared:,} shared)"
              for row in others.itertuples()}
    other, tf_b = st.selectbox("Compare with", choices, format_func=labels.get, key="paralog_library")
    units_a, units_b = data.library_units(selection.library), data.library_units(other)
    if other == selection.library:
        st.subheader("Measured vs measured")
        st.caption(f"{selection.tf} and {tf_b} are both scored on `{other}`: one table of measured values, so "
                   "only the two TFs' predictions differ (below).")
    else:
        measured_section(selection, other, tf_b, units_a, units_b)
    predicted_section(selection, other, tf_b, units_a if units_a == units_b else "")
    differential_section(selection, tf_b)


def measured_section(selection: widgets.Selection, other: str, tf_b: str, units_a: str, units_b: str) -> None:
    """Measured vs measured values of the shared sequences: points, or a binned density when there are many."""
    library = selection.library
    x_title = f"{selection.tf} measured" + (f" ({units_a})" if units_a else "")
    y_title = f"{tf_b} measured" + (f" ({units_b})" if units_b else "")
    st.subheader("Measured vs measured")
    corr = data.shared_correlation(library, other)
    st.caption(f"{corr['n']:,} rows of `{library}` and `{other}` share a sequence. Pearson "
               f"{fmt3(corr['pearson'])}, Spearman {fmt3(corr['spearman'])} over all of them.")
    view = st.radio("Show", list(VIEWS), format_func=VIEWS.get, horizontal=True, key="paralog_view")
    note = f"Pearson {fmt3(corr['pearson'])}, Spearman {fmt3(corr['spearman'])} (n = {corr['n']:,})"
    if view == "density" or (view == "auto" and corr["n"] > POINTS_LIMIT):
        density = data.shared_density(library, other, BINS)
        sample = data.shared_points(library, other, SAMPLE_POINTS, 0)
        st.plotly_chart(density_figure(density, sample, BINS, x_title, y_title, note), key="paralog_measured")
        widgets.download_button(density, f"paralog_density_{library}_{other}")
        return
    sampled = corr["n"] > POINTS_LIMIT  # never more than POINTS_LIMIT points to the browser: a deterministic sample
    points = data.shared_points(library, other, POINTS_LIMIT if sampled else None, 0)
    if sampled:
        st.caption(f"Showing a deterministic sample of {len(points):,} of the {corr['n']:,} shared rows; the "
                   "binned density shows all of them.")
    st.plotly_chart(points_figure(points, x_title, y_title, note), key="paralog_measured")
    widgets.download_button(points, f"paralog_points_{library}_{other}")


def predicted_section(selection: widgets.Selection, other: str, tf_b: str, units: str) -> None:
    """Each TF's calibrated AD predictions of the shared sequences both runs scored."""
    library = selection.library
    st.subheader("Affinity Distillation predicted vs predicted")
    run_a, run_b = data.run_for(library, selection.tf), data.run_for(other, tf_b)
    if run_a is None or run_b is None:
        missing = [f"`{lib}` with a model of {tf}" for lib, tf, run in
                   ((library, selection.tf, run_a), (other, tf_b, run_b)) if run is None]
        st.info(f"No complete run has scored {' or '.join(missing)}, so there are no AD predictions to "
                "compare.")
        return
    shared = data.shared_predictions(run_a, library, run_b, other)
    if shared.empty:
        n_a, n_b = data.scored_row_count(run_a, library), data.scored_row_count(run_b, other)
        st.info(f"No shared sequence was scored by both runs (`{run_a}` scored {n_a:,} rows of `{library}`, "
                f"`{run_b}` {n_b:,} rows of `{other}`). Score the shared sequences with both models to compare "
                "predictions.")
        return
    pred = explore.heldout_metrics(shared["predicted_b"].to_numpy(), shared["predicted_a"].to_numpy())
    diff = explore.heldout_metrics((shared["predicted_a"] - shared["predicted_b"]).to_numpy(),
                                   (shared["measured_a"] - shared["measured_b"]).to_numpy())
    st.caption(f"{len(shared):,} shared sequence(s) scored by `{run_a}` and `{run_b}`, each calibrated with its "
               f"own run's fit. Predicted vs predicted: Pearson {fmt3(pred['pearson'])}; predicted vs measured "
               f"difference: Pearson {fmt3(diff['pearson'])}, Spearman {fmt3(diff['spearman'])}.")
    st.plotly_chart(predictions_figure(shared, selection.tf, tf_b, units), key="paralog_predicted")
    widgets.download_button(shared, f"paralog_predictions_{library}_{other}")


METHOD_COLUMNS = {"method": "method", "n": "shared held-out rows", "pearson": "Pearson", "spearman": "Spearman",
                  "rmse": "RMSE", "sign_agreement": "sign agreement (both tails)",
                  "sign_agreement_a": "sign agreement, tail a prefers", "sign_agreement_b": "sign agreement, tail b prefers"}


def differential_table(comparison: dict) -> pd.DataFrame:
    """Every method's differential-specificity metrics of one stored comparison, lowest RMSE first."""
    frame = pd.DataFrame(comparison["methods"])
    return frame.sort_values("rmse", na_position="last")[list(METHOD_COLUMNS)].rename(columns=METHOD_COLUMNS)


def difference_figure(shared: pd.DataFrame, method: str, tf_a: str, tf_b: str, record: dict) -> go.Figure:
    """Measured vs predicted difference a − b of one method on the shared held-out rows (hover: sequence)."""
    points = pd.DataFrame({"x": shared["measured_diff"], "y": shared[f"{method}_diff"],
                           "sequence": shared["sequence"]})
    scatter = go.Scattergl if len(points) > 2000 else go.Scatter
    fig = go.Figure(scatter(x=points["x"], y=points["y"], mode="markers", name=method, customdata=points["sequence"],
                            marker=dict(size=4, opacity=0.5, color="#9467bd"),
                            hovertemplate="%{customdata}<br>measured %{x:.3f}<br>predicted %{y:.3f}<extra></extra>"))
    if len(points):
        _identity(fig, points["x"], points["y"])
    note = (f"{method}: Pearson {fmt3(record.get('pearson'))}, RMSE {fmt3(record.get('rmse'))} "
            f"(n = {len(points):,})")
    _layout(fig, f"measured {tf_a} − {tf_b}", f"predicted {tf_a} − {tf_b}", note)
    return fig


def difference_scatter(run_a: str, library: str, tf_b: str, comparison: dict) -> None:
    """One method's predicted difference against the measured one, from the analysis' stored shared rows."""
    shared = data.paralog_shared_rows(run_a, library, tf_b)
    if shared is None:
        st.info(f"The paralog analysis' table of shared rows (`{comparison.get('table')}`) is not readable from "
                "here, so only the summary is shown.")
        return
    records = {m["method"]: m for m in comparison["methods"] if f"{m['method']}_diff" in shared.columns}
    ranked = sorted(records, key=lambda m: np.inf if records[m]["rmse"] is None else records[m]["rmse"])
    if not ranked:
        return
    method = st.selectbox("Scatter of", ranked, key="paralog_scatter_method")
    st.plotly_chart(difference_figure(shared, method, comparison["tf_a"], comparison["tf_b"], records[method]),
                    key="paralog_difference")
    widgets.download_button(shared[["sequence", "measured_diff", f"{method}_diff"]],
                            f"paralog_difference_{comparison['tf_a']}_{comparison['tf_b']}_{method}")


def differential_section(selection: widgets.Selection, tf_b: str) -> None:
    """Every method's predicted difference against the measured one (the project's paralog analysis, each
    method calibrated per TF on that TF's calibration rows), and the flank logos of what each TF prefers."""
    st.subheader("Differential specificity, every method")
    run_a = data.run_for(selection.library, selection.tf)
    found = [] if run_a is None else [c for c in data.paralog_comparisons(run_a, selection.library)
                                      if tf_b in (c["tf_a"], c["tf_b"])]
    if not found:
        st.info(f"No paralog analysis of {selection.tf} and {tf_b} is recorded for `{selection.library}`. "
                "`affdist run` makes one for every pair of TFs of a project whose own runs scored libraries "
                "sharing sequences (each TF's model on its own library).")
        return
    comparison = found[0]
    tf_a, tf_other = comparison["tf_a"], comparison["tf_b"]
    tail = comparison["tail_fraction"]
    st.caption(f"Measured and predicted {comparison['difference']} on the {comparison['n_shared']:,} sequences "
               f"both runs held out (`{comparison['run_a']}`, `{comparison['run_b']}`); each method calibrated "
               f"per TF on its own run's calibration rows"
               + ("" if comparison["same_calibration_rows"] else " (the two runs calibrated on different rows)")
               + f". Sign agreement: in the {tail:.0%} of sequences with the lowest and the {tail:.0%} with the "
               f"highest measured difference, where the paralogs disagree most.")
    table = differential_table(comparison)
    st.dataframe(table, hide_index=True)
    widgets.download_button(table, f"paralog_differential_{tf_a}_{tf_other}")
    difference_scatter(run_a, selection.library, tf_b, comparison)
    sources = list(comparison["preferences"])
    source = st.selectbox("Logos from", sources, key="paralog_logo_source",
                          format_func=lambda s: "measured values" if s == "measured" else f"{s} predictions")
    columns = st.columns(2)
    for column, tf in zip(columns, (tf_a, tf_other)):
        matrix = np.asarray(comparison["preferences"][source][tf])
        column.image(logos.logo_png(matrix, "information", title=f"{tf} prefers (its {tail:.0%} tail)",
                                    height=2.0, width=4.0), width="stretch")
