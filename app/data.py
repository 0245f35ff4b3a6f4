"""Data access for the explorer: the catalog path, one cached read-only connection, cached queries, and the
global TF/library selection (kept in the URL's query parameters so a view can be shared).

Pages call :func:`query` (``st.cache_data``) or the cached wrappers of :mod:`affdist_core.catalog.explore`; nothing
here writes to the catalog.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from affdist_core.catalog import explore as explore_queries

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = REPO_ROOT / "data_catalog" / "affdist.duckdb"
CATALOG_ENV = "AFFDIST_CATALOG"


def catalog_path() -> Path:
    """The catalog to read: ``--catalog PATH`` after ``--`` on the command line, else ``$AFFDIST_CATALOG``, else
    ``data_catalog/affdist.duckdb`` in the repository."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--catalog")
    known, _ = parser.parse_known_args(sys.argv[1:])
    chosen = known.catalog or os.environ.get(CATALOG_ENV) or DEFAULT_CATALOG
    return Path(chosen).expanduser().resolve()


def resolve_path(path: str | os.PathLike) -> Path:
    """A path stored in the catalog: absolute as is; relative ones are relative to the repository (where
    ``affdist demo`` runs) unless they exist relative to the working directory."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path


@st.cache_resource(show_spinner=False)
def _connect(path: str, mtime: float) -> duckdb.DuckDBPyConnection:
    """One read-only connection per catalog file version (``mtime`` keys a fresh one after a rebuild)."""
    return duckdb.connect(path, read_only=True)


def connection() -> duckdb.DuckDBPyConnection:
    """The shared read-only DuckDB connection to the current catalog."""
    path = catalog_path()
    return _connect(str(path), path.stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=512)
def _query(path: str, mtime: float, sql: str, params: tuple) -> pd.DataFrame:
    cursor = _connect(path, mtime).cursor()  # a cursor per query: safe across Streamlit's script threads
    try:
        return cursor.execute(sql, list(params)).df()
    finally:
        cursor.close()


def query(sql: str, params: tuple | list = ()) -> pd.DataFrame:
    """Run a read query on the catalog; results are cached per catalog version, SQL and parameters."""
    path = catalog_path()
    return _query(str(path), path.stat().st_mtime, sql, tuple(params))


def catalog_key() -> str:
    """The current catalog file and its version (mtime): a cache key that changes when the catalog is rebuilt."""
    path = catalog_path()
    return f"{path}:{path.stat().st_mtime}"


@st.cache_data(show_spinner=False, max_entries=256)
def _explore(name: str, catalog: str, args: tuple):
    with contextlib.closing(connection().cursor()) as con:
        return getattr(explore_queries, name)(con, *args)


def explore(name: str, *args):
    """``affdist_core.catalog.explore.<name>(connection, *args)``, cached per catalog version and arguments."""
    return _explore(name, catalog_key(), args)


@st.cache_data(show_spinner=False, max_entries=64)
def _analysis(catalog: str, run_id: str, library: str, name: str):
    with contextlib.closing(connection().cursor()) as con:
        return explore_queries.analysis(con, run_id, library, name, resolve=resolve_path)


def analysis(run_id: str, library: str, name: str):
    """The run's analysis ``name`` (:class:`affdist_core.catalog.explore.Analysis`: payload and Parquet table, or
    None), cached per catalog version."""
    return _analysis(catalog_key(), run_id, library, name)


def analysis_payload(run_id: str, library: str, name: str):
    """The JSON payload of the run's analysis ``name``, or None when the run has none (cached like
    :func:`analysis`)."""
    found = analysis(run_id, library, name)
    return None if found is None else found.payload


def catalog_ready() -> bool:
    """Whether the catalog exists and holds at least one complete run."""
    path = catalog_path()
    if not path.exists():
        return False
    try:
        return int(query("SELECT count(*) AS n FROM runs WHERE status = 'complete'")["n"].iloc[0]) > 0
    except duckdb.Error:
        return False


def show_missing_catalog() -> None:
    """The empty state: what is missing and the one command that builds it."""
    path = catalog_path()
    st.title("Affinity Distillation")
    st.warning(f"No results catalog at `{path}` yet (or it holds no complete run).")
    st.markdown(
        "Build the default one (yeast Pho4: simulate, train, distill, compare; about 13 minutes on 2 cores):\n\n"
        "```bash\nbash demo.sh\n```\n\n"
        "or point the app at another catalog:\n\n"
        "```bash\nstreamlit run app/main.py -- --catalog PATH/TO/affdist.duckdb\n"
        f"# or: {CATALOG_ENV}=PATH/TO/affdist.duckdb streamlit run app/main.py\n```"
    )


@dataclass(frozen=True)
class Selection:
    """The global selection: a TF and one of its libraries (``library`` is None when the TF has none)."""

    tf: str
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
    tfs = query("SELECT tf FROM tfs ORDER BY tf")["tf"].tolist()
    tf = _choose("Transcription factor", tfs, "tf")
    libraries = query("SELECT library FROM libraries WHERE tf = ? ORDER BY library", (tf,))["library"].tolist()
    library = _choose("Library", libraries, "library")
    st.sidebar.caption(f"Catalog: `{catalog_path()}`")
    selection = Selection(tf=tf, library=library)
    st.session_state["selection"] = selection
    return selection


def selection() -> Selection:
    """The selection made in the sidebar this script run."""
    if "selection" not in st.session_state:
        return sidebar_selection()
    return st.session_state["selection"]


def run_for(library: str) -> str | None:
    """The latest complete run that scored ``library`` (None if none did)."""
    frame = query(
        "SELECT r.run_id FROM runs r JOIN (SELECT DISTINCT run_id FROM scores WHERE library = ?) s USING (run_id) "
        "WHERE r.status = 'complete' ORDER BY r.finished_at DESC LIMIT 1", (library,))
    return None if frame.empty else str(frame["run_id"].iloc[0])


def require_scored_run(selection: Selection, purpose: str = "") -> str:
    """The latest complete run that scored the selected library; otherwise an empty-state message (the TF has
    no library, or no run has scored it, and how to score it) and ``st.stop()``. ``purpose`` ends the first
    message, e.g. ", so there is nothing to calibrate"."""
    if selection.library is None:
        st.info(f"{selection.tf} has no in-vitro library in this catalog{purpose}.")
        st.stop()
    run_id = run_for(selection.library)
    if run_id is None:
        st.info(f"No complete run has scored library `{selection.library}` yet: run `affdist demo --tf "
                f"{selection.tf} --library …` to score it.")
        st.stop()
    return run_id


def download_button(frame: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A CSV download of the data behind a figure (the CSV is written only when the button is clicked)."""
    st.download_button(label, lambda: frame.to_csv(index=False).encode(), file_name=f"{name}.csv",
                       mime="text/csv", key=f"download_{name}")
