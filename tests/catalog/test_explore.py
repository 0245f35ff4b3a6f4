"""Catalog queries and aggregations of the explorer (affdist_core.catalog.queries, affdist_core.catalog.explore) on a
small synthetic catalog with known contents: two TFs whose libraries share sequences, categories, ranked motifs,
stored fits and analyses. Every aggregate is checked against a numpy/scipy recomputation. (The same functions are
checked on the real app test catalog in tests/app/test_browse_pages.py.)"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from affdist_core.catalog import explore, queries
from affdist_core.catalog.schema import insert_frame, open_catalog, record_run

RUN_A, RUN_B = "run_a", "run_b"
N_A = 60


def _sequences(n: int, rng: np.random.Generator) -> list[str]:
    seqs: set[str] = set()
    while len(seqs) < n:
        seqs.add("".join(rng.choice(list("ACGT"), 8)))
    return sorted(seqs)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A catalog: Pho4 (lib_a, 60 rows, categories, run_a scored all), Cbf1 (lib_b, 40 rows of which 30 share a
    sequence with lib_a — 5 of them twice —, run_b scored 20), and Pho4's second library lib_a2 sharing sequences
    (same TF: not a paralog). Returns (path, dict of the frames written)."""
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("explore") / "catalog.duckdb"
    seqs = _sequences(N_A + 10, rng)
    lib_a = pd.DataFrame({"library": "lib_a", "id": [f"a{i:02d}" for i in range(N_A)], "sequence": seqs[:N_A],
                          "value": np.round(rng.normal(0, 1, N_A), 1),  # rounded: ties for Spearman
                          "category": rng.choice(["half_site", "spacer", None], N_A)})
    shared = seqs[:30] + seqs[:5]  # 5 sequences appear twice in lib_b
    b_seqs = shared + seqs[N_A : N_A + 5]
    lib_b = pd.DataFrame({"library": "lib_b", "id": [f"b{i:02d}" for i in range(len(b_seqs))], "sequence": b_seqs,
                          "value": np.round(rng.normal(0, 1, len(b_seqs)), 1), "category": None})
    lib_a2 = pd.DataFrame({"library": "lib_a2", "id": ["c0", "c1"], "sequence": seqs[:2], "value": [0.0, 1.0],
                           "category": None})
    sample_a = sorted(lib_a["id"].iloc[::6])  # 10 calibration rows
    scores_a, fits_a = [], []
    y_a = lib_a.set_index("id")["value"]
    ad = lib_a["value"].to_numpy() * -2.0 + rng.normal(0, 0.8, N_A)
    scores_a.append(pd.DataFrame({"method": "affinity_distillation", "motif_id": None, "scoring": "marginalization",
                                  "id": lib_a["id"], "score": ad}))
    motif_scores = {}
    for rank in range(1, 4):  # streme_1..3, with sum and max
        for scoring in ("sum", "max"):
            motif_scores[(f"streme_{rank}", scoring)] = lib_a["value"].to_numpy() + rng.normal(0, rank * 0.5, N_A)
    motif_scores[("MA0357.1", "max")] = lib_a["value"].to_numpy() + rng.normal(0, 0.3, N_A)
    motif_scores[("MA0357.1", "sum")] = rng.normal(0, 1, N_A)
    scores_a.append(pd.DataFrame({"method": "streme", "motif_id": "streme_1", "scoring": "sum", "id": lib_a["id"],
                                  "score": motif_scores[("streme_1", "sum")]}))
    scores_a[-1].loc[3, "score"] = np.nan  # a row that could not be scored
    scores_a.append(pd.DataFrame({"method": "jaspar", "motif_id": "MA0357.1", "scoring": "max", "id": lib_a["id"],
                                  "score": motif_scores[("MA0357.1", "max")]}))
    in_sample = lib_a["id"].isin(sample_a).to_numpy()
    columns = [("affinity_distillation", None, "marginalization", ad)] + [
        ("streme" if m.startswith("streme") else "jaspar", m, s, v) for (m, s), v in motif_scores.items()]
    for method, motif_id, scoring, values in columns:
        slope, intercept = _fit(values[in_sample], lib_a["value"].to_numpy()[in_sample])
        pred = slope * values + intercept
        held = ~in_sample
        fits_a.append({"method": method, "motif_id": motif_id, "scoring": scoring, "slope": slope,
                       "intercept": intercept, "r2": float(np.corrcoef(values[in_sample],
                                                                       lib_a["value"][in_sample])[0, 1] ** 2),
                       "n_calibration": int(in_sample.sum()), "n_heldout": int(held.sum()),
                       "pearson": stats.pearsonr(pred[held], y_a.to_numpy()[held])[0],
                       "spearman": stats.spearmanr(pred[held], y_a.to_numpy()[held])[0],
                       "rmse": float(np.sqrt(np.mean((pred[held] - y_a.to_numpy()[held]) ** 2)))})
    fits_a = pd.DataFrame(fits_a).assign(run_id=RUN_A, library="lib_a", sample_id="run_a:calibration")
    scores_a = pd.concat(scores_a, ignore_index=True).assign(run_id=RUN_A, library="lib_a")

    b_scored = lib_b.iloc[::2]  # 20 rows, 17 of them shared with lib_a
    sample_b = sorted(b_scored["id"].iloc[:5])
    scores_b = pd.DataFrame({"run_id": RUN_B, "library": "lib_b", "method": "affinity_distillation",
                             "motif_id": None, "scoring": "marginalization", "id": b_scored["id"],
                             "score": b_scored["value"].to_numpy() + rng.normal(0, 0.5, len(b_scored))})
    fits_b = pd.DataFrame([{"run_id": RUN_B, "library": "lib_b", "method": "affinity_distillation",
                            "motif_id": None, "scoring": "marginalization", "sample_id": "run_b:calibration",
                            "slope": 0.7, "intercept": 0.1, "r2": 0.5, "n_calibration": 5, "n_heldout": 15,
                            "pearson": 0.5, "spearman": 0.5, "rmse": 0.5}])
    # motifs in rank order; the streme calibrations are deliberately written out of rank order
    motifs = [("streme_1", "streme"), ("streme_2", "streme"), ("streme_3", "streme"), ("MA0357.1", "jaspar"),
              ("modisco_pos_0", "modisco")]
    pwm = rng.dirichlet(np.ones(4), size=5)
    cwm = rng.normal(0, 1, (5, 4))
    fits_a = fits_a.iloc[[0, 3, 1, 5, 2, 4, 6, 7]].reset_index(drop=True)

    with open_catalog(path) as catalog, catalog.transaction() as con:
        for run in (RUN_A, RUN_B):
            record_run(con, run, "test", {}, {}, {}, datetime.now(timezone.utc))
        con.execute("INSERT INTO tfs VALUES ('Pho4', 'CACGTG', 'MA0357.1'), ('Cbf1', 'CACGTG', 'MA0281.2')")
        for name, tf, frame in (("lib_a", "Pho4", lib_a), ("lib_b", "Cbf1", lib_b), ("lib_a2", "Pho4", lib_a2)):
            con.execute("INSERT INTO libraries VALUES (?, ?, 'test', 'ddG', 'RT', ?)", [name, tf, len(frame)])
            insert_frame(con, "measurements", frame)
        for motif_id, method in motifs:
            con.execute("INSERT INTO motifs (motif_id, run_id, tf, method, consensus, width, pwm, cwm, n_sites, "
                        "score, provenance) VALUES (?, ?, 'Pho4', ?, ?, 5, ?, ?, 10, 1.0, ?)",
                        [motif_id, RUN_A, method, f"C{motif_id[:4]}", pwm.tolist(),
                         cwm.tolist() if method == "modisco" else None, json.dumps({"m": motif_id})])
        insert_frame(con, "scores", pd.concat([scores_a, scores_b], ignore_index=True))
        insert_frame(con, "calibrations", pd.concat([fits_a, fits_b], ignore_index=True))
        con.execute("INSERT INTO calibration_samples VALUES ('run_a:calibration', 'lib_a', 'n 10', 0, ?), "
                    "('run_b:calibration', 'lib_b', 'n 5', 0, ?)", [sample_a, sample_b])
        table = path.parent / "matches.parquet"
        pd.DataFrame({"x": [1, 2]}).to_parquet(table)
        insert_frame(con, "analyses", pd.DataFrame({
            "run_id": RUN_A, "library": "lib_a", "name": ["comparison", "with_table", "lost_table"],
            "payload": [json.dumps({"streme": {"motif_id": "streme_1", "scoring": "sum"},
                                    "affinity_distillation": {"scoring": "marginalization"}}),
                        json.dumps({"k": 1}), json.dumps([1, 2])],
            "table_path": [None, str(table), str(path.parent / "gone.parquet")]}))
    return path, {"lib_a": lib_a, "lib_b": lib_b, "scores_a": scores_a, "fits_a": fits_a, "sample_a": sample_a,
                  "sample_b": sample_b, "scores_b": scores_b, "pwm": pwm, "cwm": cwm}


