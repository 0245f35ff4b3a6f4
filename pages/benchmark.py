"""Benchmark: the fixed pipeline over a panel of simulated worlds (``affdist benchmark PANEL.toml``) — in how many
worlds AD has the lowest held-out RMSE (with one model, the one MoDISco reads: the equal-budget comparison; and
with its ensemble), each world's simulator settings, and per world every method's held-out Pearson, RMSE and sd
ratio, mean ± sd over the simulation seeds."""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import data, widgets
from app.figures import method_label

AD_ONE_MODEL = "affinity_distillation_1"


def _label(method: str) -> str:
    return "AD, one model" if method == AD_ONE_MODEL else method_label(method)


def rmse_figure(summary: pd.DataFrame) -> go.Figure:
    """Per world (x), each method's mean held-out RMSE with its sd over seeds as an error bar."""
    figure = go.Figure()
    keys = [f"{w} · {r}" if summary["run"].nunique() > 1 else w
            for w, r in zip(summary["world"], summary["run"])]
    frame = summary.assign(key=keys)
    for method, rows in frame.groupby("method", sort=False):
        figure.add_trace(go.Bar(
            x=rows["key"], y=rows["rmse_mean"], name=_label(method),
            error_y=dict(type="data", array=rows["rmse_sd"].fillna(0).to_numpy(), visible=True),
            customdata=rows[["rank", "n_seeds"]].to_numpy(),
            hovertemplate="%{x}<br>RMSE %{y:.4f}<br>rank %{customdata[0]}, %{customdata[1]} seed(s)"
                          f"<extra>{_label(method)}</extra>"))
    figure.update_layout(barmode="group", height=440, yaxis_title="held-out RMSE (mean over seeds)",
                         margin=dict(t=30, b=80), legend=dict(orientation="h", y=-0.25))
    return figure


def main() -> None:
    """Draw the Benchmark page."""
    st.title("Benchmark")
    panels = data.benchmark_panels()
    if panels.empty:
        st.info("No benchmark panel in this catalog. Run one — `affdist benchmark benchmarks/panel.toml` (the "
                "fixed pipeline over simulated worlds × seeds, hours) or, to see the measured panel shipped with "
                "the code, `affdist benchmark benchmarks/panel.toml --table` (seconds: it reads the reports kept "
                "in `benchmarks/results/panel/`) — and open the catalog it fills (in `runs/panel/` by default) "
                "with `affdist app --catalog PATH`.")
        return
    names = panels["panel"].tolist()
    name = st.selectbox("Panel", names, key="benchmark_panel") if len(names) > 1 else names[0]
    payload = panels.set_index("panel").loc[name, "payload"]
    wins = payload["ad_lowest_rmse"]
    left, right = st.columns(2)
    left.metric("AD lowest RMSE, one model (equal budget)", f"{wins['one_model']} of {wins['of']} worlds")
    right.metric("AD lowest RMSE, its ensemble", f"{wins['ensemble']} of {wins['of']} worlds")
    st.caption(f"Panel `{payload['panel']}`, seeds {', '.join(map(str, payload['seeds']))}"
               + (" (quick sizes: a smoke test, not a measurement)" if payload.get("quick") else "")
               + ". Every world runs the same pipeline; a world changes only how the data are simulated. Rank: "
                 "by mean held-out RMSE among the motif methods and the AD it is compared with (1 = lowest).")
    summary = pd.DataFrame(payload["summary"])
    if summary.empty:
        st.info("No run of this panel has finished yet.")
        return
    st.plotly_chart(rmse_figure(summary), key="benchmark_rmse")
    widgets.download_button(summary, widgets.slug(f"benchmark_{name}"))
    number = st.column_config.NumberColumn
    for (world, run), rows in summary.groupby(["world", "run"], sort=False):
        st.subheader(f"{world} — {run}")
        setting = payload["worlds"].get(world, {})
        st.caption(f"Simulator overrides: `{json.dumps(setting.get('overrides', {}))}`; project "
                   f"`{setting.get('project', '')}`.")
        shown = rows.sort_values("rmse_mean").assign(method=[_label(m) for m in rows.sort_values("rmse_mean")["method"]])
        st.dataframe(shown[["method", "pearson_mean", "pearson_sd", "rmse_mean", "rmse_sd", "sd_ratio_mean",
                            "n_seeds", "rank"]], hide_index=True, key=f"benchmark_{world}_{run}",
                     column_config={"pearson_mean": number("Pearson", format="%.3f"),
                                    "pearson_sd": number("± sd", format="%.3f"),
                                    "rmse_mean": number("RMSE", format="%.4f"), "rmse_sd": number("± sd", format="%.4f"),
                                    "sd_ratio_mean": number("sd ratio", format="%.3f"), "n_seeds": "seeds"})
