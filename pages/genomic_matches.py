"""Genomic matches: library sequences that occur in the genome — in-vivo observed counts around each match vs
its in-vitro value, and the model's predicted counts vs the observed ones; all matches, in called peaks, or
outside them."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from affdist_core.catalog import explore
from app import data, widgets
from app.figures import fmt3

SUBSETS = {"all": "All matches", "in_peak": "In called peaks", "outside": "Outside peaks"}
GROUPS = ((True, "in peak", "#d62728"), (False, "outside peaks", "#1f77b4"))
WEBGL_ABOVE = 5000


def match_figure(matches: pd.DataFrame, x: str, y: str, x_title: str, y_title: str, note: str) -> go.Figure:
    """Scatter of two columns of the matches, coloured by in-peak, with a correlation note in the corner."""
    fig = go.Figure()
    scatter = go.Scattergl if len(matches) > WEBGL_ABOVE else go.Scatter
    for flag, name, colour in GROUPS:
        rows = matches[matches["in_peak"] == flag]
        if rows.empty:
            continue
        fig.add_trace(scatter(
            x=rows[x], y=rows[y], mode="markers", name=name, marker=dict(color=colour, size=6, opacity=0.7),
            customdata=list(zip(rows["id"], rows["chrom"], rows["start"], rows["strand"], rows["split"])),
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}:%{customdata[2]} (%{customdata[3]}), "
                          "%{customdata[4]}<br>" + f"{x_title}: " + "%{x:.3f}<br>" + f"{y_title}: " + "%{y:.3f}"
                          f"<extra>{name}</extra>"))
    fig.add_annotation(text=note, xref="paper", yref="paper", x=0.01, y=0.99, showarrow=False, align="left",
                       bgcolor="rgba(255,255,255,0.8)")
    fig.update_layout(xaxis_title=x_title, yaxis_title=y_title, height=430, margin=dict(t=30, b=40),
                      legend=dict(orientation="h", y=-0.18))
    return fig


def main() -> None:
    """Draw the Genomic matches page."""
    st.title("Genomic matches")
    selection = widgets.selection()
    run_id = widgets.require_scored_run(selection)
    if run_id is None:
        return
    library = selection.library
    result = data.analysis(run_id, library, "genomic_matches")
    if result is None or result.table is None:
        st.info(f"Run `{run_id}` has no genomic-match analysis for `{library}`.")
        return
    table = result.table
    if table.empty:
        st.info(f"No sequence of `{library}` occurs in the genome of run `{run_id}` (either strand), so "
                "there is nothing to compare in vivo.")
        return
    units = data.library_units(library)
    st.caption(f"Run `{run_id}` · library `{library}` · {len(table)} genomic occurrence(s) of "
               f"{table['id'].nunique()} library sequence(s). Observed = log(1 + ChIP-nexus reads on both strands "
               "around the match); predicted = the model's total log counts for the window centred on it.")

    subset = st.radio("Matches", list(SUBSETS), format_func=SUBSETS.get, horizontal=True, key="genomic_subset")
    shown = {"all": table, "in_peak": table[table["in_peak"]], "outside": table[~table["in_peak"]]}[subset]
    corr = explore.genomic_match_correlations(shown)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("matches", corr["n"])
    c2.metric("Spearman observed vs in vitro", fmt3(corr["observed_vs_invitro_spearman"]))
    c3.metric("Spearman predicted vs in vitro", fmt3(corr["predicted_vs_invitro_spearman"]))
    c4.metric("Pearson predicted vs observed", fmt3(corr["predicted_vs_observed_pearson"]))
    if shown.empty:
        st.info(f"No match in this subset ({SUBSETS[subset].lower()}).")
        return

    value_title = f"in-vitro value ({units})" if units else "in-vitro value"
    left, right = st.columns(2)
    with left:
        st.plotly_chart(match_figure(
            shown, "value", "observed_log_counts", value_title, "observed log counts",
            f"Spearman {fmt3(corr['observed_vs_invitro_spearman'])} (n = {corr['n']})"),
            key="genomic_invivo_invitro")
    with right:
        st.plotly_chart(match_figure(
            shown, "observed_log_counts", "predicted_log_counts", "observed log counts", "predicted log counts",
            f"Pearson {fmt3(corr['predicted_vs_observed_pearson'])} (n = {corr['n']})"), key="genomic_predicted")
    st.dataframe(shown, hide_index=True, key="genomic_table")
    widgets.download_button(shown, f"genomic_matches_{library}_{subset}")
