"""Widgets every page shares: the global TF/library selection (kept in the URL's query parameters so a view can
be shared), the empty states, the model chooser and CSV downloads."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from affdist_core.catalog.queries import ModelSources
from app import data

SELECTION_KEY = "selection"


@dataclass(frozen=True)
class Selection:
    """The global selection: a TF (None in a catalog without TFs) and one of its libraries (None when the TF has
    none)."""

    tf: str | None
    library: str | None


def _choose(label: str, options: list[str], param: str) -> str | None:
    """A sidebar selectbox whose value lives in ``st.query_params[param]``."""
    if not options:
        st.query_params.pop(param, None)
        return None
    wanted = st.query_params.get(param)
    index = options.index(wanted) if wanted in options else 0
    value = st.sidebar.selectbox(label, options, index=index, key=f"select_{param}")
    st.query_params[param] = value
    return value


def sidebar_selection() -> Selection:
    """Draw the TF and library selectors in the sidebar; returns (and stores) the selection."""
    tf = _choose("Transcription factor", data.tf_names(), "tf")
    library = _choose("Library", data.libraries_for_tf(tf), "library")
    st.sidebar.caption(f"Catalog: `{data.catalog_path()}`")
    selection = Selection(tf=tf, library=library)
    st.session_state[SELECTION_KEY] = selection
    return selection


def selection() -> Selection:
    """The selection made in the sidebar this script run."""
    if SELECTION_KEY not in st.session_state:
        return sidebar_selection()
    return st.session_state[SELECTION_KEY]


def show_missing_catalog(problem: str) -> None:
    """The empty state: what is wrong with the catalog (``problem``) and the one command that builds one."""
    st.title("Affinity Distillation")
    st.warning(problem)
    st.markdown(
        "Build the default one (yeast Pho4: simulate, train, distill, compare):\n\n"
        "```bash\nbash demo.sh\n```\n\n"
        "or point the app at another catalog:\n\n"
        "```bash\naffdist app --catalog PATH/TO/affdist.duckdb\n"
        f"# or: {data.CATALOG_ENV}=PATH/TO/affdist.duckdb streamlit run app/main.py\n```"
    )


def require_scored_run(selection: Selection, purpose: str = "") -> str | None:
    """The latest complete run that scored the selected library; otherwise None after an empty-state message
    (the TF has no library, or no run has scored it, and how to score it). ``purpose`` ends the first message,
    e.g. ", so there is nothing to calibrate"."""
    if selection.library is None:
        st.info(f"{selection.tf} has no in-vitro library in this catalog{purpose}.")
        return None
    run_id = data.run_for(selection.library, selection.tf)
    if run_id is None:
        st.info(f"No complete run has scored library `{selection.library}` with a model of {selection.tf} yet: "
                "add the library to the TF in a project file and run `affdist run PROJECT.toml` to score it.")
    return run_id


def choose_model(selection: Selection, key: str) -> ModelSources | None:
    """A selectbox of the TF's models (default: the model of the run that scored the library, else the newest);
    returns its sources, or None (with an explanation shown) when the TF has no model."""
    if selection.tf is None:
        st.info("The catalog has no transcription factor yet.")
        return None
    frame = data.models(selection.tf)
    if frame.empty:
        st.info(f"No trained model for {selection.tf} in this catalog. Train one with `affdist demo` (or "
                "`affdist train`) and rebuild the catalog.")
        return None
    options = frame["model_id"].tolist()
    index = 0
    if selection.library is not None:
        runs = frame["run_id"].tolist()
        run = data.run_for(selection.library, selection.tf)
        if run in runs:
            index = runs.index(run)
    if len(options) == 1:
        st.caption(f"Model: `{options[0]}`")
        return data.model_sources(options[0])
    model_id = st.selectbox("Model", options, index=index, key=key,
                            help="Models of this TF, newest run first; default: the run that scored the library.")
    return data.model_sources(model_id)


def slug(text: str) -> str:
    """``text`` with every character but letters, digits and ``-_.`` replaced by ``_`` (file names, keys)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))


def download_button(frame: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A CSV download of the data behind a figure (the CSV is written only when the button is clicked)."""
    st.download_button(label, lambda: frame.to_csv(index=False).encode(), file_name=f"{name}.csv",
                       mime="text/csv", key=f"download_{name}")
