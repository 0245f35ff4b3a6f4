"""Methods: held-out RMSE, Pearson and Spearman of every method of the selected library's run — the motif each
method reports and the mean ± sd over its top k motifs —, how they move with the calibration sample, and, for
libraries with categories, per category."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from affdist_core.catalog import explore
from affdist_core.catalog.explore import READOUT_METRICS
from affdist_core.common.names import AD_METHOD
from app import data, widgets
from app.figures import method_label

METRIC_TITLES = {"rmse": "RMSE", "pearson": "Pearson r", "spearman": "Spearman ρ"}


def metrics_figure(metrics: pd.DataFrame, units: str) -> go.Figure:
    """Three panels (RMSE, Pearson, Spearman): per method the reported motif's value and the top-k mean ± sd."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[f"RMSE ({units})" if units else "RMSE",
                                                        METRIC_TITLES["pearson"], METRIC_TITLES["spearman"]])
    labels = ["AD" if m == AD_METHOD else method_label(m) for m in metrics["method"]]
    motif = metrics["motif_id"].where(metrics["motif_id"].notna(), "—")
    consensus = metrics["consensus"].where(metrics["consensus"].notna(), "—")
    custom = list(zip(motif, consensus, metrics["scoring"], metrics["k"]))
    for col, metric in enumerate(("rmse", "pearson", "spearman"), start=1):
        fig.add_trace(go.Bar(
            x=labels, y=metrics[metric], name="reported motif", legendgroup="reported", showlegend=col == 1,
            marker_color="#1f77b4", customdata=custom,
            hovertemplate="%{x}<br>motif %{customdata[0]} (%{customdata[1]})<br>scoring %{customdata[2]}<br>"
                          f"{METRIC_TITLES[metric]} %{{y:.4f}}<extra>reported motif</extra>"), row=1, col=col)
        fig.add_trace(go.Bar(
            x=labels, y=metrics[f"{metric}_mean"], name="top-k mean ± sd", legendgroup="topk",
            showlegend=col == 1, marker_color="#ff7f0e", customdata=custom,
            error_y=dict(type="data", array=metrics[f"{metric}_sd"].fillna(0).to_numpy(), visible=True),
            hovertemplate="%{x}<br>mean over the top %{customdata[3]} motif(s), scoring %{customdata[2]}<br>"
                          f"{METRIC_TITLES[metric]} %{{y:.4f}}<extra>top-k mean ± sd</extra>"), row=1, col=col)
    fig.update_layout(barmode="group", height=420, margin=dict(t=60, b=40), legend=dict(orientation="h", y=-0.15))
    return fig


def category_figure(by_category: pd.DataFrame, metric: str, units: str) -> go.Figure:
    """Grouped bars: one group per category, one bar per method."""
    fig = go.Figure()
    for method, rows in by_category.groupby("method", sort=False):
        fig.add_trace(go.Bar(x=rows["category"], y=rows[metric], name=method_label(method),
                             customdata=rows["n"],
                             hovertemplate="%{x}<br>" + f"{METRIC_TITLES[metric]} " + "%{y:.4f}<br>n = %{customdata}"
                                           f"<extra>{method_label(method)}</extra>"))
    title = METRIC_TITLES[metric] + (f" ({units})" if metric == "rmse" and units else "")
    fig.update_layout(barmode="group", height=400, yaxis_title=title, xaxis_title="category",
                      margin=dict(t=30, b=40))
    return fig


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(method=[method_label(m) for m in frame["method"]])


def main() -> None:
    """Draw the Methods page."""
    st.title("Methods")
    selection = widgets.selection()
    run_id = widgets.require_scored_run(selection, ", so there is no method comparison")
    if run_id is None:
        return
    library = selection.library
    fits = data.calibration_fits(run_id, library)
    if fits.empty:
        st.info(f"Run `{run_id}` stored no calibration fits for `{library}`.")
        return
    units = data.library_units(library)
    comparison = data.analysis(run_id, library, "comparison")
    comparison_payload = comparison.payload if comparison is not None else None
    choices = explore.reported_choices(fits, comparison_payload)

    st.caption(f"Run `{run_id}` · library `{library}` · metrics on the held-out rows "
               f"(n = {int(fits['n_heldout'].max())}), every method calibrated on the same sample. The reported "
               "motif is the one the run's comparison names (rank 1, with the reduction that fits the calibration "
               "rows better).")
    top_k = st.slider("Top k motifs per method (mean ± sd)", min_value=1, max_value=explore.MAX_TOP_K,
                      value=explore.MAX_TOP_K, key="methods_top_k")
    metrics = explore.method_metrics(fits, choices, top_k)
    st.plotly_chart(metrics_figure(metrics, units), key="methods_bars")
    shown = _labelled(metrics)
    st.dataframe(shown, hide_index=True, key="methods_table",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in shown.columns
                                if c.startswith(("rmse", "pearson", "spearman"))})
    widgets.download_button(metrics, f"methods_{library}_top{top_k}")

    readouts_section(run_id, comparison_payload)
    robustness_section(run_id, library)
    members_section(run_id, library, comparison_payload)
    category_section(run_id, library, units)


