"""AppTests of the read-only browse pages (Methods, Motifs, Dynamic range, Genomic matches, Paralogs) on the
app test catalog, the catalog queries and explore helpers on that catalog, and the logo helper.

Figures are read back from the page (the Plotly JSON Streamlit ships to the browser) and compared with what the
catalog holds. The TF is chosen through the URL's query parameters (AppTest keeps the entry script's sidebar
widgets only on the first run, so they cannot be driven after it). Variants of the catalog (categories, shared
scored rows, no paralog, an unscored library) are written to copies; the fixture catalog is never modified.
"""

from __future__ import annotations

import json
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from affdist_core.catalog import explore, queries
from affdist_core.common.names import AD_METHOD
from app.logos import logo_frame, logo_png
from app.testing import open_page
from plotly_json import plotly_array

PHO4_RUN, CBF1_RUN = "pho4-betseq_pho4-quick", "cbf1-cbf1_like-quick"
PHO4_LIB, CBF1_LIB = "betseq_pho4", "cbf1_like"


# ---------------------------------------------------------------------------------------------------------
# helpers


def _open(monkeypatch, catalog, page: str, **params) -> AppTest:
    monkeypatch.setenv("AFFDIST_CATALOG", str(catalog))
    at = open_page(page, timeout=60, **params)  # straight to the page, as a shared link would
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figures(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def _texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in at.get(kind)]


def _connect(catalog) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(catalog), read_only=True)


def _copy(app_catalog, tmp_path_factory, name: str):
    path = tmp_path_factory.mktemp(name) / "catalog.duckdb"
    shutil.copy(app_catalog, path)
    return path


@pytest.fixture(scope="module")
def rich_catalog(app_catalog, tmp_path_factory):
    """A copy where Pho4's scored rows have categories, the Cbf1 run also scored 20 of Pho4's scored sequences
    (added to cbf1_like), so the paralog predictions have shared rows, and Cbf1 has a second, unscored library
    ``big_paralog`` sharing 6,000 sequences with Pho4's (more than the page draws as points)."""
    path = _copy(app_catalog, tmp_path_factory, "rich")
    con = duckdb.connect(str(path))
    con.execute("UPDATE measurements SET category = CASE WHEN hash(id) % 3 = 0 THEN 'spacer' "
                "WHEN hash(id) % 3 = 1 THEN 'half_site' ELSE NULL END WHERE library = ? AND id IN "
                "(SELECT id FROM scores WHERE run_id = ?)", [PHO4_LIB, PHO4_RUN])
    picked = con.execute("SELECT m.id, m.sequence, m.value, s.score FROM scores s JOIN measurements m "
                         "ON m.library = s.library AND m.id = s.id WHERE s.run_id = ? AND s.method = ? "
                         "ORDER BY m.id LIMIT 20", [PHO4_RUN, AD_METHOD]).df()
    extra = pd.DataFrame({"library": CBF1_LIB, "id": [f"extra_{i}" for i in range(len(picked))],
                          "sequence": picked["sequence"], "value": picked["value"] + 0.1, "category": None})
    con.register("extra", extra)
    con.execute("INSERT INTO measurements SELECT * FROM extra")
    scores = pd.DataFrame({"run_id": CBF1_RUN, "library": CBF1_LIB, "method": AD_METHOD, "motif_id": None,
                           "scoring": "marginalization", "id": extra["id"], "score": picked["score"] * 0.5,
                           "sd": 0.0, "n_backgrounds": 3, "background_id": "bg"})
    con.register("extra_scores", scores)
    con.execute("INSERT INTO scores (run_id, library, method, motif_id, scoring, id, score, sd, n_backgrounds, "
                "background_id) SELECT * FROM extra_scores")
    con.execute("INSERT INTO libraries VALUES ('big_paralog', 'Cbf1', 'test', 'ddG', 'RT', 6000)")
    con.execute("INSERT INTO measurements SELECT 'big_paralog', id, sequence, value * 0.5, NULL FROM measurements "
                "WHERE library = ? ORDER BY id LIMIT 6000", [PHO4_LIB])
    con.close()
    return path


