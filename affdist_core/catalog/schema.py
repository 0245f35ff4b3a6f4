"""The results catalog: one DuckDB file (plus Parquet files it references) holding every result.

Schema (created by :func:`open_catalog`; ``SCHEMA_VERSION`` is stored in ``catalog_meta``; an older catalog
opened for writing is migrated in one transaction, one opened read-only raises :class:`SchemaVersionError`
saying how to rebuild it):

``runs``               one row per pipeline run: id, command, resolved config, seeds, package versions,
                       per-stage timings, status, start/finish times.
``tfs``                TF name, core, JASPAR id.
``libraries``          in-vitro library: name, TF, source, value name and units, row count.
``measurements``       library rows: library, id, sequence, value, category (DuckDB aggregates them for the app).
``models``             trained model: id, TF, run, directory, params, data spec, training summary.
``model_members``      the networks a model's AD scores average (:mod:`affdist_core.model.ensemble`): model id, member
                       index (0 = the primary, evaluated and interpreted), training seed, directory, training
                       summary.
``model_metrics``      model id, split, metric, value.
``model_counts``       observed vs predicted log counts per peak window and split (plots).
``motifs``             motif id, method, TF, run, consensus, width, PWM / CWM / hypothetical CWM (as nested
                       lists), sites, score, provenance.
``background_sets``    marginalization backgrounds: id (content hash), model, N, seed, Parquet of their sources.
``scores``             per library row and method: score (AD mean Δlog counts, or a motif's sum/max), sd, N.
``calibration_samples`` sample id, library, rule, seed, the sampled ids.
``calibrations``       per method (and motif, scoring): slope, intercept, R², held-out Pearson/Spearman/RMSE.
``analyses``           named analysis results (dynamic range, backgrounds curve, genomic matches, …) as JSON,
                       or a Parquet path for large tables.
``artifacts``          references to large arrays on disk (SHAP tracks, deltas): kind, path, description.

Every write goes through :meth:`Catalog.transaction`: a run either lands whole or not at all. Every read query
is in :mod:`affdist_core.catalog.queries`.

Versions: 1 — the first schema; 2 — ``model_members`` added (ensembles).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_MODEL_MEMBERS = """CREATE TABLE IF NOT EXISTS model_members (
        model_id TEXT, member INTEGER, seed BIGINT, model_dir TEXT, training JSON)"""

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT)",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, command TEXT, config JSON, seeds JSON, versions JSON, timings JSON,
        status TEXT, started_at TIMESTAMP, finished_at TIMESTAMP)""",
    "CREATE TABLE IF NOT EXISTS tfs (tf TEXT PRIMARY KEY, core TEXT, jaspar_id TEXT)",
    """CREATE TABLE IF NOT EXISTS libraries (
        library TEXT PRIMARY KEY, tf TEXT, source TEXT, value_name TEXT, units TEXT, n_rows BIGINT)""",
    """CREATE TABLE IF NOT EXISTS measurements (
        library TEXT, id TEXT, sequence TEXT, value DOUBLE, category TEXT, PRIMARY KEY (library, id))""",
    """CREATE TABLE IF NOT EXISTS models (
        model_id TEXT PRIMARY KEY, tf TEXT, run_id TEXT, model_dir TEXT, params JSON, data_spec JSON,
        training JSON)""",
    _MODEL_MEMBERS,
    "CREATE TABLE IF NOT EXISTS model_metrics (model_id TEXT, split TEXT, metric TEXT, value DOUBLE)",
    """CREATE TABLE IF NOT EXISTS model_counts (
        model_id TEXT, split TEXT, chrom TEXT, centre BIGINT, name TEXT, observed_log_counts DOUBLE,
        predicted_log_counts DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS motifs (
        motif_id TEXT, run_id TEXT, tf TEXT, method TEXT, consensus TEXT, width INTEGER, pwm DOUBLE[][],
        cwm DOUBLE[][], hcwm DOUBLE[][], n_sites BIGINT, score DOUBLE, provenance JSON,
        PRIMARY KEY (run_id, motif_id))""",
    """CREATE TABLE IF NOT EXISTS background_sets (
        background_id TEXT PRIMARY KEY, model_id TEXT, n_backgrounds INTEGER, random_state BIGINT,
        sources_path TEXT)""",
    """CREATE TABLE IF NOT EXISTS scores (
        run_id TEXT, library TEXT, method TEXT, motif_id TEXT, scoring TEXT, id TEXT, score DOUBLE, sd DOUBLE,
        n_backgrounds INTEGER, background_id TEXT)""",
    """CREATE TABLE IF NOT EXISTS calibration_samples (
        sample_id TEXT PRIMARY KEY, library TEXT, rule TEXT, seed BIGINT, ids TEXT[])""",
    """CREATE TABLE IF NOT EXISTS calibrations (
        run_id TEXT, library TEXT, method TEXT, motif_id TEXT, scoring TEXT, sample_id TEXT, slope DOUBLE,
        intercept DOUBLE, r2 DOUBLE, n_calibration BIGINT, n_heldout BIGINT, pearson DOUBLE, spearman DOUBLE,
        rmse DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS analyses (
        run_id TEXT, library TEXT, name TEXT, payload JSON, table_path TEXT)""",
    "CREATE TABLE IF NOT EXISTS artifacts (run_id TEXT, kind TEXT, path TEXT, description TEXT)",
]