def readouts_section(run_id: str, comparison: dict | None) -> None:
    """AD's read-outs of the same model(s) and which one the run reports (chosen on the calibration rows)."""
    st.subheader("Affinity Distillation: read-outs")
    entry = (comparison or {}).get(AD_METHOD) or {}
    frame = explore.readouts_frame(entry)
    if frame.empty:
        st.caption(f"Run `{run_id}` predates the read-out choice: its AD score is the counts read-out.")
        return
    rule = ((entry.get("readouts") or {}).get("choice") or {}).get("rule", "")
    st.caption("Read-outs of the same model(s): marginalization's finite difference (Δ log counts of the "
               "insert); the model's mean per-base response (DeepSHAP hypothetical contributions) at its sites in "
               "held-out peaks; the same response read apart at the sites that carry the library's constant "
               "bases (its core) and at the others (weakened cores), when the library has such bases; and "
               "least-squares mixes of them (weights on the calibration rows). "
               f"The run reports one ({rule or 'chosen on the calibration rows'}); the held-out rows were not "
               "looked at. Each row: that read-out calibrated on the same sample, judged on the same held-out "
               "rows.")
    st.dataframe(frame, hide_index=True, key="methods_readouts_table",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in READOUT_METRICS})


def robustness_section(run_id: str, library: str) -> None:
    """Held-out metrics over random calibration samples (the run's ``calibration_resampling`` analysis)."""
    st.subheader("Robustness to the calibration sample")
    resampling = data.analysis_payload(run_id, library, "calibration_resampling")
    robustness = explore.calibration_resampling_frame(resampling)
    if robustness.empty:
        st.caption(f"Run `{run_id}` predates this analysis; rerun `affdist demo` to add it.")
        return
    st.caption(f"Every method re-calibrated on {resampling['n_samples']} random samples of "
               f"{resampling['sample_size']:,} rows (the same rows for every method in each draw; each "
               "method keeps its reported motif and scoring): held-out metrics as mean ± sd, and the share of "
               "samples in which the method had the lowest RMSE or the highest sd ratio. With a linear "
               "calibration the sd ratio is about the Pearson r on the calibration rows, so it moves with the "
               "sample.")
    st.dataframe(_labelled(robustness), hide_index=True, key="methods_resampling_table",
                 column_config={**{c: st.column_config.NumberColumn(format="%.4f") for c in robustness.columns
                                   if c.startswith(("rmse", "pearson", "sd_ratio"))},
                                **{c: st.column_config.NumberColumn(format="percent") for c in robustness.columns
                                   if c.endswith("fraction")}})
    widgets.download_button(robustness, f"methods_resampling_{library}")


def members_section(run_id: str, library: str, comparison: dict | None) -> None:
    """Each ensemble member's own held-out metrics next to the ensemble mean's."""
    st.subheader("Affinity Distillation: ensemble and its members")
    members = explore.ensemble_members_frame(data.analysis_payload(run_id, library, "ensemble_members"),
                                             (comparison or {}).get(AD_METHOD))
    if members.empty:
        st.caption(f"Run `{run_id}` scored with a single model (`affdist demo --models K` averages K models).")
        return
    st.caption(f"AD scores are the mean of {len(members) - 1} BPNets trained on the same data with different "
               "seeds; each member's own score, calibrated on the same sample and judged on the same held-out "
               "rows, shows what a single model would have reported. The members cost no extra model "
               "evaluations: one call scores them all.")
    st.dataframe(members, hide_index=True, key="methods_members_table",
                 column_config={c: st.column_config.NumberColumn(format="%.4f") for c in members.columns
                                if c in ("pearson", "spearman", "rmse", "sd_ratio")})
    widgets.download_button(members, f"methods_ensemble_members_{library}")


def category_section(run_id: str, library: str, units: str) -> None:
    """Held-out metrics per row category, for libraries with categories."""
    st.subheader("By category")
    if not data.library_has_categories(library):
        st.caption(f"Library `{library}` has no row categories (e.g. single substitutions, spacers), so "
                   "there is no per-category breakdown.")
        return
    by_category = explore.metrics_by_category(data.calibrated_predictions(run_id, library))
    metric = st.selectbox("Metric", list(METRIC_TITLES), format_func=METRIC_TITLES.get,
                          key="methods_category_metric")
    st.plotly_chart(category_figure(by_category, metric, units), key="methods_category_bars")
    st.dataframe(_labelled(by_category), hide_index=True, key="methods_category_table")
    widgets.download_button(by_category, f"methods_by_category_{library}")
