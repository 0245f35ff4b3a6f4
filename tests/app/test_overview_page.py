"""Overview page (AppTest on the two-run test catalog): catalog tables, run provenance, model quality figures and
metrics, example profiles at held-out peaks.

Every expected value comes from the catalog's rows (plain SQL on the DuckDB file) or the run's files read with
pyBigWig, never from the query functions the page itself calls.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyBigWig
import pytest

from app.testing import open_page as open_app
from plotly_json import plotly_array

PAGE = "overview"
MODEL = "pho4-betseq_pho4-quick:bpnet"


def chart(at, key: str) -> dict:
    """The plotly figure (JSON) of the chart with widget key ``key``."""
    found = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, f"expected one chart {key!r}, found {len(found)}"
    return json.loads(found[0].proto.spec)


def traces(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


def open_page(tf: str | None = None):
    at = open_app(PAGE, timeout=120, **({} if tf is None else {"tf": tf}))
    assert not at.exception, [e.message for e in at.exception]
    return at


def frame_with(at, *columns: str) -> pd.DataFrame:
    """The one dataframe shown whose columns are exactly ``columns``."""
    (found,) = [d.value for d in at.dataframe if tuple(d.value.columns) == columns]
    return found


def sql(catalog: Path, query: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(catalog), read_only=True) as con:
        return con.execute(query, params or []).df()


def test_overview_shows_catalog_tables_and_run_provenance(app_env):
    at = open_page()
    counts = sql(app_env, "SELECT (SELECT count(*) FROM tfs) AS tfs, (SELECT count(*) FROM libraries) AS libraries, "
                          "(SELECT count(*) FROM models) AS models, (SELECT count(*) FROM runs) AS runs").iloc[0]
    assert counts["tfs"] == 2 and counts["runs"] == 2
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Transcription factors": str(counts["tfs"]), "Libraries": str(counts["libraries"]),
                       "Models": str(counts["models"]), "Runs": str(counts["runs"])}

    tfs = frame_with(at, "tf", "core", "jaspar_id")
    pd.testing.assert_frame_equal(tfs.reset_index(drop=True),
                                  sql(app_env, "SELECT tf, core, jaspar_id FROM tfs ORDER BY tf"), check_dtype=False)
    libraries = frame_with(at, "library", "tf", "rows", "value_name", "units", "source")
    expected = sql(app_env, "SELECT library, n_rows, units FROM libraries ORDER BY tf, library")
    assert libraries["library"].tolist() == expected["library"].tolist()
    assert libraries["rows"].tolist() == expected["n_rows"].tolist()
    assert libraries["units"].tolist() == expected["units"].tolist()
    models = next(d.value for d in at.dataframe if d.value.columns[0] == "model_id")
    assert sorted(models["model_id"]) == sorted(sql(app_env, "SELECT model_id FROM models")["model_id"])

    runs = frame_with(at, "run_id", "command", "status", "started_at", "finished_at", "duration_s")
    stored = sql(app_env, "SELECT run_id, status, started_at, finished_at, timings FROM runs").set_index("run_id")
    assert set(runs["run_id"]) == set(stored.index) == {"pho4-betseq_pho4-quick", "cbf1-cbf1_like-quick"}
    for run in runs.itertuples():
        row = stored.loc[run.run_id]
        assert run.status == row["status"]
        assert run.duration_s == pytest.approx((row["finished_at"] - row["started_at"]).total_seconds(), abs=1e-3)
    # one expander per run with its provenance JSON (config, seeds, versions, timings)
    assert len(at.expander) == 2 and len(at.json) == 2
    provenance = [json.loads(j.proto.body) for j in at.json]
    for run, shown in zip(runs["run_id"], provenance):
        assert set(shown) >= {"command", "config", "seeds", "versions", "timings_s", "status"}
        assert shown["timings_s"] == pytest.approx(json.loads(stored.loc[run, "timings"]))


def test_overview_model_quality_matches_the_catalog(app_env):
    at = open_page("Pho4")
    table = next(d.value for d in at.dataframe if d.value.columns[0] == "metric")
    raw = sql(app_env, "SELECT split, metric, value FROM model_metrics WHERE model_id = ?", [MODEL])
    assert list(table.columns) == ["metric", "train", "valid", "test"]
    assert len(table) == raw["metric"].nunique()
    for row in raw.itertuples():
        assert table.loc[table["metric"] == row.metric, row.split].item() == pytest.approx(row.value)

    figure = traces(chart(at, "overview_counts"))
    for split in ("train", "valid", "test"):
        (name,) = [n for n in figure if n.startswith(f"{split} (")]
        r = raw.query("split == @split and metric == 'counts_pearson'")["value"].item()
        assert f"r = {r:.2f}" in name
        counts = sql(app_env, "SELECT observed_log_counts, predicted_log_counts FROM model_counts "
                              "WHERE model_id = ? AND split = ?", [MODEL, split])
        assert f"n = {len(counts):,}" in name
        np.testing.assert_allclose(np.sort(plotly_array(figure[name]["x"])), np.sort(counts["observed_log_counts"]))
        np.testing.assert_allclose(np.sort(plotly_array(figure[name]["y"])), np.sort(counts["predicted_log_counts"]))
    assert "y = x" in figure


def _held_out_peaks(catalog: Path) -> tuple[pd.DataFrame, dict[str, Path], int]:
    """Test-split peak windows on the model's test chromosomes (strongest first), the run's strand bigWigs and the
    output length, straight from the catalog's rows."""
    model = sql(catalog, "SELECT run_id, params, data_spec FROM models WHERE model_id = ?", [MODEL]).iloc[0]
    test_chroms = json.loads(model["data_spec"])["test_chroms"]
    peaks = sql(catalog, "SELECT chrom, centre, name, observed_log_counts, predicted_log_counts FROM model_counts "
                         "WHERE model_id = ? AND split = 'test' ORDER BY observed_log_counts DESC, chrom, centre",
                [MODEL])
    peaks = peaks[peaks["chrom"].isin(test_chroms)].reset_index(drop=True)
    artifacts = sql(catalog, "SELECT kind, path FROM artifacts WHERE run_id = ?", [model["run_id"]])
    paths = {kind: Path(path) for kind, path in zip(artifacts["kind"], artifacts["path"])}
    return peaks, paths, int(json.loads(model["params"])["out_pred_len"])


