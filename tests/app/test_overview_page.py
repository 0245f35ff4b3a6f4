"""Overview page (AppTest on the two-run test catalog): catalog tables, run provenance, model quality figures and
metrics, example profiles at held-out peaks."""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from affdist_core.interpret import tracks
from app import APP_DIR
from plotly_json import plotly_array

PAGE = "pages/overview.py"


def chart(at: AppTest, key: str) -> dict:
    """The plotly figure (JSON) of the chart with widget key ``key``."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, f"expected one chart {key!r}, found {len(found)}"
    return json.loads(found[0].proto.spec)


def traces(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def open_page(tf: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP_DIR / "main.py"), default_timeout=120)
    if tf is not None:
        at.query_params["tf"] = tf
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_overview_shows_catalog_tables_and_run_provenance(app_env):
    at = open_page()
    con = duckdb.connect(str(app_env), read_only=True)
    counts = tracks.catalog_counts(con)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Transcription factors": str(counts["tfs"]), "Libraries": str(counts["libraries"]),
                       "Models": str(counts["models"]), "Runs": str(counts["runs"])}
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    libraries = frames[("library", "tf", "rows", "value_name", "units", "source")]
    expected = con.execute("SELECT library, n_rows FROM libraries ORDER BY tf, library").df()
    assert libraries["library"].tolist() == expected["library"].tolist()
    assert libraries["rows"].tolist() == expected["n_rows"].tolist()
    runs = frames[("run_id", "command", "status", "started_at", "finished_at", "duration_s")]
    assert set(runs["run_id"]) == {"pho4-betseq_pho4-quick", "cbf1-cbf1_like-quick"}
    # one expander per run with its provenance JSON (config, seeds, versions, timings)
    assert len(at.expander) == 2 and len(at.json) == 2
    provenance = [json.loads(j.proto.body) for j in at.json]
    stored = {r[0]: json.loads(r[1]) for r in con.execute("SELECT run_id, timings FROM runs").fetchall()}
    for run, shown in zip(runs["run_id"], provenance):
        assert set(shown) >= {"command", "config", "seeds", "versions", "timings_s", "status"}
        assert shown["timings_s"] == pytest.approx(stored[run])
    con.close()


def test_overview_model_quality_matches_the_catalog(app_env):
    at = open_page("Pho4")
    model_id = "pho4-betseq_pho4-quick:bpnet"
    con = duckdb.connect(str(app_env), read_only=True)
    table = next(d.value for d in at.dataframe if d.value.columns[0] == "metric")
    raw = con.execute("SELECT split, metric, value FROM model_metrics WHERE model_id = ?", [model_id]).df()
    assert list(table.columns) == ["metric", "train", "valid", "test"]
    assert len(table) == raw["metric"].nunique()
    for row in raw.itertuples():
        assert table.loc[table["metric"] == row.metric, row.split].item() == pytest.approx(row.value)

    figure = traces(chart(at, "overview_counts"))
    for split in ("train", "valid", "test"):
        (name,) = [n for n in figure if n.startswith(f"{split} (")]
        r = raw.query("split == @split and metric == 'counts_pearson'")["value"].item()
        assert f"r = {r:.2f}" in name
        observed = con.execute("SELECT observed_log_counts FROM model_counts WHERE model_id = ? AND split = ? "
                               "ORDER BY 1", [model_id, split]).df()["observed_log_counts"].to_numpy()
        np.testing.assert_allclose(np.sort(plotly_array(figure[name]["x"])), observed)
    assert "y = x" in figure
    con.close()


def test_choosing_another_peak_changes_the_profile(app_env):
    at = open_page("Pho4")
    con = duckdb.connect(str(app_env), read_only=True)
    sources = tracks.model_sources(con, "pho4-betseq_pho4-quick:bpnet")
    peaks = tracks.held_out_peaks(con, sources)
    con.close()

    def shown_profile() -> tuple[str, dict[str, dict]]:
        figure = chart(at, "overview_profile")
        return figure["layout"]["title"]["text"], traces(figure)

    title, first = shown_profile()
    assert title.startswith(peaks["name"].iloc[0])
    assert set(first) == {"observed +", "predicted +", "observed -", "predicted -"}
    expected = tracks.observed_profile(sources.plus_bigwig, sources.minus_bigwig, peaks["chrom"].iloc[0],
                                       int(peaks["centre"].iloc[0]), sources.out_pred_len)
    np.testing.assert_allclose(plotly_array(first["observed +"]["y"]), expected[:, 0])
    np.testing.assert_allclose(plotly_array(first["observed -"]["y"]), -expected[:, 1])  # drawn below the axis
    predicted_total = plotly_array(first["predicted +"]["y"]).sum() - plotly_array(first["predicted -"]["y"]).sum()
    assert predicted_total == pytest.approx(np.expm1(peaks["predicted_log_counts"].iloc[0]), rel=1e-4)

    at.selectbox(key="overview_peak").select_index(1).run()
    assert not at.exception
    title, second = shown_profile()
    assert title.startswith(peaks["name"].iloc[1])
    expected = tracks.observed_profile(sources.plus_bigwig, sources.minus_bigwig, peaks["chrom"].iloc[1],
                                       int(peaks["centre"].iloc[1]), sources.out_pred_len)
    np.testing.assert_allclose(plotly_array(second["observed +"]["y"]), expected[:, 0])
    assert not np.array_equal(plotly_array(first["predicted +"]["y"]), plotly_array(second["predicted +"]["y"]))


def test_tf_without_a_model_shows_an_empty_state(app_catalog, tmp_path, monkeypatch):
    copy = tmp_path / "catalog.duckdb"
    shutil.copy(app_catalog, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("INSERT INTO tfs VALUES ('Gal4', 'CGGNNNNNNNNNNNCCG', NULL)")
    monkeypatch.setenv("AFFDIST_CATALOG", str(copy))
    at = open_page("Gal4")
    assert any("No trained model for Gal4" in i.value for i in at.info)
    assert not [c for c in at.get("plotly_chart")]
    assert {m.label: m.value for m in at.metric}["Transcription factors"] == "3"
