"""Overview: each TF × library's headline (AD vs the best motif method on held-out rows), what the catalog holds
(TFs, libraries, models, runs with provenance) and how good the selected TF's model is (observed vs predicted log counts per chromosome split, metrics, profiles at held-out peaks)."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from affdist_core.catalog import explore
from affdist_core.interpret.profiles import profile_frame
from app import cache, data, files, figures, widgets
from app.widgets import slug

SPLIT_COLOURS = {"train": "#9AA5B1", "valid": "#F2A541", "test": "#2E86AB"}


SIMULATED_NOTE = (
    "**Simulated in-vivo data.** Runs marked simulated ({runs}) did not use measured ChIP-nexus reads: the "
    "simulator made them, with the in-vitro library itself as the TF's flank energies (plus JASPAR core "
    "penalties, accessibility and read models of its own). Such a run shows that the pipeline recovers an "
    "affinity landscape that really shaped the reads, and how it compares with motif methods on the same "
    "files; it does not show how well in-vivo binding follows in-vitro affinity in a real cell, and one world "
    "is one set of mechanisms — the benchmark panel (`affdist benchmark benchmarks/panel.toml`) runs others.")


def simulated_note() -> None:
    """Say plainly which runs are simulated and what that proves (nothing when none is)."""
    runs = data.runs_table()
    simulated = [r.run_id for r in runs.itertuples() if isinstance(r.config, dict) and "simulation" in r.config]
    if simulated:
        shown = ", ".join(f"`{r}`" for r in simulated[:4]) + (f" and {len(simulated) - 4} more"
                                                               if len(simulated) > 4 else "")
        st.info(SIMULATED_NOTE.format(runs=shown))


def headline_section() -> None:
    """Every TF × library at a glance: AD's held-out Pearson and RMSE next to the best motif method's."""
    table = explore.headline_table(data.headline_inputs())
    st.subheader("Headlines: Affinity Distillation vs the best motif method")
    if table.empty:
        st.info("No run in this catalog has scored a library yet, so there is nothing to compare.")
        return
    shown = table.assign(library=[f"{lib} ({units})" if units else lib
                                  for lib, units in zip(table["library"], table["units"])])
    number = st.column_config.NumberColumn
    st.dataframe(
        shown[["tf", "library", "n_heldout", "n_models", "ad_pearson", "ad_rmse", "ad_one_model_pearson",
               "ad_one_model_rmse", "best_motif_method", "best_motif", "motif_pearson", "motif_rmse", "rmse_ratio",
               "winner", "test_counts_pearson", "run_id"]],
        hide_index=True, width="stretch", key="overview_headlines",
        column_config={
            "tf": "TF", "library": "library (units)",
            "n_heldout": number("held-out rows", format="localized"),
            "n_models": number("AD models"),
            "ad_pearson": number("AD Pearson", format="%.3f"), "ad_rmse": number("AD RMSE", format="%.4f"),
            "ad_one_model_pearson": number("AD 1 model Pearson", format="%.3f",
                                           help="the primary model alone: the model MoDISco reads"),
            "ad_one_model_rmse": number("AD 1 model RMSE", format="%.4f"),
            "best_motif_method": "best motif method", "best_motif": "its motif (scoring)",
            "motif_pearson": number("motif Pearson", format="%.3f"),
            "motif_rmse": number("motif RMSE", format="%.4f"),
            "rmse_ratio": number("RMSE AD / motif", format="%.3f", help="below 1: AD is closer to the measurements"),
            "winner": "lower RMSE",
            "test_counts_pearson": number("model test r", format="%.3f",
                                          help="the BPNet's log-count Pearson on its held-out test chromosomes"),
            "run_id": "run"})
    st.caption("Held-out rows: library rows the run scored that are not in its calibration sample; every method "
               "is calibrated on the same sample and judged on the same rows, RMSE in the library's units. Best "
               "motif method: the lowest held-out RMSE among the motif baselines (STREME, Weeder, MoDISco, "
               "JASPAR, the project's motif files), each with the motif and scoring it reports. AD averages "
               "the scores of its models; MoDISco reads the primary model only, so the equal-budget comparison "
               "is AD with one model (the primary's own score). Latest complete run per TF × library; details "
               "on the Methods page.")
    widgets.download_button(table, "headlines")


def catalog_section() -> None:
    """Counts, the TF and library tables, models, runs and each run's provenance."""
    counts = data.catalog_counts()
    for column, (label, key) in zip(st.columns(4), (("Transcription factors", "tfs"), ("Libraries", "libraries"),
                                                    ("Models", "models"), ("Runs", "runs"))):
        column.metric(label, f"{counts[key]:,}")

    left, right = st.columns([2, 3])
    with left:
        st.subheader("Transcription factors")
        st.dataframe(data.tfs_table(), hide_index=True, width="stretch")
    with right:
        st.subheader("Libraries")
        st.dataframe(data.libraries_table(), hide_index=True, width="stretch",
                     column_config={"rows": st.column_config.NumberColumn("rows", format="localized")})

    st.subheader("Models")
    st.dataframe(data.models(), hide_index=True, width="stretch")

    st.subheader("Runs")
    runs = data.runs_table()
    st.dataframe(runs[["run_id", "command", "status", "started_at", "finished_at", "duration_s"]],
                 hide_index=True, width="stretch",
                 column_config={"duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f")})
    for run in runs.itertuples():
        with st.expander(f"Provenance of `{run.run_id}` ({run.status})"):
            st.json({"command": run.command, "status": run.status, "started_at": str(run.started_at),
                     "finished_at": str(run.finished_at), "seeds": run.seeds, "versions": run.versions,
                     "timings_s": run.timings, "config": run.config}, expanded=1)