@pytest.fixture
def con(world):
    connection = duckdb.connect(str(world[0]), read_only=True)
    yield connection
    connection.close()


def test_calibrated_predictions_apply_the_stored_fit_and_flag_calibration_rows(con, world):
    _, w = world
    pred = queries.calibrated_predictions(con, RUN_A, "lib_a")
    assert len(pred) == 3 * N_A
    fits = w["fits_a"].assign(motif_id=w["fits_a"]["motif_id"].fillna("")).set_index(["method", "motif_id",
                                                                                        "scoring"])
    for key, rows in pred.assign(motif_id=pred["motif_id"].fillna("")).groupby(["method", "motif_id", "scoring"]):
        fit = fits.loc[key]
        np.testing.assert_allclose(rows["predicted"], fit["slope"] * rows["score"] + fit["intercept"])
        assert set(rows.loc[~rows["heldout"], "id"]) == set(w["sample_a"])
    assert pred.loc[pred["method"] == "streme", "predicted"].isna().sum() == 1
    measured = w["lib_a"].set_index("id")["value"]
    np.testing.assert_array_equal(pred["measured"], measured.loc[pred["id"]].to_numpy())
    only_ad = queries.calibrated_predictions(con, RUN_A, "lib_a", method="affinity_distillation")
    assert set(only_ad["method"]) == {"affinity_distillation"} and len(only_ad) == N_A