@pytest.fixture(scope="module")
def lonely_catalog(app_catalog, tmp_path_factory):
    """A copy without the cbf1_like library (Cbf1 keeps its model and motifs, Pho4 has no paralog), with a
    second, unscored Pho4 library ``pho4_unscored`` and a TF ``Gal4`` with nothing at all."""
    path = _copy(app_catalog, tmp_path_factory, "lonely")
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM measurements WHERE library = ?", [CBF1_LIB])
    con.execute("DELETE FROM libraries WHERE library = ?", [CBF1_LIB])
    con.execute("INSERT INTO tfs VALUES ('Gal4', NULL, NULL)")
    con.execute("INSERT INTO libraries VALUES ('pho4_unscored', 'Pho4', 'test', 'ddG', 'RT', 3)")
    con.execute("INSERT INTO measurements VALUES ('pho4_unscored', 'u0', 'ACGTACGT', 0.1, NULL), "
                "('pho4_unscored', 'u1', 'ACGTACGA', 0.2, NULL), ('pho4_unscored', 'u2', 'ACGTACGC', 0.3, NULL)")
    con.close()
    return path


SHARED_RUN = "cbf1-betseq_pho4"


@pytest.fixture(scope="module")
def shared_library_catalog(app_catalog, tmp_path_factory):
    """A copy where a Cbf1 run ``cbf1-betseq_pho4`` also scored Pho4's library (one library measured for two TFs,
    recorded once, for Pho4): the Pho4 run's rows with the AD scores halved and the fit kept."""
    path = _copy(app_catalog, tmp_path_factory, "shared_library")
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO runs SELECT * REPLACE (? AS run_id) FROM runs WHERE run_id = ?", [SHARED_RUN, PHO4_RUN])
    con.execute("INSERT INTO models (model_id, tf, run_id) VALUES (?, 'Cbf1', ?)", [f"{SHARED_RUN}:bpnet", SHARED_RUN])
    con.execute("INSERT INTO scores SELECT * REPLACE (? AS run_id, CASE WHEN method = ? THEN score / 2 ELSE score END "
                "AS score) FROM scores WHERE run_id = ?", [SHARED_RUN, AD_METHOD, PHO4_RUN])
    con.execute("INSERT INTO calibrations SELECT * REPLACE (? AS run_id) FROM calibrations WHERE run_id = ?",
                [SHARED_RUN, PHO4_RUN])
    con.close()
    return path


# ---------------------------------------------------------------------------------------------------------
# explore on the real test catalog


def test_explore_on_the_app_catalog_matches_the_run_report(app_catalog):
    with _connect(app_catalog) as con:
        for run, library in ((PHO4_RUN, PHO4_LIB), (CBF1_RUN, CBF1_LIB)):
            fits = queries.calibration_fits(con, run, library)
            comparison = queries.analysis(con, run, library, "comparison").payload
            metrics = explore.method_metrics(fits, explore.reported_choices(fits, comparison)).set_index("method")
            assert set(metrics.index) == set(comparison)
            for method, entry in comparison.items():
                assert metrics.loc[method, "rmse"] == pytest.approx(entry["rmse"])
                assert metrics.loc[method, "pearson"] == pytest.approx(entry["pearson"])
                if "top_k_rmse_mean" in entry:
                    assert metrics.loc[method, "k"] == entry["k"]
                    assert metrics.loc[method, "rmse_mean"] == pytest.approx(entry["top_k_rmse_mean"])
                    assert metrics.loc[method, "rmse_sd"] == pytest.approx(entry["top_k_rmse_sd"])
            # the stored fit re-applied to the stored scores gives the stored held-out metrics
            overall = explore.metrics_by_category(queries.calibrated_predictions(con, run, library))
            overall = overall.set_index("method")
            for method, entry in comparison.items():
                assert overall.loc[method, "rmse"] == pytest.approx(entry["rmse"])
                assert overall.loc[method, "n"] == entry["n_heldout"]
                if not np.isnan(entry["spearman"]):
                    assert overall.loc[method, "spearman"] == pytest.approx(entry["spearman"])
        matches = queries.analysis(con, PHO4_RUN, PHO4_LIB, "genomic_matches")
        for name, rows in (("all", matches.table), ("in_peaks", matches.table[matches.table["in_peak"]])):
            assert explore.genomic_match_correlations(rows) == pytest.approx(matches.payload[name])
        shared = con.execute("SELECT count(*) FROM measurements a JOIN measurements b USING (sequence) "
                             "WHERE a.library = ? AND b.library = ?", [PHO4_LIB, CBF1_LIB]).fetchone()[0]
        assert shared == 2000
        assert queries.shared_density(con, PHO4_LIB, CBF1_LIB, 60)["count"].sum() == shared
        assert queries.paralog_libraries(con, PHO4_LIB)["n_shared"].tolist() == [shared]


# ---------------------------------------------------------------------------------------------------------
# logos