def _bigwig_window(path: Path, chrom: str, centre: int, length: int) -> np.ndarray:
    start = centre - length // 2
    bw = pyBigWig.open(str(path))
    try:
        return np.nan_to_num(np.asarray(bw.values(chrom, start, start + length), dtype=np.float64))
    finally:
        bw.close()


def test_choosing_another_peak_changes_the_profile(app_env):
    at = open_page("Pho4")
    peaks, paths, out_pred_len = _held_out_peaks(app_env)
    assert len(peaks) >= 2

    def shown_profile() -> tuple[str, dict[str, dict]]:
        figure = chart(at, "overview_profile")
        return figure["layout"]["title"]["text"], traces(figure)

    def observed(i: int, strand: str) -> np.ndarray:
        return _bigwig_window(paths[f"{strand}_bigwig"], peaks["chrom"].iloc[i], int(peaks["centre"].iloc[i]),
                              out_pred_len)

    title, first = shown_profile()
    assert title.startswith(f"{peaks['name'].iloc[0]} {peaks['chrom'].iloc[0]}:{int(peaks['centre'].iloc[0]):,}")
    assert set(first) == {"observed +", "predicted +", "observed -", "predicted -"}
    np.testing.assert_allclose(plotly_array(first["observed +"]["y"]), observed(0, "plus"))
    np.testing.assert_allclose(plotly_array(first["observed -"]["y"]), -observed(0, "minus"))  # drawn below 0
    predicted_total = plotly_array(first["predicted +"]["y"]).sum() - plotly_array(first["predicted -"]["y"]).sum()
    assert predicted_total == pytest.approx(np.expm1(peaks["predicted_log_counts"].iloc[0]), rel=1e-4)

    at.selectbox(key="overview_peak").select_index(1).run()
    assert not at.exception
    title, second = shown_profile()
    assert title.startswith(peaks["name"].iloc[1])
    np.testing.assert_allclose(plotly_array(second["observed +"]["y"]), observed(1, "plus"))
    predicted_total = plotly_array(second["predicted +"]["y"]).sum() - plotly_array(second["predicted -"]["y"]).sum()
    assert predicted_total == pytest.approx(np.expm1(peaks["predicted_log_counts"].iloc[1]), rel=1e-4)
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


def test_overview_headlines_show_every_tf_against_its_best_motif_method(app_env):
    at = open_page()
    (table,) = [d.value for d in at.dataframe if "ad_rmse" in d.value.columns]
    stored = sql(app_env, "SELECT a.run_id, m.tf, a.library, a.payload FROM analyses a JOIN models m USING (run_id) "
                          "WHERE a.name = 'comparison' ORDER BY m.tf")
    assert table["tf"].tolist() == stored["tf"].tolist() == ["Cbf1", "Pho4"]
    for row, expected in zip(table.itertuples(), stored.itertuples()):
        methods = json.loads(expected.payload)
        ad = methods.pop("affinity_distillation")
        assert row.run_id == expected.run_id and row.library.startswith(expected.library)
        assert (row.ad_pearson, row.ad_rmse, row.n_heldout) == (ad["pearson"], ad["rmse"], ad["n_heldout"])
        best = min((m for m in methods if np.isfinite(methods[m]["rmse"])), key=lambda m: methods[m]["rmse"])
        assert (row.best_motif_method, row.motif_rmse) == (best, methods[best]["rmse"])
        assert row.winner == ("AD" if ad["rmse"] < methods[best]["rmse"] else best)
        assert row.rmse_ratio == pytest.approx(ad["rmse"] / methods[best]["rmse"])
        members = sql(app_env, "SELECT payload FROM analyses WHERE run_id = ? AND name = 'ensemble_members'",
                      [expected.run_id])["payload"]
        single = json.loads(members.iloc[0])[0] if len(members) else ad  # one model: AD itself
        assert (row.ad_one_model_pearson, row.ad_one_model_rmse) == (single["pearson"], single["rmse"])
        assert row.n_models == (len(json.loads(members.iloc[0])) if len(members) else 1)
        test_r = sql(app_env, "SELECT value FROM model_metrics WHERE model_id = ? AND split = 'test' AND "
                              "metric = 'counts_pearson'", [f"{expected.run_id}:bpnet"])["value"]
        assert row.test_counts_pearson == pytest.approx(float(test_r.iloc[0]))


def test_overview_says_which_runs_are_simulated(app_env, tmp_path, monkeypatch):
    at = open_page()
    (note,) = [i.value for i in at.info if "Simulated in-vivo data" in i.value]
    assert "`pho4-betseq_pho4-quick`" in note and "`cbf1-cbf1_like-quick`" in note  # both test runs simulate
    assert "does not show how well in-vivo binding follows in-vitro affinity" in note
    copy = tmp_path / "user.duckdb"  # the same catalog as if the runs had used a user's files
    shutil.copy(app_env, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("UPDATE runs SET config = '{}'")
    monkeypatch.setenv("AFFDIST_CATALOG", str(copy))
    at = open_page()
    assert not [i for i in at.info if "Simulated in-vivo data" in i.value]
