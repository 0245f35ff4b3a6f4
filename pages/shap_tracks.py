"""SHAP tracks: contribution scores of the counts head as a sequence logo, aligned with observed and predicted
profiles, for a held-out peak (stored DeepSHAP) or a typed sequence (DeepSHAP computed on demand)."""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from affdist_core.catalog.queries import ModelSources
from affdist_core.interpret.profiles import input_offsets, profile_frame
from affdist_core.interpret.tracks import ContributionTrack, contribution_frame
from affdist_core.io.user_text import parse_sequence
from affdist_core.seq.alphabet import ALPHABET
from app import cache, files, logos, widgets
from app.figures import BASE_COLOURS, add_profile_traces
from app.widgets import slug

DEFAULT_HALF_WIDTH = 50
MAX_LOGO_BP = 120  # letters are drawn (logomaker) up to this window width; wider windows get stacked bars
MODES = ("Held-out peak", "Typed sequence")


def track_figure(track: ContributionTrack, predicted, observed, window: tuple[int, int],
                 hypothetical: bool = False) -> go.Figure:
    """Three rows sharing one x axis (bp from centre): the sequence logo of the ``window`` (a logomaker PNG laid
    over the plot in data coordinates, so it zooms with the other rows; stacked bars for windows wider than
    ``MAX_LOGO_BP``), the profiles (+ strand up, − strand down) and the per-base contribution of the observed
    base over the whole input (coloured by base). The x range starts at ``window``; plotly's zoom works on all
    rows."""
    centre = track.seq_len // 2
    first, last = window[0] + centre, window[1] + centre + 1
    draw_letters = last - first <= MAX_LOGO_BP
    shown = "hypothetical, all bases" if hypothetical else "observed base"
    logo_title = f"Contribution scores ({shown})" if draw_letters else \
        f"Contribution scores ({shown}; letters for windows up to {MAX_LOGO_BP} bp)"
    figure = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.34, 0.38, 0.28],
                           subplot_titles=(logo_title, "Profiles (reads per base)",
                                           "Contribution per base, whole input"))
    offsets = input_offsets(track.seq_len)
    sequence = track.sequence
    values = (track.hypothetical if hypothetical else track.contrib)[first:last]
    ylim = logos.overlay_limits(values)
    figure.add_trace(go.Scatter(  # invisible points: the logo row's hover (and axis extent)
        x=offsets[first:last], y=track.per_base[first:last], mode="markers", marker={"opacity": 0},
        showlegend=False, name="logo",
        customdata=np.stack([list(sequence[first:last]), *[values[:, b].round(5) for b in range(4)]], axis=1),
        hovertemplate="%{x} bp: %{customdata[0]} %{y:.4f}<br>A %{customdata[1]} C %{customdata[2]} "
                      "G %{customdata[3]} T %{customdata[4]}<extra>contribution</extra>"), row=1, col=1)
    if draw_letters:
        png = logos.overlay_png(values, ylim)
        figure.add_layout_image(source="data:image/png;base64," + base64.b64encode(png).decode(), xref="x",
                                yref="y", x=window[0] - 0.5, y=ylim[1], sizex=window[1] - window[0] + 1,
                                sizey=ylim[1] - ylim[0], xanchor="left", yanchor="top", sizing="stretch",
                                layer="above")
    else:
        for b, base in enumerate(ALPHABET):
            figure.add_trace(go.Bar(x=offsets[first:last], y=values[:, b], name=f"{base} (logo)", showlegend=False,
                                    marker={"color": BASE_COLOURS[base]}, hoverinfo="skip"), row=1, col=1)
    figure.update_yaxes(range=list(ylim), title_text="contribution", row=1, col=1)

    add_profile_traces(figure, observed, predicted, row=2, col=1)
    figure.update_yaxes(title_text="reads (− below 0)", row=2, col=1)

    bases = track.onehot.argmax(axis=1)
    present = track.onehot.sum(axis=1) > 0
    per_base = track.per_base
    for b, base in enumerate(ALPHABET):
        mask = present & (bases == b)
        figure.add_trace(go.Bar(
            x=offsets[mask], y=per_base[mask], name=base, marker={"color": BASE_COLOURS[base]},
            legendgroup="bases", hovertemplate="%{x} bp: " + base + " %{y:.4f}<extra></extra>"), row=3, col=1)
    figure.update_yaxes(title_text="contribution", row=3, col=1)
    if track.insert is not None:
        start, end = (int(v) - centre for v in track.insert)
        for row in (2, 3):
            figure.add_vrect(x0=start - 0.5, x1=end - 0.5, fillcolor="#FFD166", opacity=0.25, line_width=0,
                             layer="below", row=row, col=1)
    figure.update_xaxes(range=[window[0] - 0.5, window[1] + 0.5])
    figure.update_xaxes(title_text="bp from centre", row=3, col=1)
    figure.update_layout(height=720, bargap=0.05, barmode="relative", margin={"t": 40, "l": 70, "r": 20, "b": 50},
                         legend={"orientation": "h", "y": -0.1}, hovermode="closest")
    return figure


