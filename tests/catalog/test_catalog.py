"""The DuckDB results catalog: schema, round trips, transactions that leave nothing behind on failure, schema
versions (migration of a version-1 catalog, the rebuild message for read-only opens)."""

from __future__ import annotations

from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest

from affdist_core.catalog import queries, schema
from affdist_core.catalog.schema import (
    SCHEMA_VERSION, SchemaVersionError, connect_read_only, insert_frame, open_catalog, record_run)


def test_schema_and_round_trip(tmp_path):
    path = tmp_path / "catalog.duckdb"
    with open_catalog(path) as catalog:
        with catalog.transaction() as con:
            record_run(con, "run1", "affdist demo", {"seed": 0}, {"simulate": 0}, {"simulate": 1.5},
                       datetime.now(timezone.utc))
            insert_frame(con, "measurements", pd.DataFrame({
                "library": "lib", "id": ["a", "b"], "sequence": ["ACGT", "AGGT"], "value": [0.1, -0.2],
                "category": [None, "x"]}))
            con.execute("INSERT INTO motifs (motif_id, run_id, method, pwm, width) VALUES (?, ?, ?, ?, ?)",
                        ["m1", "run1", "jaspar", np.eye(4).tolist(), 4])
    with open_catalog(path, read_only=True) as catalog:
        runs = catalog.query("SELECT * FROM runs")
        assert runs["run_id"].tolist() == ["run1"] and runs["status"].tolist() == ["complete"]
        assert '"numpy"' in runs["versions"][0]
        values = catalog.query("SELECT id, value FROM measurements ORDER BY id")
        assert values["value"].tolist() == [0.1, -0.2]
        pwm = catalog.query("SELECT pwm FROM motifs")["pwm"][0]
        np.testing.assert_array_equal(np.array([list(row) for row in pwm]), np.eye(4))
        meta = catalog.query("SELECT value FROM catalog_meta WHERE key = 'schema_version'")
        assert int(meta["value"][0]) == SCHEMA_VERSION


def test_failed_write_leaves_catalog_unchanged(tmp_path):
    path = tmp_path / "catalog.duckdb"
    with open_catalog(path) as catalog:
        with catalog.transaction() as con:
            insert_frame(con, "tfs", pd.DataFrame({"tf": ["Pho4"], "core": ["CACGTG"], "jaspar_id": ["MA0357.1"]}))
        with pytest.raises(RuntimeError):
            with catalog.transaction() as con:
                insert_frame(con, "tfs", pd.DataFrame({"tf": ["Cbf1"], "core": ["CACGTG"], "jaspar_id": [None]}))
                insert_frame(con, "measurements", pd.DataFrame({"library": ["l"], "id": ["1"], "sequence": ["A"],
                                                                "value": [1.0], "category": [None]}))
                raise RuntimeError("stage failed")
        assert catalog.query("SELECT tf FROM tfs")["tf"].tolist() == ["Pho4"]
        assert catalog.query("SELECT count(*) AS n FROM measurements")["n"][0] == 0


def test_read_only_catalog_refuses_writes_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        open_catalog(tmp_path / "missing.duckdb", read_only=True)
    open_catalog(tmp_path / "c.duckdb").close()
    with open_catalog(tmp_path / "c.duckdb", read_only=True) as catalog:
        with pytest.raises(ValueError, match="read-only"):
            with catalog.transaction():
                pass


def _version_1_catalog(path) -> None:
    """A catalog as version 1 wrote it: no ``model_members`` table, ``schema_version`` 1, one model row."""
    with open_catalog(path) as catalog, catalog.transaction() as con:
        con.execute("INSERT INTO models (model_id, tf, run_id) VALUES ('m1', 'Pho4', 'run1')")
        con.execute("DROP TABLE model_members")
        con.execute("UPDATE catalog_meta SET value = '1' WHERE key = 'schema_version'")


def _tables(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def test_schema_version_is_2_with_model_members():
    assert SCHEMA_VERSION == 2
    assert any("model_members" in statement for statement in schema._SCHEMA)


def test_read_only_open_of_a_version_1_catalog_says_how_to_rebuild(tmp_path):
    path = tmp_path / "old.duckdb"
    _version_1_catalog(path)
    message = (rf"catalog {path} has schema version 1, this code reads 2: rebuild it with `affdist demo --force` "
               rf"\(or delete {path}\)")
    with pytest.raises(SchemaVersionError, match=message):
        open_catalog(path, read_only=True)
    with pytest.raises(SchemaVersionError, match=message):  # the app's way in
        connect_read_only(path)
    assert "model_members" not in _tables(path)  # a read-only open changes nothing


def test_writable_open_migrates_a_version_1_catalog(tmp_path):
    path = tmp_path / "old.duckdb"
    _version_1_catalog(path)
    with open_catalog(path) as catalog:
        assert schema.schema_version(catalog.connection) == 2
        assert catalog.query("SELECT model_id FROM models")["model_id"].tolist() == ["m1"]  # data kept
        assert queries.model_member_count(catalog.connection, "m1") == 1  # the new table exists, empty
    con = connect_read_only(path)
    try:
        assert schema.schema_version(con) == SCHEMA_VERSION
    finally:
        con.close()


def test_failed_migration_leaves_the_catalog_at_version_1(tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    _version_1_catalog(path)
    monkeypatch.setitem(schema._MIGRATIONS, 1, [schema._MODEL_MEMBERS, "CREATE TABLE broken (x NOT_A_TYPE)"])
    with pytest.raises(duckdb.Error):
        open_catalog(path)
    assert "model_members" not in _tables(path)  # the first statement was rolled back with the second
    with pytest.raises(SchemaVersionError, match="has schema version 1"):
        connect_read_only(path)


def test_newer_or_unversioned_catalog_is_refused(tmp_path):
    path = tmp_path / "new.duckdb"
    open_catalog(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE catalog_meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(SchemaVersionError, match="schema version 3, this code reads 2: update affdist"):
        open_catalog(path)
    with pytest.raises(SchemaVersionError, match="schema version 3"):
        open_catalog(path, read_only=True)
    bare = tmp_path / "bare.duckdb"
    duckdb.connect(str(bare)).close()
    with pytest.raises(SchemaVersionError, match="schema version none, this code reads 2: rebuild it"):
        connect_read_only(bare)