def test_metrics_by_category_equal_numpy_and_the_stored_fits(con, world):
    _, w = world
    pred = queries.calibrated_predictions(con, RUN_A, "lib_a")
    table = explore.metrics_by_category(pred)
    assert list(table["category"].unique()) == [explore.ALL_ROWS, "half_site", "spacer"]
    stored = w["fits_a"].assign(motif_id=w["fits_a"]["motif_id"].fillna("")).set_index(["method", "motif_id",
                                                                                          "scoring"])
    for row in table.itertuples():
        rows = pred[(pred["method"] == row.method) & pred["heldout"]]
        if row.category != explore.ALL_ROWS:
            rows = rows[rows["category"] == row.category]
        rows = rows[np.isfinite(rows["predicted"])]
        p, y = rows["predicted"].to_numpy(), rows["measured"].to_numpy()
        assert row.n == len(rows)
        assert row.rmse == pytest.approx(np.sqrt(np.mean((p - y) ** 2)))
        assert row.pearson == pytest.approx(stats.pearsonr(p, y)[0])
        assert row.spearman == pytest.approx(stats.spearmanr(p, y)[0])
        if row.category == explore.ALL_ROWS and row.method != "streme":  # streme has a NaN score row
            fit = stored.loc[(row.method, rows["motif_id"].fillna("").iloc[0], rows["scoring"].iloc[0])]
            assert (row.rmse, row.pearson, row.spearman) == pytest.approx((fit["rmse"], fit["pearson"],
                                                                           fit["spearman"]))
    assert queries.library_has_categories(con, "lib_a") and not queries.library_has_categories(con, "lib_b")


def test_heldout_metrics_match_scipy_and_degrade_to_nan():
    rng = np.random.default_rng(3)
    p, y = rng.normal(size=50), np.round(rng.normal(size=50), 1)
    m = explore.heldout_metrics(p, y)
    assert m["n"] == 50 and m["pearson"] == pytest.approx(stats.pearsonr(p, y)[0])
    assert m["spearman"] == pytest.approx(stats.spearmanr(p, y)[0])
    assert np.isnan(explore.heldout_metrics([1.0, 2.0], [1.0, 3.0])["pearson"])
    assert np.isnan(explore.heldout_metrics([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])["spearman"])
    assert explore.heldout_metrics([np.nan, 1.0], [0.0, 1.0]) == {"n": 1, "rmse": 0.0, "pearson": pytest.approx(
        np.nan, nan_ok=True), "spearman": pytest.approx(np.nan, nan_ok=True)}