def test_logo_frame_heights():
    pwm = np.array([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0, 0]])
    info = logo_frame(pwm, "information")
    np.testing.assert_allclose(info.sum(axis=1), [2.0, 0.0, 1.0])  # 2 - entropy bits
    np.testing.assert_allclose(info.iloc[2], [0.5, 0.5, 0, 0])
    prob = logo_frame(pwm * 2, "probability")
    np.testing.assert_allclose(prob.to_numpy(), pwm)
    weights = np.array([[0.5, -0.2, 0, 0.1]])
    np.testing.assert_array_equal(logo_frame(weights, "weight").to_numpy(), weights)
    assert list(info.columns) == list("ACGT")
    for bad, kind in ((np.ones((3, 3)), "information"), (weights, "information"), (pwm, "bits"),
                      (np.full((2, 4), np.nan), "weight")):
        with pytest.raises(ValueError):
            logo_frame(bad, kind)
    assert logo_png(pwm, "information", title="t").startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------------------------
# Methods


def test_methods_page_bars_equal_the_metrics_and_top_k_changes_them(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "methods", tf="Pho4")
    assert _texts(at, "title") == ["Methods"]
    with _connect(app_env) as con:
        fits = queries.calibration_fits(con, PHO4_RUN, PHO4_LIB)
        choices = explore.reported_choices(fits, queries.analysis(con, PHO4_RUN, PHO4_LIB, "comparison").payload)
    expected = explore.method_metrics(fits, choices, 10)
    (fig,) = _figures(at)
    assert [t["type"] for t in fig["data"]] == ["bar"] * 6
    for i, metric in enumerate(("rmse", "pearson", "spearman")):
        reported, mean = fig["data"][2 * i], fig["data"][2 * i + 1]
        np.testing.assert_allclose(plotly_array(reported["y"]), expected[metric])
        np.testing.assert_allclose(plotly_array(mean["y"]), expected[f"{metric}_mean"])
        np.testing.assert_allclose(plotly_array(mean["error_y"]["array"]), expected[f"{metric}_sd"])
    labels = {"affinity_distillation": "AD", "jaspar": "JASPAR", "weeder": "Weeder", "modisco": "MoDISco",
              "streme": "STREME", "additive": "additive in vivo (ProBound-like)"}
    assert list(fig["data"][0]["x"]) == [labels[m] for m in expected["method"]]
    assert expected["method"].iloc[0] == "affinity_distillation" and expected["rmse"].iloc[1:].is_monotonic_increasing
    assert at.get("download_button")[0].key == f"download_methods_{PHO4_LIB}_top10"
    assert any("no row categories" in t for t in _texts(at, "caption"))
    before = plotly_array(fig["data"][1]["y"])
    assert not np.allclose(before, plotly_array(fig["data"][0]["y"]))  # weeder's top-10 mean differs from its top motif

    at.slider(key="methods_top_k").set_value(1).run()
    assert not at.exception
    (fig,) = _figures(at)
    for i in range(3):  # the mean over the top 1 motif is the reported motif itself
        np.testing.assert_allclose(plotly_array(fig["data"][2 * i + 1]["y"]), plotly_array(fig["data"][2 * i]["y"]))
        np.testing.assert_allclose(plotly_array(fig["data"][2 * i + 1]["error_y"]["array"]), 0.0)
    assert at.get("download_button")[0].key == f"download_methods_{PHO4_LIB}_top1"


def test_methods_page_shows_the_calibration_resampling(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "methods", tf="Pho4")
    with _connect(app_env) as con:
        payload = queries.analysis(con, PHO4_RUN, PHO4_LIB, "calibration_resampling").payload
    expected = explore.calibration_resampling_frame(payload)
    assert payload["n_samples"] == 50 and set(expected["method"]) == set(payload["methods"])
    assert expected["method"].iloc[0] == "affinity_distillation"
    np.testing.assert_allclose(expected["lowest_rmse_fraction"].sum(), 1.0)  # one method is best in each draw
    (table,) = [d.value for d in at.dataframe if "lowest_rmse_fraction" in d.value.columns]
    np.testing.assert_allclose(table["rmse_mean"].to_numpy(), expected["rmse_mean"].to_numpy())
    assert table["method"].iloc[0] == "Affinity Distillation"
    assert any(f"{payload['sample_size']:,} rows" in t for t in _texts(at, "caption"))
    assert explore.calibration_resampling_frame(None).columns.tolist() == explore.RESAMPLING_COLUMNS