_MIGRATIONS: dict[int, list[str]] = {
    1: [_MODEL_MEMBERS],  # 1 → 2
}
"""Statements that bring a catalog of version ``v`` to ``v + 1`` (run in one transaction, version updated)."""


class SchemaVersionError(ValueError):
    """A catalog whose schema version this code cannot read; the message says how to rebuild it."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The schema version stored in the catalog's ``catalog_meta``; None for an empty file (no table, no row)."""
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'catalog_meta'").fetchone()[0]
    if not exists:
        return None
    row = con.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])


def check_schema_version(con: duckdb.DuckDBPyConnection, path: str | os.PathLike) -> None:
    """Raise :class:`SchemaVersionError` unless the catalog at ``path`` (open as ``con``) has
    :data:`SCHEMA_VERSION`."""
    version = schema_version(con)
    if version == SCHEMA_VERSION:
        return
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaVersionError(f"catalog {path} has schema version {version}, this code reads {SCHEMA_VERSION}: "
                                 f"update affdist, or rebuild it with `affdist demo --force` (or delete {path})")
    raise SchemaVersionError(f"catalog {path} has schema version {'none' if version is None else version}, this "
                             f"code reads {SCHEMA_VERSION}: rebuild it with `affdist demo --force` (or delete {path})")


def connect_read_only(path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to the catalog at ``path``, its schema version checked (the app's way in).

    Raises ValueError when the file does not exist, :class:`SchemaVersionError` when it was written by another
    schema version (the message says how to rebuild it)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"catalog: {path} does not exist; build it with `affdist demo`")
    con = duckdb.connect(str(path), read_only=True)
    try:
        check_schema_version(con, path)
    except BaseException:
        con.close()
        raise
    return con


class Catalog:
    """A DuckDB catalog file. Use :func:`open_catalog`; writes only inside :meth:`transaction`."""

    def __init__(self, path: str | os.PathLike, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            self.connection = connect_read_only(self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = duckdb.connect(str(self.path))
        try:
            version = schema_version(self.connection)
            if version is None:
                self._create_schema()
            elif version < SCHEMA_VERSION:
                self._migrate(version)
            check_schema_version(self.connection, self.path)
        except BaseException:
            self.connection.close()
            raise

    def _create_schema(self) -> None:
        with self.transaction() as con:
            for statement in _SCHEMA:
                con.execute(statement)
            con.execute("INSERT OR IGNORE INTO catalog_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def _migrate(self, version: int) -> None:
        """Bring a version-``version`` catalog to :data:`SCHEMA_VERSION` in one transaction (all steps or none)."""
        if any(v not in _MIGRATIONS for v in range(version, SCHEMA_VERSION)):
            check_schema_version(self.connection, self.path)  # no path from that version: the rebuild message
        with self.transaction() as con:
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    con.execute(statement)
            con.execute("UPDATE catalog_meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        log.info("catalog %s: schema migrated from version %d to %d", self.path, version, SCHEMA_VERSION)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN … COMMIT; any exception rolls everything back and is re-raised."""
        if self.read_only:
            raise ValueError(f"catalog: {self.path} is open read-only")
        con = self.connection
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run a read query and return a DataFrame."""
        return self.connection.execute(sql, params or []).df()

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_catalog(path: str | os.PathLike, read_only: bool = False) -> Catalog:
    """Open (creating if needed, unless ``read_only``) the catalog at ``path``."""
    return Catalog(path, read_only=read_only)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Append a DataFrame to ``table`` (columns by name; missing columns become NULL); returns rows added."""
    if frame.empty:
        return 0
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    con.register("_incoming", frame)
    try:
        con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM _incoming')
    finally:
        con.unregister("_incoming")
    return len(frame)


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    command: str,
    config: dict[str, Any],
    seeds: dict[str, Any],
    timings: dict[str, float],
    started_at: datetime,
    status: str = "complete",
) -> None:
    """Insert one ``runs`` row with package versions (affdist, numpy, tensorflow, keras, duckdb)."""
    con.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, command, json.dumps(config, default=str), json.dumps(seeds), json.dumps(package_versions()),
         json.dumps(timings), status, started_at, datetime.now(timezone.utc)],
    )


def package_versions() -> dict[str, str]:
    """Versions of the packages that determine results."""
    from importlib import metadata

    versions = {}
    for name in ("affdist", "numpy", "tensorflow-cpu", "keras", "shap", "modisco-lite", "duckdb", "pandas"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
