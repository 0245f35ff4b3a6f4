"""Variant ΔΔG: predicted ΔΔG of typed, pasted or uploaded sequences and of reference/alternative pairs, by
marginalization with the TF's model and the current calibration (parsing and validation in
:mod:`affdist_core.io.user_text`, scoring in :mod:`affdist_core.marginalize.variants`; the run's marginalizer is
shared across sessions behind :mod:`app.cache`'s model lock)."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from affdist_core.calibrate.bootstrap import DEFAULT_BOOTSTRAP, LinearCalibration
from affdist_core.common.names import ModelDir
from affdist_core.io import user_text as ut
from affdist_core.marginalize import variants
from affdist_core.marginalize.spec import ModelSpec
from app import cache, data, subsets, widgets

log = logging.getLogger(__name__)

MODES = ("Type or paste sequences", "Upload FASTA / CSV", "Reference / alternative pair")
MAX_BARS = 60
EXAMPLE = "AAAAACACGTGAAATC\nTTTTTCACGTGTTTTC\nGCGCGCACGTGGCGCG"


def _calibration(run_id: str, library: str, units: str) -> LinearCalibration | None:
    """The stored AD calibration, or the user's from the Calibration page (a choice when both exist)."""
    table = data.scored_table(run_id, library)
    stored = data.stored_sample(run_id, library, len(table))
    mine = subsets.user_calibration(run_id, library)
    options = {}
    if stored is not None:
        options[f"Stored calibration ({stored.rule}, seed {stored.seed}, {stored.size:,} rows)"] = \
            (stored, f"stored ({stored.rule}, seed {stored.seed})")
    if mine is not None:
        options[f"Yours from the Calibration page ({mine.rule}, {mine.size:,} rows)"] = (mine, f"yours ({mine.rule})")
    if not options:
        st.info(f"Run `{run_id}` stored no calibration sample; open the Calibration page to choose one.")
        return None
    choice = st.radio("Calibration", list(options), key="var_calibration", horizontal=True)
    sample, label = options[choice]
    return subsets.ad_calibration(run_id, library, sample, label, units)


def _read_input(mode: str) -> ut.VariantQueries | None:
    """Draw the input widgets of ``mode``; parse what was given (VariantInputError on bad input)."""
    if mode == MODES[0]:
        text = st.text_area("Sequences (one per line, FASTA, or `ref alt` pairs per line)", key="var_text",
                            height=140, placeholder=EXAMPLE)
        return ut.parse_text(text) if text.strip() else None
    if mode == MODES[1]:
        upload = st.file_uploader(
            f"FASTA, text, or CSV/TSV with a `sequence` column or `ref`/`alt` columns (≤ "
            f"{ut.MAX_FILE_BYTES / 1e6:.0f} MB, ≤ {ut.MAX_SEQUENCES:,} sequences)",
            type=[s.lstrip(".") for s in ut.FASTA_SUFFIXES + ut.CSV_SUFFIXES + ut.TEXT_SUFFIXES], key="var_file")
        return ut.parse_upload(upload.getvalue(), upload.name) if upload is not None else None
    left, right = st.columns(2)
    ref = left.text_input("Reference", key="var_ref", placeholder="AAAAACACGTGAAATC")
    alt = right.text_input("Alternative", key="var_alt", placeholder="AAAAACACGTGTTATC")
    return ut.parse_pair(ref, alt) if ref.strip() or alt.strip() else None


def _predict(spec: ModelSpec, queries: ut.VariantQueries, calibration: LinearCalibration,
             library_length: int | None = None) -> None:
    """Score, store the result in the session and report timing. The library's sequence length gets its cone
    graph traced with the model (so single queries of that length use the cone engine at once)."""
    with st.spinner("Loading the model and rebuilding its backgrounds (first time only)…"):
        try:
            scorer = cache.marginalizer(spec, (library_length,) if library_length else ())
        except ValueError as exc:
            st.error(f"Cannot load the model of run `{spec.run_id}`: {exc}")
            return
    bar = st.progress(0.0, text=f"Scoring {len(queries.distinct_sequences()):,} distinct sequence(s)…")
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Scored {done:,} of {total:,} distinct sequence(s)")

    result = variants.predict_ddg(scorer, queries, calibration, progress=progress)
    elapsed = time.perf_counter() - started
    bar.empty()
    log.info("variant page: %d queries in %.2f s", len(queries), elapsed)
    st.session_state["var_result"] = {"frame": result, "kind": queries.kind, "seconds": elapsed,
                                      "calibration": calibration.label, "units": calibration.units,
                                      "run_id": spec.run_id, "n_backgrounds": spec.n_backgrounds}