def counts_figure(points, pearson: dict) -> go.Figure:
    """Observed vs predicted log counts, one trace per split, Pearson r in the legend."""
    figure = go.Figure()
    for split in ("train", "valid", "test"):
        part = points[points["split"] == split]
        if part.empty:
            continue
        r, n = pearson.get(split, (float("nan"), len(part)))
        figure.add_trace(go.Scattergl(
            x=part["observed_log_counts"], y=part["predicted_log_counts"], mode="markers",
            name=f"{split} (r = {r:.2f}, n = {n:,})", marker={"color": SPLIT_COLOURS[split], "size": 6,
                                                                "opacity": 0.7},
            customdata=part[["name", "chrom", "centre"]].to_numpy(),
            hovertemplate="%{customdata[0]} %{customdata[1]}:%{customdata[2]:,}<br>observed %{x:.2f}"
                          "<br>predicted %{y:.2f}<extra>" + split + "</extra>"))
    if not points.empty:
        values = points[["observed_log_counts", "predicted_log_counts"]].to_numpy()
        lo, hi = float(values.min()), float(values.max())
        figure.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", hoverinfo="skip",
                                    line={"color": "#555555", "dash": "dot", "width": 1}))
    figure.update_layout(xaxis_title="observed log(1 + reads)", yaxis_title="predicted log(1 + reads)",
                         height=460, margin={"t": 30, "l": 60, "r": 20, "b": 50}, legend={"title": "split"})
    return figure


def profile_figure(observed, predicted, title: str) -> go.Figure:
    """Observed and predicted reads per base around a peak; + strand up, − strand drawn downwards."""
    figure = go.Figure()
    figures.add_profile_traces(figure, observed, predicted)
    figure.update_layout(title=title, xaxis_title="bp from summit", yaxis_title="reads per base (− strand below 0)",
                         height=380, margin={"t": 50, "l": 60, "r": 20, "b": 50}, hovermode="x unified")
    return figure


