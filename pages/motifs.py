"""Motifs: logos of the MoDISco, STREME, Weeder and JASPAR motifs of a run side by side, with their comparison
scores on the selected library; choose the matrix kind and download any matrix."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from affdist_core.catalog import explore
from app import data, logos, widgets
from app.figures import method_label
from app.widgets import slug

ORDER = ("modisco", "modisco_ensemble", "streme", "weeder", "jaspar", "additive", "external")  # columns, left to right
KINDS = {  # choice → (catalog matrix, logo kind)
    "PWM (information)": ("pwm", "information"),
    "PWM (probability)": ("pwm", "probability"),
    "CWM": ("cwm", "weight"),
    "hypothetical CWM": ("hcwm", "weight"),
}


def main() -> None:
    """Draw the Motifs page."""
    st.title("Motifs")
    selection = widgets.selection()
    runs = data.motif_runs(selection.tf) if selection.tf else pd.DataFrame()
    if runs.empty:
        st.info(f"No motifs of {selection.tf} are recorded in this catalog (a run records MoDISco motifs after "
                "`affdist interpret`, and STREME/Weeder/JASPAR motifs after the method stages).")
        return
    run_ids = runs["run_id"].tolist()
    scored_run = data.run_for(selection.library, selection.tf) if selection.library else None
    default_run = scored_run if scored_run in run_ids else run_ids[0]
    run_id = st.selectbox("Run", run_ids, index=run_ids.index(default_run), key="motifs_run",
                          format_func=lambda r: f"{r} ({int(runs.set_index('run_id').loc[r, 'n_motifs'])} motifs)")
    motifs = data.run_motifs(run_id)
    scored = bool(selection.library) and run_id == scored_run
    comparison = data.analysis(run_id, selection.library, "comparison") if scored else None
    entries = (comparison.payload or {}) if comparison is not None else {}
    reported = {m: e.get("motif_id") for m, e in entries.items()}
    reported_scoring = {m: e.get("scoring") for m, e in entries.items()}

    choice = st.radio("Matrix", list(KINDS), horizontal=True, key="motifs_kind",
                      help="PWM: base probabilities (as information content or probabilities). CWM: MoDISco's "
                           "mean contribution per base; hypothetical CWM: the contribution every base would have. "
                           "Motifs without a CWM (STREME, Weeder, JASPAR) show their PWM.")
    if scored:
        st.caption(f"Run `{run_id}`; comparison scores are held-out Pearson and RMSE on `{selection.library}` "
                   "after calibration, for sum and max scoring. ★ = the motif the method reports.")
    else:
        st.caption(f"Run `{run_id}` did not score library `{selection.library}`, so its motifs have no comparison "
                   "scores here.")

    methods = sorted(motifs["method"].unique(), key=lambda m: ORDER.index(m) if m in ORDER else len(ORDER))
    for method, column in zip(methods, st.columns(len(methods))):
        with column:
            _method_column(run_id, motifs[motifs["method"] == method].set_index("motif_id"), method, KINDS[choice],
                           reported, reported_scoring, selection.library if scored else None)

    st.subheader("All motifs of the run")
    table = motifs.drop(columns=["provenance"])
    if scored:
        fits = data.calibration_fits(run_id, selection.library)
        wide = fits.dropna(subset=["motif_id"]).pivot_table(index="motif_id", columns="scoring",
                                                            values=["rmse", "pearson"], aggfunc="first")
        wide.columns = [f"{metric}_{scoring}" for metric, scoring in wide.columns]
        table = table.merge(wide.reset_index(), on="motif_id", how="left")
    st.dataframe(table, hide_index=True, key="motifs_table")
    widgets.download_button(table, f"motifs_{slug(run_id)}")


def _method_column(run_id: str, rows: pd.DataFrame, method: str, kinds: tuple[str, str], reported: dict,
                   reported_scoring: dict, library: str | None) -> None:
    """One method's column: motif choice, logo, comparison scores on ``library`` (None: not scored), download and
    provenance."""
    matrix_kind, logo_kind = kinds
    options = rows.index.tolist()
    default = reported.get(method) if reported.get(method) in options else options[0]
    st.subheader(method_label(method))

    def label(m: str) -> str:
        star = "★ " if reported.get(method) == m else ""
        return f"{star}#{rows.loc[m, 'rank']} {m} · {rows.loc[m, 'consensus']}"

    motif_id = st.selectbox(f"{method_label(method)} motif", options, index=options.index(default),
                            key=f"motifs_pick_{method}", format_func=label)
    info = rows.loc[motif_id]
    used_kind, used_logo = matrix_kind, logo_kind
    matrix = data.motif_matrix(run_id, motif_id, matrix_kind)
    if matrix is None:
        used_kind, used_logo = "pwm", "information"
        matrix = data.motif_matrix(run_id, motif_id, "pwm")
    st.image(logos.logo_png(matrix, used_logo, title=f"{motif_id} ({used_kind.upper()})", height=2.0, width=4.0),
             caption=f"{used_kind.upper()} · {used_logo}", width="stretch")
    if used_kind != matrix_kind:
        st.caption(f"No {matrix_kind.upper()} for this motif: its PWM is shown.")
    score = "n/a" if pd.isna(info["score"]) else f"{info['score']:.3g}"
    st.caption(f"{info['consensus']} · width {info['width']} · {info['n_sites']} sites · score {score}")
    if library is not None:
        scores = data.motif_calibrations(run_id, motif_id)
        scores = scores[scores["library"] == library]
        scores = scores.assign(reported=(reported.get(method) == motif_id)
                               & (scores["scoring"] == reported_scoring.get(method)))
        if scores.empty:
            st.caption("Not in the comparison (only each method's top 10 motifs are scored).")
        else:
            st.dataframe(scores[["scoring", "pearson", "rmse", "reported"]], hide_index=True,
                         key=f"motifs_scores_{method}",
                         column_config={c: st.column_config.NumberColumn(format="%.3f") for c in ("pearson", "rmse")})
    widgets.download_button(explore.matrix_frame(matrix), f"motif_{slug(run_id)}_{slug(motif_id)}_{used_kind}",
                            label=f"Download {used_kind.upper()}")
    with st.expander("Provenance"):
        st.json(json.loads(info["provenance"]) if isinstance(info["provenance"], str) else {}, expanded=False)