def test_methods_page_shows_the_ensemble_members(app_env, monkeypatch):
    # the Cbf1 run scores with the mean of two models; the Pho4 run with one
    at = _open(monkeypatch, app_env, "methods", tf="Cbf1")
    with _connect(app_env) as con:
        members = queries.analysis(con, CBF1_RUN, CBF1_LIB, "ensemble_members").payload
        ad = queries.analysis(con, CBF1_RUN, CBF1_LIB, "comparison").payload["affinity_distillation"]
    assert [m["member"] for m in members] == [0, 1] and [m["seed"] for m in members] == [0, 1]
    (table,) = [d.value for d in at.dataframe if "sd_ratio" in d.value.columns and "model" in d.value.columns]
    assert table["model"].tolist() == ["member 0 (primary)", "member 1", "ensemble mean (AD)"]
    np.testing.assert_allclose(table["rmse"].to_numpy(), [members[0]["rmse"], members[1]["rmse"], ad["rmse"]])
    assert any("mean of 2 BPNets" in t for t in _texts(at, "caption"))
    single = _open(monkeypatch, app_env, "methods", tf="Pho4")
    assert any("scored with a single model" in t for t in _texts(single, "caption"))
    assert explore.ensemble_members_frame(None, None).columns.tolist() == explore.MEMBER_COLUMNS


def test_methods_page_shows_every_readout_and_the_pick(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "methods", tf="Pho4")
    with _connect(app_env) as con:
        ad = queries.analysis(con, PHO4_RUN, PHO4_LIB, "comparison").payload["affinity_distillation"]
    readouts = ad["readouts"]
    candidates = [k for k in explore.READOUT_LABELS if k in readouts]
    assert readouts["picked"] in candidates and {"counts", "linear", "combined"} <= set(candidates)
    (table,) = [d.value for d in at.dataframe if "read-out" in d.value.columns]
    assert len(table) == len(candidates) and table["reported"].sum() == 1
    picked = table[table["reported"]]["read-out"].iloc[0]
    assert picked == explore.READOUT_LABELS[readouts["picked"]]
    np.testing.assert_allclose(table["rmse"].to_numpy(), [readouts[k]["rmse"] for k in candidates])
    # the reported read-out's held-out RMSE is AD's own
    assert readouts[readouts["picked"]]["rmse"] == pytest.approx(ad["rmse"], abs=1e-9)
    assert any("reports one (lowest 5-fold" in t or "reports one (counts kept" in t for t in _texts(at, "caption"))
    assert explore.readouts_frame(None).columns.tolist() == explore.READOUT_COLUMNS


def test_methods_page_per_category(rich_catalog, monkeypatch):
    at = _open(monkeypatch, rich_catalog, "methods", tf="Pho4")
    with _connect(rich_catalog) as con:
        expected = explore.metrics_by_category(queries.calibrated_predictions(con, PHO4_RUN, PHO4_LIB))
    assert set(expected["category"]) == {explore.ALL_ROWS, "half_site", "spacer"}
    _, categories = _figures(at)
    assert len(categories["data"]) == expected["method"].nunique() == 6  # AD, 4 motif methods, additive
    for trace, (_, rows) in zip(categories["data"], expected.groupby("method", sort=False)):
        assert list(trace["x"]) == rows["category"].tolist()
        np.testing.assert_allclose(plotly_array(trace["y"]), rows["rmse"])
    at.selectbox(key="methods_category_metric").set_value("spearman").run()
    assert not at.exception
    _, categories = _figures(at)
    first = expected[expected["method"] == expected["method"].iloc[0]]
    np.testing.assert_allclose(plotly_array(categories["data"][0]["y"]), first["spearman"])


@pytest.mark.parametrize("page", ["methods", "dynamic_range", "genomic_matches"])
def test_run_pages_explain_an_unscored_library(lonely_catalog, monkeypatch, page):
    at = _open(monkeypatch, lonely_catalog, page, tf="Pho4", library="pho4_unscored")
    assert any("No complete run has scored library `pho4_unscored`" in t for t in _texts(at, "info"))
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("page", ["methods", "dynamic_range", "genomic_matches", "paralogs"])
def test_pages_explain_a_tf_without_library(lonely_catalog, monkeypatch, page):
    at = _open(monkeypatch, lonely_catalog, page, tf="Cbf1")
    assert any("Cbf1 has no in-vitro library" in t for t in _texts(at, "info"))


# ---------------------------------------------------------------------------------------------------------
# Motifs