def test_fits_carry_motif_rank_and_method_metrics_average_the_top_k(con, world):
    fits = queries.calibration_fits(con, RUN_A, "lib_a")
    streme = fits[fits["method"] == "streme"]
    assert dict(zip(streme["motif_id"], streme["rank"])) == {"streme_1": 1, "streme_2": 2, "streme_3": 3}
    assert fits.loc[fits["method"] == "affinity_distillation", "rank"].tolist() == [1]
    choices = explore.reported_choices(fits, {"streme": {"motif_id": "streme_1", "scoring": "sum"}})
    assert choices.set_index("method").loc["streme", "scoring"] == "sum"
    for k in (1, 2, 3, 10):
        metrics = explore.method_metrics(fits, choices, k).set_index("method")
        assert metrics.index[0] == "affinity_distillation"
        rows = streme[streme["scoring"] == "sum"].sort_values("rank").head(k)
        got = metrics.loc["streme"]
        assert got["k"] == min(k, 3)
        for metric in explore.METRICS:
            assert got[f"{metric}_mean"] == pytest.approx(rows[metric].mean())
            assert got[f"{metric}_sd"] == pytest.approx(rows[metric].std(ddof=1) if len(rows) > 1 else 0.0)
        reported = streme[(streme["motif_id"] == "streme_1") & (streme["scoring"] == "sum")].iloc[0]
        assert got["rmse"] == pytest.approx(reported["rmse"])
        if k == 1:
            assert got["rmse_mean"] == pytest.approx(got["rmse"]) and got["rmse_sd"] == 0.0
    with pytest.raises(ValueError, match="top_k"):
        explore.method_metrics(fits, choices, 11)


def test_reported_choices_without_a_comparison_follow_the_compare_rule(con):
    fits = queries.calibration_fits(con, RUN_A, "lib_a")
    choices = explore.reported_choices(fits, None).set_index("method")
    for method in ("streme", "jaspar"):
        top = fits[(fits["method"] == method) & (fits["rank"] == 1)]
        best = top.loc[top["r2"].idxmax()]
        assert choices.loc[method, "motif_id"] == best["motif_id"]
        assert choices.loc[method, "scoring"] == best["scoring"]
    assert choices.loc["affinity_distillation", "scoring"] == "marginalization"


def test_motif_queries(con, world):
    _, w = world
    motifs = queries.run_motifs(con, RUN_A)
    assert motifs[motifs["method"] == "streme"]["motif_id"].tolist() == ["streme_1", "streme_2", "streme_3"]
    assert motifs.set_index("motif_id").loc["modisco_pos_0", "has_cwm"]
    np.testing.assert_allclose(queries.motif_matrix(con, RUN_A, "streme_2", "pwm"), w["pwm"])
    np.testing.assert_allclose(queries.motif_matrix(con, RUN_A, "modisco_pos_0", "cwm"), w["cwm"])
    assert queries.motif_matrix(con, RUN_A, "streme_2", "cwm") is None
    assert queries.motif_matrix(con, RUN_A, "no_such_motif") is None
    with pytest.raises(ValueError, match="kind"):
        queries.motif_matrix(con, RUN_A, "streme_2", "logo")
    scores = queries.motif_calibrations(con, RUN_A, "streme_2")
    assert scores["scoring"].tolist() == ["max", "sum"] and set(scores["library"]) == {"lib_a"}
    runs = queries.motif_runs(con, "Pho4")
    assert runs["run_id"].tolist() == [RUN_A] and runs["n_motifs"].tolist() == [5]
    assert queries.motif_runs(con, "Cbf1").empty
    frame = explore.matrix_frame(w["pwm"])
    assert list(frame.columns) == ["position", "A", "C", "G", "T"] and frame["position"].tolist() == [1, 2, 3, 4, 5]