def model_section(selection: widgets.Selection) -> None:
    """Observed vs predicted counts, metrics per split and example profiles of the chosen model of the TF."""
    st.header(f"Model quality{f' — {selection.tf}' if selection.tf else ''}")
    sources = widgets.choose_model(selection, key="overview_model")
    if sources is None:
        return
    table = data.metrics_table(sources.model_id)
    pearson = data.split_pearson(sources.model_id)
    points = data.counts_points(sources.model_id)

    left, right = st.columns([3, 2])
    with left:
        st.subheader("Observed vs predicted log counts")
        if points.empty:
            st.info("This model has no per-window counts (model_counts) in the catalog.")
        else:
            st.plotly_chart(counts_figure(points, pearson), width="stretch", key="overview_counts")
            held = ", ".join(sources.test_chroms) or "none"
            st.caption(f"One point per peak window; train/valid/test are chromosome splits (test = {held}, never "
                       "seen in training or model selection). r = Pearson of log counts (model_metrics).")
            widgets.download_button(points, slug(f"observed_vs_predicted_{sources.model_id}"))
    with right:
        st.subheader("Metrics per split")
        if table.empty:
            st.info("No metrics recorded for this model.")
        else:
            st.dataframe(table, hide_index=True, width="stretch",
                         column_config={c: st.column_config.NumberColumn(c, format="%.4g")
                                        for c in table.columns if c != "metric"})
            st.caption("counts_*: log-count correlations; profile_nll / profile_jsd: per-strand profile fit "
                       "(lower is better) against the uniform and shuffled baselines.")
            widgets.download_button(table, slug(f"metrics_{sources.model_id}"))

    st.subheader("Example profiles at held-out peaks")
    peaks = data.held_out_peaks(sources, "test")
    if peaks.empty:
        st.info("No held-out (test-chromosome) peak windows for this model.")
        return
    labels = [f"{r.name}  {r.chrom}:{r.centre:,}  (observed {r.observed_log_counts:.2f}, predicted "
              f"{r.predicted_log_counts:.2f} log counts)" for r in peaks.itertuples()]
    choice = st.selectbox(f"Peak ({len(peaks)} on {', '.join(sources.test_chroms)}, strongest first)",
                          range(len(peaks)), format_func=labels.__getitem__, key="overview_peak")
    peak = peaks.iloc[choice]
    observed = files.observed_profile(sources, peak["chrom"], int(peak["centre"]))
    onehot = files.window_onehot(sources, peak["chrom"], int(peak["centre"]))
    predicted = None
    if onehot is None:
        st.warning("The genome FASTA of this run is missing; predicted profiles cannot be computed.")
    elif not sources.has_model:
        st.warning(f"The model file `{sources.model_file}` is missing; showing observed reads only.")
    else:
        with st.spinner("Predicting…"):
            predicted = cache.predicted_profile(sources, onehot, peak["chrom"], int(peak["centre"])).counts[0]
    if observed is None:
        st.warning("The strand bigWigs of this run are missing; showing predictions only.")
    if observed is None and predicted is None:
        return
    title = f"{peak['name']} {peak['chrom']}:{int(peak['centre']):,}"
    st.plotly_chart(profile_figure(observed, predicted, title), width="stretch", key="overview_profile")
    st.caption("Observed: read 5′ ends per base from the run's strand bigWigs. Predicted: the model's expected "
               "reads per base = softmax(profile logits) × (exp(predicted log counts) − 1), per strand, "
               "reverse-complement averaged"
               + ("; control inputs from the run's control track." if sources.has_control else "."))
    if predicted is not None:
        frame = profile_frame(predicted, observed)
    else:
        frame = profile_frame(observed).rename(columns={"predicted": "observed"})
    widgets.download_button(frame.assign(chrom=peak["chrom"], centre=int(peak["centre"])),
                            slug(f"profile_{sources.model_id}_{peak['name']}"))


def main() -> None:
    """Draw the Overview page."""
    selection = widgets.selection()
    st.title("Overview")
    simulated_note()
    headline_section()
    catalog_section()
    model_section(selection)