def test_an_ensemble_run_compares_modisco_on_every_members_contributions(app_env, monkeypatch):
    """The Cbf1 run averages two models: its comparison has MoDISco on both members' mean contributions (the
    equal-budget counterpart of the ensemble AD) beside the primary model's MoDISco, and the Motifs page shows it."""
    with _connect(app_env) as con:
        comparison = queries.analysis(con, CBF1_RUN, CBF1_LIB, "comparison").payload
    assert {"modisco", "modisco_ensemble"} <= set(comparison)
    at = _open(monkeypatch, app_env, "motifs", tf="Cbf1")
    assert not at.exception
    assert _texts(at, "subheader")[:2] == ["MoDISco", "MoDISco (all models)"]


def test_motifs_page_logos_scores_and_matrix_kind(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "motifs", tf="Pho4")
    methods = ("modisco", "streme", "weeder", "jaspar", "additive")
    assert _texts(at, "subheader")[:5] == ["MoDISco", "STREME", "Weeder", "JASPAR", "additive in vivo (ProBound-like)"]
    with _connect(app_env) as con:
        comparison = queries.analysis(con, PHO4_RUN, PHO4_LIB, "comparison").payload
        weeder_2 = queries.motif_calibrations(con, PHO4_RUN, "weeder_2")
    for method in methods:  # each shows the motif the comparison reports
        assert at.selectbox(key=f"motifs_pick_{method}").value == comparison[method]["motif_id"]
    tables = [d.value for d in at.dataframe if "reported" in d.value.columns]
    for method, table in zip(methods, tables, strict=True):
        assert table.loc[table["reported"], "scoring"].tolist() == [comparison[method]["scoring"]]
    images = at.image
    assert len(images) == 5 and all(i.captions == ["PWM · information"] for i in images)
    urls = [i.value[0] for i in images]
    assert len(set(urls)) == 5
    downloads = [d.key for d in at.get("download_button")]
    assert f"download_motif_{PHO4_RUN}_modisco_pos_0_pwm" in downloads and f"download_motifs_{PHO4_RUN}" in downloads

    at.radio(key="motifs_kind").set_value("CWM").run()
    assert not at.exception
    assert at.image[0].captions == ["CWM · weight"] and at.image[0].value[0] != urls[0]
    assert [i.captions for i in at.image[1:]] == [["PWM · information"]] * 4  # no CWM: PWM shown
    assert sum("No CWM for this motif" in t for t in _texts(at, "caption")) == 4
    assert f"download_motif_{PHO4_RUN}_modisco_pos_0_cwm" in [d.key for d in at.get("download_button")]

    at.selectbox(key="motifs_pick_weeder").set_value("weeder_2").run()
    assert not at.exception
    assert at.image[2].value[0] != urls[2]
    scores = [d.value for d in at.dataframe if "scoring" in d.value.columns]
    weeder = scores[2]
    assert weeder["scoring"].tolist() == weeder_2["scoring"].tolist() == ["max", "sum"]
    np.testing.assert_allclose(weeder["rmse"], weeder_2["rmse"])
    np.testing.assert_allclose(weeder["pearson"], weeder_2["pearson"])
    assert not weeder["reported"].any()
    assert f"download_motif_{PHO4_RUN}_weeder_2_pwm" in [d.key for d in at.get("download_button")]


def test_motifs_page_empty_states(lonely_catalog, monkeypatch):
    with _connect(lonely_catalog) as con:
        assert con.execute("SELECT count(*) FROM motifs WHERE tf = 'Cbf1'").fetchone()[0] > 0
    at = _open(monkeypatch, lonely_catalog, "motifs", tf="Cbf1")  # motifs but no library: logos, no scores
    assert len(at.image) >= 1 and any("did not score library" in t for t in _texts(at, "caption"))
    assert not [d for d in at.dataframe if "scoring" in d.value.columns]
    at = _open(monkeypatch, lonely_catalog, "motifs", tf="Gal4")
    assert any("No motifs of Gal4" in t for t in _texts(at, "info")) and not at.image


# ---------------------------------------------------------------------------------------------------------
# Dynamic range


