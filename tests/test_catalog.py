"""The DuckDB results catalog: schema, round trips, transactions that leave nothing behind on failure."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from affdist_core.catalog.schema import SCHEMA_VERSION, insert_frame, open_catalog, record_run


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