def test_paralog_libraries_are_other_tfs_sharing_sequences(con):
    others = queries.paralog_libraries(con, "lib_a")
    assert others["library"].tolist() == ["lib_b"]  # lib_a2 shares sequences but belongs to Pho4 too
    assert others["n_shared"].tolist() == [35] and others["tf"].tolist() == ["Cbf1"]
    back = queries.paralog_libraries(con, "lib_b")  # both Pho4 libraries, most shared first
    assert back["library"].tolist() == ["lib_a", "lib_a2"] and back["n_shared"].tolist() == [35, 4]


@pytest.mark.parametrize("bins", [1, 7, 50])
def test_shared_density_sums_to_the_shared_rows_and_matches_numpy(con, bins):
    points = queries.shared_points(con, "lib_a", "lib_b")
    density = queries.shared_density(con, "lib_a", "lib_b", bins=bins)
    assert density["count"].sum() == len(points) == 35
    expected, xe, ye = np.histogram2d(points["x"], points["y"], bins=bins)
    x, y, z = explore.density_grid(density, bins)
    np.testing.assert_array_equal(z, expected.T.astype(np.int64))
    np.testing.assert_allclose(x, (xe[:-1] + xe[1:]) / 2)
    np.testing.assert_allclose(y, (ye[:-1] + ye[1:]) / 2)
    assert density["x_left"].min() == pytest.approx(points["x"].min())
    assert density["y_right"].max() == pytest.approx(points["y"].max())


def test_shared_density_rejects_bad_bins(con):
    with pytest.raises(ValueError, match="bins"):
        queries.shared_density(con, "lib_a", "lib_b", bins=0)


def test_shared_correlation_equals_scipy_with_ties(con):
    points = queries.shared_points(con, "lib_a", "lib_b")
    corr = queries.shared_correlation(con, "lib_a", "lib_b")
    assert corr["n"] == 35
    assert corr["pearson"] == pytest.approx(stats.pearsonr(points["x"], points["y"])[0])
    assert corr["spearman"] == pytest.approx(stats.spearmanr(points["x"], points["y"])[0])
    none = queries.shared_correlation(con, "lib_a", "no_library")
    assert none["n"] == 0 and np.isnan(none["pearson"])


def test_shared_points_sample_is_deterministic_and_seeded(con):
    every = queries.shared_points(con, "lib_a", "lib_b")
    one = queries.shared_points(con, "lib_a", "lib_b", limit=10, random_state=0)
    assert len(one) == 10
    pd.testing.assert_frame_equal(one, queries.shared_points(con, "lib_a", "lib_b", limit=10, random_state=0))
    other = queries.shared_points(con, "lib_a", "lib_b", limit=10, random_state=1)
    assert set(zip(one["id_a"], one["id_b"])) != set(zip(other["id_a"], other["id_b"]))
    assert set(zip(one["id_a"], one["id_b"])) <= set(zip(every["id_a"], every["id_b"]))


def test_shared_predictions_calibrate_each_side_with_its_run(con, world):
    _, w = world
    shared = queries.shared_predictions(con, RUN_A, "lib_a", RUN_B, "lib_b")
    a = queries.calibrated_predictions(con, RUN_A, "lib_a", "affinity_distillation").set_index("id")
    scored_b = w["scores_b"].set_index("id")["score"]
    b_rows = w["lib_b"].set_index("id").loc[scored_b.index]
    expected = b_rows[b_rows["sequence"].isin(w["lib_a"]["sequence"])]
    assert len(shared) == len(expected) > 0
    np.testing.assert_allclose(shared["predicted_b"], 0.7 * scored_b.loc[shared["id_b"]].to_numpy() + 0.1)
    np.testing.assert_allclose(shared["predicted_a"], a.loc[shared["id_a"], "predicted"].to_numpy())
    np.testing.assert_array_equal(shared["measured_b"], w["lib_b"].set_index("id").loc[shared["id_b"], "value"])
    assert queries.shared_predictions(con, RUN_A, "lib_a", RUN_B, "lib_a2").empty


