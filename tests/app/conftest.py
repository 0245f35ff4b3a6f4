"""App-test fixtures beyond the shared catalog (``app_catalog``/``app_env`` live in ``tests/conftest.py``)."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pytest

PHO4_RUN, PHO4_LIBRARY = "pho4-betseq_pho4-quick", "betseq_pho4"


@pytest.fixture(scope="session")
def pho4_stored(app_catalog) -> SimpleNamespace:
    """The quick Pho4 run as stored in the catalog: ``table`` (scored rows), ``stored`` (calibration sample),
    ``fits`` (stored calibrations, one row per method), ``spec`` (its model spec)."""
    from affdist_core.catalog import queries

    con = duckdb.connect(str(app_catalog), read_only=True)
    try:
        table = queries.scored_rows(con, PHO4_RUN, PHO4_LIBRARY)
        return SimpleNamespace(table=table, stored=queries.stored_sample(con, PHO4_RUN, PHO4_LIBRARY, len(table)),
                               fits=queries.stored_fits(con, PHO4_RUN, PHO4_LIBRARY),
                               spec=queries.model_spec(con, PHO4_RUN))
    finally:
        con.close()