def choose_track(sources: ModelSources) -> tuple[ContributionTrack, object, object] | None:
    """The mode widgets; returns (track, predicted (out_pred_len, 2) or None, observed or None) or None."""
    mode = st.radio("Explain", MODES, horizontal=True, key="shap_mode")
    if mode == MODES[0]:
        peaks = files.contribution_peaks(sources)
        labels = []
        for row in peaks.itertuples():
            where = f"{row.chrom}:{int(row.centre):,}" if hasattr(row, "chrom") else ""
            split = f" ({row.split})" if hasattr(row, "split") else ""
            reads = f", {int(row.observed_counts):,} reads" if hasattr(row, "observed_counts") else ""
            labels.append(f"{row.name}  {where}{split}{reads}")
        choice = st.selectbox(f"Held-out peak ({len(peaks)} with stored DeepSHAP scores, file order)",
                              range(len(peaks)), format_func=labels.__getitem__, key="shap_peak")
        track = files.peak_track(sources, choice)
        peak = peaks.iloc[choice]
        observed = None
        if "chrom" in peaks.columns and "centre" in peaks.columns:
            observed = files.observed_profile(sources, peak["chrom"], int(peak["centre"]))
        st.caption(f"{track.method}. Contributions of the counts head (total log counts); letter heights = "
                   "hypothetical contribution of the observed base.")
    else:
        text = st.text_area(
            f"DNA sequence (A/C/G/T, up to {sources.seq_len} bp)", key="shap_sequence", height=90,
            placeholder="e.g. TTAGCACGTGCTAA — placed at the centre of a shuffled held-out peak window")
        if not text.strip():
            st.info("Type or paste a sequence to compute its contribution scores.")
            return None
        try:
            sequence = parse_sequence(text, sources.seq_len)
        except ValueError as err:
            st.error(str(err))
            return None
        with st.spinner("Running DeepSHAP…"):
            track = cache.typed_track(sources, sequence)
        observed = None
        control = "; its profile is predicted with zero control inputs" if sources.has_control else ""
        st.caption(f"{track.method} on the same counts-head explainer as the stored tracks; the sequence is "
                   f"placed at the centre of {track.context} (highlighted). A typed sequence has no observed "
                   f"reads{control}.")
    predicted = None
    if sources.has_model:
        where = (None, None)
        if mode == MODES[0] and {"chrom", "centre"} <= set(peaks.columns):
            where = (peak["chrom"], int(peak["centre"]))
        predicted = cache.predicted_profile(sources, track.onehot, *where).counts[0]
    return track, predicted, observed


def main() -> None:
    """Draw the SHAP tracks page."""
    selection = widgets.selection()
    st.title("SHAP tracks")
    sources = widgets.choose_model(selection, key="shap_model")
    if sources is None:
        return
    if sources.contributions is None:
        st.info(f"No stored contribution scores for run `{sources.run_id}` (artifact kind 'contributions'); run "
                "`affdist interpret` on its model and rebuild the catalog.")
        return
    if not sources.has_model:
        st.warning(f"The model file `{sources.model_file}` is missing: stored tracks only, no predictions.")
    chosen = choose_track(sources)
    if chosen is None:
        return
    track, predicted, observed = chosen

    lo, hi = -(track.seq_len // 2), track.seq_len - track.seq_len // 2 - 1
    if track.insert is None:
        default, key = (-DEFAULT_HALF_WIDTH, DEFAULT_HALF_WIDTH), "shap_window_peak"
    else:
        start, end = (int(v) - track.seq_len // 2 for v in track.insert)
        default, key = (max(lo, start - 10), min(hi, end + 9)), f"shap_window_typed_{end - start}"
    window = st.slider("Logo window (bp from centre)", min_value=lo, max_value=hi, value=default, key=key,
                       help=f"Bases shown in the logo (letters up to {MAX_LOGO_BP} bp, stacked bars beyond); the "
                            "profiles start at the same window (zoom, or double-click the chart for the whole "
                            "input).")
    st.markdown(f"**{track.label}** — explained output {track.prediction:.3f} log counts, "
                f"Δ vs shuffled references {track.delta:+.3f}")
    hypothetical = st.toggle("Show hypothetical contributions (what each base would contribute there)",
                             key="shap_hypothetical")
    st.plotly_chart(track_figure(track, predicted, observed, window, hypothetical), width="stretch",
                    key="shap_figure")

    name = slug(f"{sources.model_id}_{track.label.split()[0]}")
    left, right = st.columns(2)
    with left:
        widgets.download_button(contribution_frame(track), f"contributions_{name}", "Download contributions (CSV)")
    if predicted is not None or observed is not None:
        frame = profile_frame(predicted if predicted is not None else observed,
                              observed if predicted is not None else None)
        with right:
            widgets.download_button(frame, f"profiles_{name}", "Download profiles (CSV)")
