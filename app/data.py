"""The explorer's one data route: the catalog path, one read-only connection per catalog version, and typed,
cached accessors, each a call of one :mod:`affdist_core.catalog.queries` function.

A catalog version is the file's path and modification time: a rebuilt catalog gets a fresh connection and fresh
cache entries. Every accessor runs its query on its own cursor of the shared connection (safe across Streamlit's
script threads) and is cached with ``st.cache_data`` per catalog version and arguments. Nothing here writes to the
catalog; pages hold no SQL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import duckdb
import streamlit as st

from affdist_core.catalog import queries
from affdist_core.catalog.schema import SchemaVersionError, connect_read_only
from app import REPO_ROOT

DEFAULT_CATALOG = REPO_ROOT / "data_catalog" / "affdist.duckdb"
CATALOG_ENV = "AFFDIST_CATALOG"

P = ParamSpec("P")
R = TypeVar("R")
CatalogVersion = tuple[str, float]  # (absolute path, mtime)


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


def catalog_version() -> CatalogVersion:
    """The current catalog file and its mtime (a cache key that changes when the catalog is rebuilt)."""
    path = catalog_path()
    return str(path), path.stat().st_mtime


@st.cache_resource(show_spinner=False, max_entries=4)
def _connect(path: str, mtime: float) -> duckdb.DuckDBPyConnection:
    """One read-only connection per catalog file version (SchemaVersionError for another schema version)."""
    return connect_read_only(path)


def _catalog_query(query: Callable[Concatenate[duckdb.DuckDBPyConnection, P], R], max_entries: int = 128,
                   **bound) -> Callable[P, R]:
    """``query(cursor, *args, **bound)`` on the current catalog version, cached per version and arguments."""

    def run(version: CatalogVersion, *args, **kwargs):
        with contextlib.closing(_connect(*version).cursor()) as cursor:
            return query(cursor, *args, **kwargs, **bound)

    run.__name__ = run.__qualname__ = f"catalog_{query.__name__}"  # one st.cache_data key per query
    cached = st.cache_data(show_spinner=False, max_entries=max_entries)(run)

    def accessor(*args: P.args, **kwargs: P.kwargs) -> R:
        return cached(catalog_version(), *args, **kwargs)

    accessor.__name__ = query.__name__
    accessor.__doc__ = query.__doc__
    return accessor


def catalog_problem() -> str | None:
    """Why the explorer cannot show the catalog (missing, another schema version, unreadable, no complete run);
    None when it can."""
    path = catalog_path()
    if not path.exists():
        return f"No results catalog at `{path}` yet."
    try:
        if not has_complete_run():
            return f"The catalog at `{path}` holds no complete run yet."
    except SchemaVersionError as exc:
        return str(exc)
    except duckdb.Error as exc:
        return f"Cannot read the catalog at `{path}` ({exc})."
    return None


# ---------------------------------------------------------------------------------------------- catalog contents
has_complete_run = _catalog_query(queries.has_complete_run)
catalog_counts = _catalog_query(queries.catalog_counts)
tf_names = _catalog_query(queries.tf_names)
tfs_table = _catalog_query(queries.tfs_table)
libraries_for_tf = _catalog_query(queries.libraries_for_tf)
tf_library_runs = _catalog_query(queries.tf_library_runs)
headline_inputs = _catalog_query(queries.headline_inputs)
benchmark_panels = _catalog_query(queries.benchmark_panels)
libraries_table = _catalog_query(queries.libraries_table)
library_units = _catalog_query(queries.library_units)
library_sequence_length = _catalog_query(queries.library_sequence_length)
library_has_categories = _catalog_query(queries.library_has_categories)
library_ids_present = _catalog_query(queries.library_ids_present)
run_for = _catalog_query(queries.latest_scored_run)
scored_row_count = _catalog_query(queries.scored_row_count)
runs_table = _catalog_query(queries.runs_table)

# ---------------------------------------------------------------------------------------------- models
models = _catalog_query(queries.list_models)
model_sources = _catalog_query(queries.model_sources, resolve=resolve_path)
metrics_table = _catalog_query(queries.metrics_table)
split_pearson = _catalog_query(queries.split_pearson)
counts_points = _catalog_query(queries.counts_points)
held_out_peaks = _catalog_query(queries.held_out_peaks)
model_spec = _catalog_query(queries.model_spec)

# ---------------------------------------------------------------------------------------------- methods, calibrations
analysis = _catalog_query(queries.analysis, resolve=resolve_path)
calibration_fits = _catalog_query(queries.calibration_fits)
calibrated_predictions = _catalog_query(queries.calibrated_predictions)
scored_table = _catalog_query(queries.scored_rows, max_entries=16)
stored_sample = _catalog_query(queries.stored_sample)
stored_fits = _catalog_query(queries.stored_fits)

# ---------------------------------------------------------------------------------------------- motifs
motif_runs = _catalog_query(queries.motif_runs)
run_motifs = _catalog_query(queries.run_motifs)
motif_matrix = _catalog_query(queries.motif_matrix, max_entries=512)
motif_calibrations = _catalog_query(queries.motif_calibrations, max_entries=512)

# ---------------------------------------------------------------------------------------------- paralogs
paralog_libraries = _catalog_query(queries.paralog_libraries)
shared_correlation = _catalog_query(queries.shared_correlation)
shared_density = _catalog_query(queries.shared_density)
shared_points = _catalog_query(queries.shared_points)
shared_predictions = _catalog_query(queries.shared_predictions)
paralog_comparisons = _catalog_query(queries.paralog_comparisons)
paralog_shared_rows = _catalog_query(queries.paralog_shared_rows, resolve=resolve_path)


def analysis_payload(run_id: str, library: str, name: str):
    """The JSON payload of the run's analysis ``name``, or None when the run has none."""
    found = analysis(run_id, library, name)
    return None if found is None else found.payload

