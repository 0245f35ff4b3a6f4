"""AppTests of the Calibration page: the stored calibration is shown, and changing the calibration subset (size,
seed, pattern, range, id list) refits every method with calibrate()'s numbers; bad selections show an error."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from affdist_core.calibrate import subsets as rc
from affdist_core.calibrate.calibration import calibrate
from affdist_core.catalog import queries
from app.subsets import USER_CALIBRATION_KEY
from app.testing import open_page as open_app, switch_page
from plotly_json import plotly_array

RUN, LIBRARY = "pho4-betseq_pho4-quick", "betseq_pho4"


@pytest.fixture(scope="module")
def pho4(pho4_stored):
    """The Pho4 run's scored table and stored sample/fits, read directly from the catalog."""
    return pho4_stored.table, pho4_stored.stored, pho4_stored.fits


def open_page(tf: str = "Pho4") -> AppTest:
    at = open_app("calibration", timeout=60, tf=tf)
    assert not at.exception
    return at


def methods_table(at: AppTest):
    assert len(at.dataframe) == 1
    return at.dataframe[0].value.set_index("method")


def expected_fit(table: rc.ScoredTable, sample, method: str):
    fit, _ = calibrate(table.rows[method].to_numpy(), table.rows["measured"].to_numpy(), table.ids, sample)
    return fit


def chart(at: AppTest, key: str) -> dict:
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(f"-{key}"):
            return json.loads(element.proto.spec)
    raise KeyError(key)


def test_default_shows_the_stored_calibration(app_env, pho4):
    table, stored, fits = pho4
    at = open_page()
    shown = methods_table(at)
    assert list(shown.index) == table.methods["method"].tolist()
    for row in fits.itertuples():
        assert shown.loc[row.method, "rmse new"] == pytest.approx(row.rmse, rel=1e-9)
        assert shown.loc[row.method, "rmse stored"] == pytest.approx(row.rmse, rel=1e-9)
        assert shown.loc[row.method, "pearson change"] == pytest.approx(0, abs=1e-12)
    assert USER_CALIBRATION_KEY not in at.session_state  # the stored sample: nothing of the user's to hand on
    metrics = {m.label: m for m in at.metric}
    ad = fits.set_index("method").loc["affinity_distillation"]
    assert float(metrics["Slope"].value) == pytest.approx(ad["slope"], rel=1e-3)
    assert metrics["RMSE (held out, RT)"].delta == "same as stored"
    raw = chart(at, "cal_fig_raw")
    names = [trace["name"] for trace in raw["data"]]
    assert names == [f"held out ({len(table) - stored.size})", f"calibration ({stored.size})", "fit (this subset)",
                     "stored fit"]
    held = raw["data"][0]
    heldout_ids = sorted(set(table.ids) - set(stored.ids))
    np.testing.assert_allclose(np.sort(plotly_array(held["x"])),  # 300 rows: every point, no density
                               np.sort(table.rows.loc[heldout_ids, "affinity_distillation"].to_numpy()))
    bars = chart(at, "cal_fig_methods")
    assert {trace["name"] for trace in bars["data"]} == {"stored", "this subset"}
    assert len(bars["data"]) == 6  # 3 metrics × (stored, new)


def test_sample_size_and_seed_change_every_methods_metrics(app_env, pho4):
    table, stored, fits = pho4
    at = open_page()
    before = methods_table(at)["rmse new"].copy()
    at.number_input(key="cal_n").set_value(60).run()
    assert not at.exception and not at.error
    after_n = methods_table(at)
    sample = rc.choose_subset(table.rows, rc.SubsetRule(n=60, seed=stored.seed))
    for method in table.columns:
        fit = expected_fit(table, sample, method)
        assert after_n.loc[method, "rmse new"] == pytest.approx(fit.rmse, rel=1e-9)
        assert after_n.loc[method, "pearson new"] == pytest.approx(fit.pearson, rel=1e-9)
        assert after_n.loc[method, "n calibration new"] == 60
    assert not np.allclose(after_n["rmse new"].to_numpy(), before.to_numpy())
    assert at.session_state[USER_CALIBRATION_KEY].sample.ids == sample.ids
    slope_metric = next(m for m in at.metric if m.label == "Slope")
    assert float(slope_metric.value) == pytest.approx(expected_fit(table, sample, "affinity_distillation").slope,
                                                      rel=1e-3)

    at.number_input(key="cal_seed").set_value(5).run()
    after_seed = methods_table(at)
    sample5 = rc.choose_subset(table.rows, rc.SubsetRule(n=60, seed=5))
    assert sample5.ids != sample.ids
    for method in table.columns:
        assert after_seed.loc[method, "rmse new"] == pytest.approx(expected_fit(table, sample5, method).rmse,
                                                                   rel=1e-9)
    assert not np.allclose(after_seed["rmse new"].to_numpy(), after_n["rmse new"].to_numpy())

    at.button(key="cal_reset").click().run()
    reset = methods_table(at)
    np.testing.assert_allclose(reset["rmse new"].to_numpy(), before.to_numpy())
    assert USER_CALIBRATION_KEY not in at.session_state


