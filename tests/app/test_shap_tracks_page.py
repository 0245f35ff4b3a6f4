"""SHAP-tracks page (AppTest on the two-run test catalog): stored tracks of held-out peaks, the logo window, typed
sequences explained on demand, and the error for a bad sequence."""

from __future__ import annotations

import json
import re

import duckdb
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from affdist_core.catalog import queries
from affdist_core.interpret import profiles, tracks
from affdist_core.interpret.contributions import load_contributions
from app.testing import open_page as open_app
from plotly_json import plotly_array

PAGE = "shap_tracks"
MODEL = "pho4-betseq_pho4-quick:bpnet"
BASES = "ACGT"


def figure(at: AppTest) -> dict:
    (found,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith("-shap_figure")]
    return json.loads(found.proto.spec)


def per_base(fig: dict) -> dict[int, float]:
    """Offset → contribution of the observed base, from the four per-base bar traces."""
    out = {}
    for trace in fig["data"]:
        if trace.get("type") == "bar" and not trace["name"].endswith("(logo)"):
            out.update(zip(plotly_array(trace["x"]).astype(int).tolist(), plotly_array(trace["y"]).tolist()))
    return out


def logo_bases(fig: dict) -> str:
    """The bases of the logo window (hover data of the logo row)."""
    (logo,) = [t for t in fig["data"] if t.get("name") == "logo"]
    return "".join(row[0] for row in logo["customdata"])


@pytest.fixture
def stored(app_env):
    con = duckdb.connect(str(app_env), read_only=True)
    sources = queries.model_sources(con, MODEL)
    con.close()
    return sources, load_contributions(sources.contributions)


def open_page() -> AppTest:
    at = open_app(PAGE, timeout=120, tf="Pho4")
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_peak_track_matches_the_stored_scores_and_changes_with_the_peak(stored):
    sources, scores = stored
    at = open_page()
    first = figure(at)
    centre = sources.seq_len // 2
    contrib = scores.contrib.sum(axis=2)
    shown = per_base(first)
    assert len(shown) == sources.seq_len
    np.testing.assert_allclose([shown[o] for o in range(-centre, sources.seq_len - centre)], contrib[0], atol=1e-6)
    # the logo is an image laid over the first row, in data coordinates of the logo window (default ±50 bp)
    (image,) = first["layout"]["images"]
    assert image["source"].startswith("data:image/png;base64,") and image["xref"] == "x"
    assert image["x"] == -50.5 and image["sizex"] == 101
    bases = tracks.peak_track(scores, 0).sequence
    assert logo_bases(first) == bases[centre - 50:centre + 51]
    names = {t["name"] for t in first["data"]}
    assert {"observed +", "observed -", "predicted +", "predicted -"} <= names
    regions = scores.regions
    observed = profiles.observed_profile(sources.plus_bigwig, sources.minus_bigwig, regions["chrom"].iloc[0],
                                       int(regions["centre"].iloc[0]), sources.out_pred_len)
    (plus,) = [t for t in first["data"] if t["name"] == "observed +"]
    np.testing.assert_allclose(plotly_array(plus["y"]), observed[:, 0])

    at.selectbox(key="shap_peak").select_index(1).run()
    assert not at.exception
    second = figure(at)
    shown = per_base(second)
    np.testing.assert_allclose([shown[o] for o in range(-centre, sources.seq_len - centre)], contrib[1], atol=1e-6)
    assert not np.allclose(contrib[0], contrib[1])
    assert second["layout"]["images"][0]["source"] != image["source"]
    assert regions["name"].iloc[1] in at.markdown[-1].value


def test_logo_window_slider_sets_the_logo_and_the_zoom(stored):
    sources, scores = stored
    at = open_page()
    at.slider(key="shap_window_peak").set_range(-5, 10).run()
    assert not at.exception
    fig = figure(at)
    (image,) = fig["layout"]["images"]
    assert (image["x"], image["sizex"]) == (-5.5, 16)
    assert fig["layout"]["xaxis3"]["range"] == [-5.5, 10.5]
    centre = sources.seq_len // 2
    assert logo_bases(fig) == tracks.peak_track(scores, 0).sequence[centre - 5:centre + 11]
    at.toggle(key="shap_hypothetical").set_value(True).run()
    fig = figure(at)
    assert "hypothetical" in fig["layout"]["annotations"][0]["text"]
    assert fig["layout"]["images"][0]["source"] != image["source"]
    # wider than the letter limit: stacked bars of the four bases instead of the logo image
    at.slider(key="shap_window_peak").set_range(-150, 150).run()
    fig = figure(at)
    assert not fig["layout"].get("images")
    logo_bars = [t for t in fig["data"] if t["name"].endswith("(logo)")]
    assert len(logo_bars) == 4 and len(plotly_array(logo_bars[0]["y"])) == 301
    hypothetical = tracks.peak_track(scores, 0).hypothetical[centre - 150:centre + 151]
    np.testing.assert_allclose(plotly_array(logo_bars[0]["y"]), hypothetical[:, 0], atol=1e-6)


def test_typed_sequence_shows_its_track(stored):
    sources, _ = stored
    at = open_page()
    at.radio(key="shap_mode").set_value("Typed sequence").run()
    assert any("Type or paste" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    at.text_area(key="shap_sequence").input("gtcacgtgac\n").run()
    assert not at.exception and not at.error
    fig = figure(at)
    assert "GTCACGTGAC" in logo_bases(fig)
    start = (sources.seq_len - 10) // 2 - sources.seq_len // 2
    # the typed bases are highlighted, and the explanation says how the scores were computed
    assert any(s.get("x0") == start - 0.5 and s.get("x1") == start + 9.5 for s in fig["layout"]["shapes"])
    assert any("DeepSHAP computed now" in c.value for c in at.caption)
    assert not any(t["name"].startswith("observed") for t in fig["data"])
    assert {"predicted +", "predicted -"} <= {t["name"] for t in fig["data"]}
    # completeness: the per-base contributions over the whole window sum to Δ shown above the figure
    delta = float(re.search(r"Δ vs shuffled references ([+-][0-9.]+)", at.markdown[-1].value).group(1))
    assert sum(per_base(fig).values()) == pytest.approx(delta, abs=2e-3)


@pytest.mark.parametrize("text, message", [("ACGTZZCACGTG", "only A, C, G, T"),
                                           ("A" * 600, "longer than the model input")])
def test_bad_sequence_shows_an_error(app_env, text, message):
    at = open_page()
    at.radio(key="shap_mode").set_value("Typed sequence").run()
    at.text_area(key="shap_sequence").input(text).run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value
    assert not at.get("plotly_chart")