def _show(result: dict, library_length: int | None) -> None:
    frame: pd.DataFrame = result["frame"]
    units = result["units"] or "library units"
    pair = result["kind"] == "pair"
    value = "ddg_alt_minus_ref" if pair else "ddg"
    st.subheader("Predicted ΔΔG" + (" (alt − ref)" if pair else ""))
    st.caption(f"{len(frame):,} {'pair' if pair else 'sequence'}(s) scored in {result['seconds']:.2f} s · "
               f"{result['n_backgrounds']} backgrounds · calibration: {result['calibration']} · ± = sd across "
               f"backgrounds (sd/√N × |slope|), across {DEFAULT_BOOTSTRAP} calibration bootstrap resamples, and "
               f"combined.")
    if len(frame) == 1:
        row = frame.iloc[0]
        cols = st.columns(4)
        cols[0].metric(f"ΔΔG{' alt − ref' if pair else ''} ({units})", f"{row[value]:+.4f}")
        cols[1].metric("± backgrounds", f"{row['ddg_sd_backgrounds']:.4f}")
        cols[2].metric("± calibration", f"{row['ddg_sd_calibration']:.4f}")
        cols[3].metric("± total", f"{row['ddg_sd_total']:.4f}")
        if pair:
            st.caption(f"ΔΔG ref {row['ddg_ref']:+.4f}, alt {row['ddg_alt']:+.4f} ({units}); uncalibrated scores "
                       f"(mean Δ log counts) ref {row['score_ref']:.4f}, alt {row['score_alt']:.4f}.")
    lengths = set(frame["length"]) if "length" in frame else set(frame["ref"].str.len()) | set(frame["alt"].str.len())
    if library_length is not None and lengths - {library_length}:
        st.warning(f"The calibration was fitted on {library_length}-bp library sequences; ΔΔG of sequences of other "
                   f"lengths ({', '.join(map(str, sorted(lengths - {library_length})))} bp) is an extrapolation.")
    st.dataframe(frame, hide_index=True, key="var_table")
    fig = go.Figure()
    if len(frame) <= MAX_BARS:
        fig.add_trace(go.Bar(x=frame["name"], y=frame[value], name="ΔΔG",
                             error_y={"type": "data", "array": frame["ddg_sd_total"], "visible": True},
                             customdata=np.stack([frame["ddg_sd_backgrounds"], frame["ddg_sd_calibration"]], axis=-1),
                             hovertemplate="%{x}<br>ΔΔG %{y:+.4f}<br>± backgrounds %{customdata[0]:.4f}"
                                           "<br>± calibration %{customdata[1]:.4f}<extra></extra>"))
        fig.update_layout(xaxis_title="query", yaxis_title=f"predicted ΔΔG ({units})")
    else:
        fig.add_trace(go.Histogram(x=frame[value], nbinsx=50, name="ΔΔG"))
        fig.update_layout(xaxis_title=f"predicted ΔΔG ({units})", yaxis_title="queries")
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    st.plotly_chart(fig, key="var_fig")
    widgets.download_button(frame, "variant_ddg", "Download predictions (CSV)")


def main() -> None:
    """Draw the Variant ΔΔG page."""
    selection = widgets.selection()
    st.title("Variant ΔΔG")
    run_id = widgets.require_scored_run(selection, ", so there is no calibration to turn scores into ΔΔG")
    if run_id is None:
        return
    spec = data.model_spec(run_id)
    if spec is None:
        st.info(f"No complete run with a model and Affinity Distillation scores for `{selection.library}` yet; run "
                f"`affdist demo` to build one.")
        return
    model_dir = ModelDir.at(data.resolve_path(spec.model_dir))
    if not model_dir.model.is_file():
        st.warning(f"The model of run `{run_id}` is not on disk (`{model_dir.root}`); rebuild it with `affdist demo`.")
        return
    units = data.library_units(selection.library)
    library_length = data.library_sequence_length(selection.library)
    networks = f", mean of {spec.n_models} networks trained with different seeds" if spec.n_models > 1 else ""
    st.caption(f"Model `{spec.model_id}` (input {spec.seq_len} bp{networks}) · {spec.n_backgrounds} backgrounds "
               f"(the run's set: seed {spec.seed}, first {spec.n_backgrounds} of {spec.pool_size}) · library "
               f"`{selection.library}`. ΔΔG = slope × mean Δ log counts + intercept.")
    calibration = _calibration(run_id, selection.library, units)
    if calibration is None:
        return
    mode = st.radio("Input", MODES, key="var_mode", horizontal=True)
    try:
        queries = _read_input(mode)
        if queries is not None:
            queries = ut.validate_queries(queries, spec.seq_len)
    except ut.VariantInputError as exc:
        st.error(str(exc))
        queries = None
    if queries is not None:
        st.caption(f"{len(queries):,} {'pair' if queries.kind == 'pair' else 'sequence'}(s) ready.")
    if st.button("Predict ΔΔG", key="var_predict", type="primary", disabled=queries is None):
        _predict(spec, queries, calibration, library_length)
    result = st.session_state.get("var_result")
    if result is not None and result["run_id"] == run_id:
        _show(result, library_length)