@pytest.mark.parametrize(("kind", "pattern", "regex"), [("IUPAC", "NNNNNCACGTGNNNNA", r"^.{5}CACGTG.{4}A$"),
                                                         ("regex", "CACGTG[AT]", r"CACGTG[AT]")])
def test_pattern_filter_calibrates_on_matching_rows_only(app_env, pho4, kind, pattern, regex):
    table, stored, _ = pho4
    at = open_page()
    at.radio(key="cal_pattern_kind").set_value(kind).run()
    at.text_input(key="cal_pattern").set_value(pattern).run()
    assert not at.exception and not at.error
    chosen = at.session_state[USER_CALIBRATION_KEY].sample
    matching = set(table.rows.index[table.rows["sequence"].str.contains(regex)])
    assert 30 < len(matching) < len(table)
    assert set(chosen.ids) <= matching and chosen.size == stored.size
    shown = methods_table(at)
    for method in table.columns:
        assert shown.loc[method, "rmse new"] == pytest.approx(expected_fit(table, chosen, method).rmse, rel=1e-9)
    assert any(f"{kind.lower()} {pattern}" in c.value for c in at.caption)


def test_bad_selections_show_an_error_and_the_page_keeps_working(app_env, pho4):
    table, stored, fits = pho4
    at = open_page()
    at.text_input(key="cal_pattern").set_value("GGGGGGGGGGGGGGGG").run()
    assert not at.exception
    assert "matches none of the 300 scored sequences" in at.error[0].value
    assert methods_table(at).loc["jaspar", "rmse new"] == pytest.approx(
        fits.set_index("method").loc["jaspar", "rmse"])  # falls back to the stored calibration
    at.text_input(key="cal_pattern").set_value("").run()
    assert not at.error

    at.checkbox(key="cal_use_range").check().run()
    low = float(table.rows["measured"].max()) - 1e-6
    at.slider(key="cal_range").set_range(low, float(table.rows["measured"].max())).run()
    assert not at.exception
    assert "keeps 1 scored row(s); at least 3 are needed" in at.error[0].value
    at.checkbox(key="cal_use_range").uncheck().run()
    assert not at.error

    at.file_uploader(key="cal_ids").set_value(("ids.txt", b"nope1\nnope2\n" + table.ids[0].encode(),
                                               "text/plain")).run()
    assert not at.exception
    assert "2 of 3 id(s) are not in the library, e.g. ['nope1', 'nope2']" in at.error[0].value
    listed = table.ids[:10]
    at.file_uploader(key="cal_ids").set_value(("ids.csv", ("id\n" + "\n".join(listed)).encode(), "text/csv")).run()
    assert not at.error
    assert (methods_table(at)["n calibration new"] == 10).all()
    assert at.session_state[USER_CALIBRATION_KEY].sample.ids == tuple(sorted(listed))
    at.button(key="cal_reset").click().run()  # also empties the id list
    assert (methods_table(at)["n calibration new"] == stored.size).all()
    assert at.file_uploader[0].value is None


def test_the_other_tf_and_the_default_rule_reproduce_stored_fits(app_env, app_catalog):
    con = duckdb.connect(str(app_catalog), read_only=True)
    try:
        for run, library in ((RUN, LIBRARY), ("cbf1-cbf1_like-quick", "cbf1_like")):
            table = queries.scored_rows(con, run, library)
            stored = queries.stored_sample(con, run, library, len(table))
            sample = rc.choose_subset(table.rows, rc.default_rule(stored, len(table)))
            assert sample.ids == stored.ids
            fits, _ = rc.refit(table, sample)
            comparison = rc.compare_with_stored(fits, queries.stored_fits(con, run, library))
            np.testing.assert_allclose(comparison["rmse_change"].dropna(), 0, atol=1e-12)
    finally:
        con.close()
    at = open_page("Cbf1")
    assert any("cbf1_like" in c.value for c in at.caption)
    assert "affinity_distillation" in methods_table(at).index


def test_the_subset_survives_a_visit_to_another_page(app_env, pho4):
    at = open_page()
    at.number_input(key="cal_n").set_value(45).run()
    at.text_input(key="cal_pattern").set_value("CACGTGA").run()
    before = methods_table(at)["rmse new"].to_numpy()
    switch_page(at, "variant").run()
    switch_page(at, "calibration").run()
    assert at.number_input(key="cal_n").value == 45 and at.text_input(key="cal_pattern").value == "CACGTGA"
    np.testing.assert_allclose(methods_table(at)["rmse new"].to_numpy(), before)