def test_dynamic_range_page_histograms_curve_and_method_choice(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "dynamic_range", tf="Pho4")
    with _connect(app_env) as con:
        dynamic = queries.analysis(con, PHO4_RUN, PHO4_LIB, "dynamic_range")
        curve = explore.backgrounds_curve_frame(queries.analysis(con, PHO4_RUN, PHO4_LIB, "backgrounds_curve").payload)
    table = dynamic.table
    methods = [s for s in table["series"].unique() if s != "measured"]
    histograms, curve_fig = _figures(at)
    assert len(histograms["data"]) == 2 * len(methods)
    for i, method in enumerate(methods):
        measured, predicted = histograms["data"][2 * i], histograms["data"][2 * i + 1]
        np.testing.assert_array_equal(plotly_array(measured["y"]), table.loc[table["series"] == "measured", "count"])
        np.testing.assert_array_equal(plotly_array(predicted["y"]), table.loc[table["series"] == method, "count"])
    titles = [a["text"] for a in histograms["layout"]["annotations"]]
    assert f"JASPAR · sd ratio {dynamic.payload['sd_ratio']['jaspar']:.2f}" in titles
    assert len(titles) == len(methods)
    np.testing.assert_allclose(plotly_array(curve_fig["data"][0]["y"]), curve["rmse"])
    np.testing.assert_array_equal(plotly_array(curve_fig["data"][0]["x"]), curve["n"])
    assert curve_fig["layout"]["xaxis"]["type"] == "log"
    ratios = [d.value for d in at.dataframe if "sd_ratio" in d.value.columns][0]
    assert dict(zip(ratios["method"], ratios["sd_ratio"]))["JASPAR"] == pytest.approx(
        dynamic.payload["sd_ratio"]["jaspar"])

    at.multiselect(key="dynamic_methods").set_value(["jaspar"]).run()
    assert not at.exception
    histograms, _ = _figures(at)
    assert len(histograms["data"]) == 2
    np.testing.assert_array_equal(plotly_array(histograms["data"][1]["y"]),
                                  table.loc[table["series"] == "jaspar", "count"])


# ---------------------------------------------------------------------------------------------------------
# Genomic matches


def _points(fig: dict) -> int:
    return sum(len(plotly_array(t["x"])) for t in fig["data"])


def test_genomic_matches_page_subsets_and_correlations(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "genomic_matches", tf="Pho4")
    with _connect(app_env) as con:
        result = queries.analysis(con, PHO4_RUN, PHO4_LIB, "genomic_matches")
    summary = result.payload
    invivo, predicted = _figures(at)
    assert _points(invivo) == _points(predicted) == summary["all"]["n"] == len(result.table)
    assert {t["name"] for t in invivo["data"]} == {"in peak", "outside peaks"}
    note = invivo["layout"]["annotations"][0]["text"]
    assert f"Spearman {summary['all']['observed_vs_invitro_spearman']:.3f}" in note
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["matches"] == str(summary["all"]["n"])
    assert metrics["Pearson predicted vs observed"] == f"{summary['all']['predicted_vs_observed_pearson']:.3f}"

    at.radio(key="genomic_subset").set_value("in_peak").run()
    assert not at.exception
    invivo, predicted = _figures(at)
    assert _points(invivo) == summary["in_peaks"]["n"] and [t["name"] for t in invivo["data"]] == ["in peak"]
    assert {m.label: m.value for m in at.metric}["Spearman observed vs in vitro"] == \
        f"{summary['in_peaks']['observed_vs_invitro_spearman']:.3f}"
    at.radio(key="genomic_subset").set_value("outside").run()
    assert _points(_figures(at)[0]) == summary["all"]["n"] - summary["in_peaks"]["n"]


def test_genomic_matches_page_without_matches(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "genomic_matches", tf="Cbf1")
    assert any("No sequence of `cbf1_like` occurs in the genome" in t for t in _texts(at, "info"))


# ---------------------------------------------------------------------------------------------------------
# Paralogs


def test_paralogs_page_points_and_density(app_env, monkeypatch):
    at = _open(monkeypatch, app_env, "paralogs", tf="Pho4")
    assert at.selectbox(key="paralog_library").value == (CBF1_LIB, "Cbf1")
    with _connect(app_env) as con:
        corr = queries.shared_correlation(con, PHO4_LIB, CBF1_LIB)
    (points,) = _figures(at)  # 2,000 shared rows: points; no shared scored row: no prediction figure
    assert points["data"][0]["type"] == "scatter" and len(plotly_array(points["data"][0]["x"])) == corr["n"] == 2000
    assert f"Pearson {corr['pearson']:.3f}" in points["layout"]["annotations"][0]["text"]
    assert any("No shared sequence was scored by both runs" in t for t in _texts(at, "info"))

    at.radio(key="paralog_view").set_value("density").run()
    assert not at.exception
    (density,) = _figures(at)
    heatmap = density["data"][0]
    assert heatmap["type"] == "heatmap" and plotly_array(heatmap["customdata"]).sum() == 2000
    assert density["data"][1]["type"] == "scattergl" and len(plotly_array(density["data"][1]["x"])) == 2000
    assert at.get("download_button")[0].key == f"download_paralog_density_{PHO4_LIB}_{CBF1_LIB}"


