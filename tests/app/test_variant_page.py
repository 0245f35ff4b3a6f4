"""AppTests of the Variant ΔΔG page: pasted, typed and uploaded sequences get the ΔΔG that the run's own model,
backgrounds and calibration give (a scored library row reproduces its stored score); bad input shows an error and
the page keeps working. Plus the rebuilt marginalizer and the single-variant timing."""

from __future__ import annotations

import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from affdist_core.calibrate import subsets as rc
from affdist_core.calibrate.bootstrap import LinearCalibration
from affdist_core.calibrate.calibration import calibrate
from affdist_core.io.user_text import parse_pair
from affdist_core.marginalize import variants as vr
from affdist_core.marginalize.spec import ModelSpec
from app.testing import open_page as open_app, switch_page

RUN, LIBRARY = "pho4-betseq_pho4-quick", "betseq_pho4"


@pytest.fixture(scope="module")
def pho4(pho4_stored):
    """Scored rows (with stored AD scores), the stored AD line and the model spec of the Pho4 run."""
    fits = pho4_stored.fits.set_index("method")
    return pho4_stored.table, pho4_stored.stored, fits.loc["affinity_distillation"], pho4_stored.spec


def open_page() -> AppTest:
    at = open_app("variant", timeout=90, tf="Pho4")
    assert not at.exception and not at.error
    return at


def result(at: AppTest):
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.dataframe) == 1
    return at.dataframe[0].value


def test_pasted_library_sequences_reproduce_their_stored_scores(app_env, pho4):
    table, _, ad, spec = pho4
    rows = table.rows.iloc[[0, 7]]
    at = open_page()
    at.text_area(key="var_text").set_value("\n".join(rows["sequence"].str.lower())).run()
    assert any("2 sequence(s) ready" in c.value for c in at.caption)
    at.button(key="var_predict").click().run()
    out = result(at)
    np.testing.assert_allclose(out["score"], rows["affinity_distillation"], atol=1e-5)
    np.testing.assert_allclose(out["ddg"], ad["slope"] * rows["affinity_distillation"] + ad["intercept"], atol=1e-4)
    assert (out["n_backgrounds"] == spec.n_backgrounds).all()
    expected_bg = out["score_sd"] / np.sqrt(spec.n_backgrounds) * abs(ad["slope"])
    np.testing.assert_allclose(out["ddg_sd_backgrounds"], expected_bg)
    assert (out["ddg_sd_calibration"] > 0).all()
    assert at.get("plotly_chart")  # bars with error bars
    assert any(b.label == "Download predictions (CSV)" for b in at.get("download_button"))


def test_reference_alternative_pair_shows_the_ddg_difference(app_env, pho4):
    table, _, ad, _ = pho4
    ref, alt = table.rows.iloc[3], table.rows.iloc[4]
    at = open_page()
    at.radio(key="var_mode").set_value("Reference / alternative pair").run()
    at.text_input(key="var_ref").set_value(ref["sequence"]).run()
    at.text_input(key="var_alt").set_value(alt["sequence"]).run()
    at.button(key="var_predict").click().run()
    out = result(at)
    expected = ad["slope"] * (alt["affinity_distillation"] - ref["affinity_distillation"])
    assert out["ddg_alt_minus_ref"].item() == pytest.approx(expected, abs=1e-4)
    shown = next(m for m in at.metric if m.label.startswith("ΔΔG alt − ref"))
    assert float(shown.value) == pytest.approx(out["ddg_alt_minus_ref"].item(), abs=5e-5)
    assert {m.label for m in at.metric} >= {"± backgrounds", "± calibration", "± total"}