def test_analysis_reads_payload_and_table(con, world):
    comparison = queries.analysis(con, RUN_A, "lib_a", "comparison")
    assert comparison.payload["streme"]["motif_id"] == "streme_1" and comparison.table is None
    with_table = queries.analysis(con, RUN_A, "lib_a", "with_table")
    assert with_table.payload == {"k": 1} and with_table.table["x"].tolist() == [1, 2]
    lost = queries.analysis(con, RUN_A, "lib_a", "lost_table")
    assert lost.payload == [1, 2] and lost.table is None
    assert queries.analysis(con, RUN_A, "lib_a", "dynamic_range") is None
    moved = queries.analysis(con, RUN_A, "lib_a", "with_table", resolve=lambda p: world[0].parent / "matches.parquet")
    assert moved.table is not None


def test_backgrounds_curve_frame_sorts_and_handles_missing():
    frame = explore.backgrounds_curve_frame([{"n": 5, "rmse": 0.2, "pearson": 0.5, "spearman": 0.4, "sd": 0.1,
                                              "sem": 0.04, "pred_sd": 0.3},
                                             {"n": 1, "rmse": 0.3, "pearson": 0.2, "spearman": 0.1, "sd": None,
                                              "sem": None, "pred_sd": 0.2}])
    assert frame["n"].tolist() == [1, 5] and np.isnan(frame["sd"].iloc[0])
    empty = explore.backgrounds_curve_frame(None)
    assert empty.empty and list(empty.columns) == ["n", "rmse", "pearson", "spearman", "sd", "sem", "pred_sd"]


def test_genomic_match_correlations_equal_pandas():
    rng = np.random.default_rng(1)
    matches = pd.DataFrame({"observed_log_counts": rng.normal(size=30), "predicted_log_counts": rng.normal(size=30),
                            "value": rng.normal(size=30)})
    corr = explore.genomic_match_correlations(matches)
    assert corr["n"] == 30
    assert corr["observed_vs_invitro_spearman"] == pytest.approx(
        stats.spearmanr(matches["observed_log_counts"], matches["value"])[0])
    assert corr["predicted_vs_observed_pearson"] == pytest.approx(
        stats.pearsonr(matches["predicted_log_counts"], matches["observed_log_counts"])[0])
    assert np.isnan(explore.genomic_match_correlations(matches.head(2))["predicted_vs_invitro_spearman"])


def test_catalog_contents_queries_match_the_rows_written(con, world):
    _, w = world
    assert queries.has_complete_run(con)
    assert queries.catalog_counts(con) == {"tfs": 2, "libraries": 3, "models": 0, "runs": 2}
    assert queries.tf_names(con) == ["Cbf1", "Pho4"]
    assert queries.tfs_table(con).to_dict("records") == [
        {"tf": "Cbf1", "core": "CACGTG", "jaspar_id": "MA0281.2"}, {"tf": "Pho4", "core": "CACGTG", "jaspar_id": "MA0357.1"}]
    assert queries.libraries_for_tf(con, "Pho4") == ["lib_a", "lib_a2"]
    assert queries.libraries_for_tf(con, None) == [] and queries.libraries_for_tf(con, "Nobody") == []
    libraries = queries.libraries_table(con)
    assert libraries["library"].tolist() == ["lib_b", "lib_a", "lib_a2"]  # by TF, then name
    assert libraries.set_index("library")["rows"].to_dict() == {"lib_a": len(w["lib_a"]), "lib_b": len(w["lib_b"]),
                                                                "lib_a2": 2}
    assert list(libraries.columns) == ["library", "tf", "rows", "value_name", "units", "source"]
    assert queries.library_units(con, "lib_a") == "RT" and queries.library_units(con, "missing") == ""
    assert queries.library_sequence_length(con, "lib_a") == 8
    assert queries.library_sequence_length(con, "missing") is None
    # the latest complete run that scored a library; none for a library nobody scored
    assert queries.latest_scored_run(con, "lib_a") == RUN_A
    assert queries.latest_scored_run(con, "lib_b") == RUN_B
    assert queries.latest_scored_run(con, "lib_a2") is None
    assert queries.scored_row_count(con, RUN_A, "lib_a") == w["scores_a"].query(
        "method == 'affinity_distillation'")["id"].nunique()
    assert queries.scored_row_count(con, RUN_B, "lib_b") == len(w["scores_b"]) == 20
    assert queries.scored_row_count(con, RUN_A, "lib_b") == 0
    assert queries.scored_row_count(con, RUN_A, "lib_a", "jaspar") == N_A