def test_paralogs_page_caps_points_and_explains_an_unscored_paralog(rich_catalog, monkeypatch):
    at = _open(monkeypatch, rich_catalog, "paralogs", tf="Pho4")
    assert at.selectbox(key="paralog_library").value == ("big_paralog", "Cbf1")  # most shared first
    (density,) = _figures(at)  # 6,000 shared rows > 5,000: the automatic view is the density
    assert density["data"][0]["type"] == "heatmap" and plotly_array(density["data"][0]["customdata"]).sum() == 6000
    assert any("No complete run has scored `big_paralog` with a model of Cbf1" in t for t in _texts(at, "info"))
    at.radio(key="paralog_view").set_value("points").run()
    assert not at.exception
    (points,) = _figures(at)
    x = plotly_array(points["data"][0]["x"])
    assert len(x) == 5000 and any("sample of 5,000 of the 6,000" in t for t in _texts(at, "caption"))
    with _connect(rich_catalog) as con:
        every = queries.shared_points(con, PHO4_LIB, "big_paralog")
    assert set(np.round(x, 12)) <= set(np.round(every["x"], 12))


def test_paralogs_page_predictions_of_shared_scored_rows(rich_catalog, monkeypatch):
    at = _open(monkeypatch, rich_catalog, "paralogs", tf="Pho4")
    at.selectbox(key="paralog_library").set_value((CBF1_LIB, "Cbf1")).run()
    assert not at.exception
    with _connect(rich_catalog) as con:
        shared = queries.shared_predictions(con, PHO4_RUN, PHO4_LIB, CBF1_RUN, CBF1_LIB)
    assert len(shared) >= 20
    _, predicted = _figures(at)
    np.testing.assert_allclose(plotly_array(predicted["data"][0]["x"]), shared["predicted_a"])
    np.testing.assert_allclose(plotly_array(predicted["data"][0]["y"]), shared["predicted_b"])
    np.testing.assert_allclose(plotly_array(predicted["data"][1]["x"]), shared["measured_a"] - shared["measured_b"])


def test_paralogs_page_without_another_tf(lonely_catalog, monkeypatch):
    at = _open(monkeypatch, lonely_catalog, "paralogs", tf="Pho4")
    assert any("No other TF has a library sharing sequences with `betseq_pho4`" in t for t in _texts(at, "info"))
    assert not at.get("plotly_chart")


def test_paralogs_page_compares_two_tfs_scored_on_one_library(shared_library_catalog, monkeypatch):
    at = _open(monkeypatch, shared_library_catalog, "paralogs", tf="Pho4")
    with _connect(shared_library_catalog) as con:
        n_rows = con.execute("SELECT n_rows FROM libraries WHERE library = ?", [PHO4_LIB]).fetchone()[0]
        shared = queries.shared_predictions(con, PHO4_RUN, PHO4_LIB, SHARED_RUN, PHO4_LIB)
        intercept = queries.stored_fits(con, PHO4_RUN, PHO4_LIB).set_index("method").loc[AD_METHOD, "intercept"]
        assert queries.libraries_for_tf(con, "Cbf1") == [PHO4_LIB, CBF1_LIB]
    compare = at.selectbox(key="paralog_library")
    assert compare.value == (PHO4_LIB, "Cbf1")  # every row shared: first
    assert f"Cbf1 on {PHO4_LIB} ({n_rows:,} shared)" in compare.options
    assert any("both scored on" in t for t in _texts(at, "caption"))
    (predicted,) = _figures(at)  # no measured-vs-measured figure: one table of measured values
    assert len(shared) == 300
    np.testing.assert_allclose(plotly_array(predicted["data"][0]["x"]), shared["predicted_a"])
    np.testing.assert_allclose(plotly_array(predicted["data"][0]["y"]), shared["predicted_b"])
    # the Cbf1 run's AD scores are the Pho4 run's halved, under the same fit: b − intercept = (a − intercept) / 2
    np.testing.assert_allclose(shared["predicted_b"] - intercept, (shared["predicted_a"] - intercept) / 2)
    # from Cbf1's side the library is listed under Pho4
    at = _open(monkeypatch, shared_library_catalog, "paralogs", tf="Cbf1", library=PHO4_LIB)
    assert at.selectbox(key="paralog_library").value == (PHO4_LIB, "Pho4")