def test_uploads_fasta_and_csv_pairs(app_env, pho4):
    table, _, ad, _ = pho4
    seqs = table.rows["sequence"].iloc[:3].tolist()
    at = open_page()
    at.radio(key="var_mode").set_value("Upload FASTA / CSV").run()
    fasta = "".join(f">s{i}\n{s[:8]}\n{s[8:]}\n" for i, s in enumerate(seqs)).encode()
    at.file_uploader(key="var_file").set_value(("queries.fa", fasta, "text/plain")).run()
    at.button(key="var_predict").click().run()
    out = result(at)
    assert out["name"].tolist() == ["s0", "s1", "s2"]
    np.testing.assert_allclose(out["score"], table.rows["affinity_distillation"].iloc[:3], atol=1e-5)

    csv = f"name,ref,alt\nv1,{seqs[0]},{seqs[1]}\nv2,{seqs[1]},{seqs[2]}\n".encode()
    at.file_uploader(key="var_file").set_value(("pairs.csv", csv, "text/csv")).run()
    at.button(key="var_predict").click().run()
    out = result(at)
    scores = table.rows["affinity_distillation"].iloc[:3].to_numpy()
    np.testing.assert_allclose(out["ddg_alt_minus_ref"], ad["slope"] * np.diff(scores), atol=1e-4)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.csv", b"seq,value\nACGT,1\n", "no 'sequence' column and no 'ref'/'alt' columns (found 'seq', 'value')"),
    ("bad.fa", b">x\nACGTNNACGT\n", "x position 5 'N' (+1 more)"),
    ("big.txt", b"ACGT\n" * 500_000, "larger than the 2 MB limit"),
    ("long.fa", b">x\n" + b"A" * 600 + b"\n", "longer than the model input of 546 bp: x (600 bp)"),
    ("empty.csv", b"", "the file is empty"),
])
def test_bad_upload_shows_an_error_and_the_page_keeps_working(app_env, pho4, name, content, message):
    table = pho4[0]
    at = open_page()
    at.radio(key="var_mode").set_value("Upload FASTA / CSV").run()
    at.file_uploader(key="var_file").set_value((name, content, "text/plain")).run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value and "Accepted:" in at.error[0].value
    assert at.button(key="var_predict").disabled
    at.radio(key="var_mode").set_value("Type or paste sequences").run()
    at.text_area(key="var_text").set_value(table.rows["sequence"].iloc[0]).run()
    at.button(key="var_predict").click().run()
    assert len(result(at)) == 1


def test_pasted_garbage_is_rejected(app_env):
    at = open_page()
    at.text_area(key="var_text").set_value("ACGT hello\nACGT").run()
    assert not at.exception
    assert "each line must hold one sequence, or two (ref alt)" in at.error[0].value


def test_calibration_made_on_the_calibration_page_is_offered(app_env, pho4):
    table, _, _, _ = pho4
    at = open_page()
    assert len(at.radio(key="var_calibration").options) == 1
    switch_page(at, "calibration").run()
    at.number_input(key="cal_n").set_value(80).run()
    at.number_input(key="cal_seed").set_value(3).run()
    switch_page(at, "variant").run()
    options = at.radio(key="var_calibration").options
    assert len(options) == 2 and "n 80, seed 3" in options[1]
    at.radio(key="var_calibration").set_value(options[1]).run()
    at.text_area(key="var_text").set_value(table.rows["sequence"].iloc[5]).run()
    at.button(key="var_predict").click().run()
    out = result(at)
    sample = rc.choose_subset(table.rows, rc.SubsetRule(n=80, seed=3))
    fit, _ = calibrate(table.rows["affinity_distillation"].to_numpy(), table.rows["measured"].to_numpy(), table.ids,
                       sample)
    assert out["ddg"].item() == pytest.approx(fit.slope * out["score"].item() + fit.intercept, rel=1e-9)
    assert any("yours (n 80, seed 3)" in c.value for c in at.caption)


def test_rebuilt_backgrounds_match_the_run_and_one_variant_is_fast(app_env, pho4):
    from app.data import resolve_path

    table, stored, _, spec = pho4
    model_dir = resolve_path(spec.model_dir)
    scorer = vr.build_marginalizer(model_dir, spec)
    assert scorer.backgrounds.background_id == spec.background_id
    assert scorer.n_backgrounds == spec.n_backgrounds
    cal = LinearCalibration.from_sample(table.rows["affinity_distillation"].to_numpy(),
                                        table.rows["measured"].to_numpy(), table.ids, stored)
    queries = parse_pair(table.rows["sequence"].iloc[0], table.rows["sequence"].iloc[1])
    vr.predict_ddg(scorer, queries, cal)  # first call traces the graph
    started = time.perf_counter()
    out = vr.predict_ddg(scorer, queries, cal)
    assert time.perf_counter() - started < 5.0
    assert np.isfinite(out["ddg_sd_total"]).all()
    wrong = ModelSpec(**{**spec.__dict__, "background_id": "bg-other"})
    with pytest.raises(ValueError, match="differs from the run's bg-other"):
        vr.build_marginalizer(model_dir, wrong)


def test_two_sessions_scoring_at_once_get_what_one_gets_alone(app_env, pho4):
    """The Variant page's shared marginalizer (app.cache) from two threads at once: same scores as alone."""
    import threading

    from app import cache

    table, _, _, spec = pho4
    sequences = table.rows["sequence"].iloc[:6].tolist()
    scorer = cache.marginalizer(spec)
    assert cache.marginalizer(spec)._shared is scorer._shared  # one marginalizer for every session
    alone = vr.score_sequences(scorer, sequences, chunk_size=2)
    together: list = [None, None]

    def work(i: int) -> None:
        together[i] = vr.score_sequences(cache.marginalizer(spec), sequences, chunk_size=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for mean, deltas in together:
        np.testing.assert_allclose(mean, alone[0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(deltas, alone[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(alone[0], table.rows["affinity_distillation"].iloc[:6], atol=1e-5)