def _paralog_payload(methods: list[dict]) -> dict:
    preferences = {"measured": {"Pho4": np.full((16, 4), 0.25).tolist(),
                                "Cbf1": np.eye(4)[np.arange(16) % 4].tolist()}}
    return {"tf_a": "Pho4", "tf_b": "Cbf1", "n_shared": 1234, "same_calibration_rows": True, "tail_fraction": 0.05,
            "difference": "Pho4 − Cbf1 (positive: Cbf1 prefers the sequence)", "methods": methods,
            "preferences": preferences, "run_a": PHO4_RUN, "run_b": CBF1_RUN, "table": "paralogs_cbf1.parquet"}


def test_paralogs_page_shows_the_recorded_differential_analysis(app_catalog, tmp_path_factory, monkeypatch):
    """A stored paralog analysis (as `affdist run` records it): the page's table is the payload's methods,
    lowest RMSE first, and one logo per TF; without one, the page says how to get it."""
    at = _open(monkeypatch, app_catalog, "paralogs", tf="Pho4")
    assert any("No paralog analysis of Pho4 and Cbf1" in t for t in _texts(at, "info"))

    path = _copy(app_catalog, tmp_path_factory, "differential")
    methods = [{"method": m, "n": 1234, "pearson": p, "spearman": p - 0.01, "rmse": r, "sign_agreement": 0.9,
                "sign_agreement_a": 0.85, "sign_agreement_b": 0.95, "n_tail": 61}
               for m, p, r in (("jaspar", 0.2, 0.09), (AD_METHOD, 0.6, 0.05), ("modisco", 0.4, 0.07))]
    rng = np.random.default_rng(3)
    shared_rows = pd.DataFrame({"sequence": ["ACGT" * 4] * 50, "measured_diff": rng.normal(size=50)})
    for method in (AD_METHOD, "modisco", "jaspar"):
        shared_rows[f"{method}_diff"] = rng.normal(size=50)
    table_path = tmp_path_factory.mktemp("paralog_table") / "paralogs_cbf1.parquet"
    shared_rows.to_parquet(table_path)
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO analyses VALUES (?, ?, 'paralogs', ?, ?)",
                [PHO4_RUN, PHO4_LIB, json.dumps(_paralog_payload(methods)), str(table_path)])
    con.close()
    import app.logos

    drawn = []
    real_png = app.logos.logo_png
    monkeypatch.setattr(app.logos, "logo_png", lambda matrix, *a, **k: drawn.append((matrix, k.get("title")))
                        or real_png(matrix, *a, **k))
    at = _open(monkeypatch, path, "paralogs", tf="Pho4")
    with _connect(path) as con:
        (stored,) = queries.paralog_comparisons(con, PHO4_RUN, PHO4_LIB)
    shown = at.dataframe[0].value
    assert list(shown["method"]) == [AD_METHOD, "modisco", "jaspar"]  # lowest RMSE first
    np.testing.assert_allclose(shown["RMSE"], sorted(m["rmse"] for m in stored["methods"]))
    assert any("1,234 sequences both runs held out" in t for t in _texts(at, "caption"))
    assert [title for _, title in drawn] == ["Pho4 prefers (its 5% tail)", "Cbf1 prefers (its 5% tail)"]
    np.testing.assert_allclose(drawn[1][0], stored["preferences"]["measured"]["Cbf1"])
    assert at.selectbox(key="paralog_logo_source").options == ["measured values"]
    # the difference scatter: the chosen method's stored differences, AD (lowest RMSE) first
    scatter = at.selectbox(key="paralog_scatter_method")
    assert scatter.options == [AD_METHOD, "modisco", "jaspar"] and scatter.value == AD_METHOD
    (figure,) = [f for f in _figures(at) if f["layout"]["xaxis"]["title"]["text"] == "measured Pho4 − Cbf1"]
    np.testing.assert_allclose(plotly_array(figure["data"][0]["x"]), shared_rows["measured_diff"])
    np.testing.assert_allclose(plotly_array(figure["data"][0]["y"]), shared_rows[f"{AD_METHOD}_diff"])
    at = scatter.set_value("jaspar").run()
    (figure,) = [f for f in _figures(at) if f["layout"]["xaxis"]["title"]["text"] == "measured Pho4 − Cbf1"]
    np.testing.assert_allclose(plotly_array(figure["data"][0]["y"]), shared_rows["jaspar_diff"])
