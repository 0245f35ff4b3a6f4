"""Which libraries belong to which TF, and which run shows a TF × library, in a catalog where one library is
measured for two TFs (recorded once, for its first TF) and each TF's model scored it; and the Overview's
headline table (AD vs the best motif method) computed from comparison payloads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb
import numpy as np
import pandas as pd
import pytest

from affdist_core.catalog import explore, queries
from affdist_core.catalog.schema import insert_frame, open_catalog, record_run

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _run(con, run_id: str, tf: str, library: str, minutes: int, status: str = "complete",
         comparison: dict | None = None, test_r: float | None = None, members: list | None = None) -> None:
    """A run of ``tf``'s model that scored (calibrated) ``library``, finished ``minutes`` after T0."""
    record_run(con, run_id, "test", {}, {}, {}, T0, status=status)
    con.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", [T0 + timedelta(minutes=minutes), run_id])
    con.execute("INSERT INTO models (model_id, tf, run_id) VALUES (?, ?, ?)", [f"{run_id}:bpnet", tf, run_id])
    insert_frame(con, "calibrations", pd.DataFrame({"run_id": [run_id], "library": [library],
                                                    "method": ["affinity_distillation"], "rmse": [0.1]}))
    if comparison is not None:
        insert_frame(con, "analyses", pd.DataFrame({"run_id": [run_id], "library": [library],
                                                    "name": ["comparison"], "payload": [json.dumps(comparison)]}))
    if members is not None:
        insert_frame(con, "analyses", pd.DataFrame({"run_id": [run_id], "library": [library],
                                                    "name": ["ensemble_members"], "payload": [json.dumps(members)]}))
    if test_r is not None:
        insert_frame(con, "model_metrics", pd.DataFrame({"model_id": [f"{run_id}:bpnet"], "split": ["test"],
                                                         "metric": ["counts_pearson"], "value": [test_r]}))


MEMBERS_PHO4 = [{"member": 0, "seed": 0, "pearson": 0.88, "rmse": 0.055},
                {"member": 1, "seed": 1, "pearson": 0.86, "rmse": 0.058}]
COMPARISON_PHO4 = {"affinity_distillation": {"pearson": 0.9, "rmse": 0.05, "n_heldout": 900},
                   "jaspar": {"pearson": 0.85, "rmse": 0.06, "scoring": "max", "motif_id": "MA0357.1",
                              "consensus": "GCACGTGC"},
                   "streme": {"pearson": 0.2, "rmse": 0.12, "scoring": "sum", "motif_id": "s1", "consensus": "X"}}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    """``shared`` (4 rows, recorded for Pho4) scored by Pho4's runs (an older complete one, the newest, a failed
    later one) and by Cbf1's; ``cbf1_own`` (Cbf1's, 3 rows, 2 sequences shared with ``shared``)."""
    path = tmp_path_factory.mktemp("tf_libraries") / "catalog.duckdb"
    with open_catalog(path) as catalog, catalog.transaction() as c:
        c.execute("INSERT INTO libraries VALUES ('shared', 'Pho4', 'test', 'ddG', 'RT', 4), "
                  "('cbf1_own', 'Cbf1', 'test', 'ddG', 'kcal/mol', 3)")
        insert_frame(c, "measurements", pd.DataFrame({
            "library": ["shared"] * 4 + ["cbf1_own"] * 3, "id": ["a", "b", "c", "d", "x", "y", "z"],
            "sequence": ["AAAA", "CCCC", "GGGG", "TTTT", "AAAA", "CCCC", "ACGT"], "value": np.arange(7.0)}))
        _run(c, "pho4-old", "Pho4", "shared", 1)
        _run(c, "pho4-new", "Pho4", "shared", 5, comparison=COMPARISON_PHO4, test_r=0.7, members=MEMBERS_PHO4)
        _run(c, "pho4-failed", "Pho4", "shared", 9, status="failed")
        _run(c, "cbf1-shared", "Cbf1", "shared", 3)
        _run(c, "cbf1-own", "Cbf1", "cbf1_own", 4)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def test_a_library_scored_by_a_second_tf_belongs_to_both(con):
    assert queries.libraries_for_tf(con, "Pho4") == ["shared"]
    assert queries.libraries_for_tf(con, "Cbf1") == ["cbf1_own", "shared"]
    assert queries.tf_library_runs(con).to_dict("records") == [
        {"tf": "Cbf1", "library": "cbf1_own", "run_id": "cbf1-own"},
        {"tf": "Cbf1", "library": "shared", "run_id": "cbf1-shared"},
        {"tf": "Pho4", "library": "shared", "run_id": "pho4-new"}]  # latest complete run; the failed one ignored


def test_the_run_shown_is_the_latest_complete_one_of_that_tfs_model(con):
    assert queries.latest_scored_run(con, "shared", "Pho4") == "pho4-new"
    assert queries.latest_scored_run(con, "shared", "Cbf1") == "cbf1-shared"
    assert queries.latest_scored_run(con, "cbf1_own", "Pho4") is None


def test_paralogs_include_the_same_library_scored_by_another_tf(con):
    pho4 = queries.paralog_libraries(con, "shared", "Pho4")
    assert pho4.to_dict("records") == [{"library": "shared", "tf": "Cbf1", "n_rows": 4, "n_shared": 4},
                                       {"library": "cbf1_own", "tf": "Cbf1", "n_rows": 3, "n_shared": 2}]
    cbf1 = queries.paralog_libraries(con, "shared", "Cbf1")
    assert cbf1.to_dict("records") == [{"library": "shared", "tf": "Pho4", "n_rows": 4, "n_shared": 4}]
    # without a TF: the TF the library is recorded for (Pho4)
    pd.testing.assert_frame_equal(queries.paralog_libraries(con, "shared"), pho4)
    assert queries.paralog_libraries(con, "cbf1_own", "Cbf1").to_dict("records") == [
        {"library": "shared", "tf": "Pho4", "n_rows": 4, "n_shared": 2}]


def test_headline_inputs_and_table(con):
    inputs = queries.headline_inputs(con)
    assert inputs[["tf", "library", "run_id"]].to_dict("records") == queries.tf_library_runs(con).to_dict("records")
    pho4 = inputs.set_index("run_id").loc["pho4-new"]
    assert pho4["comparison"] == COMPARISON_PHO4 and pho4["test_counts_pearson"] == 0.7 and pho4["units"] == "RT"
    table = explore.headline_table(inputs).set_index("run_id")
    row = table.loc["pho4-new"]
    assert (row["ad_pearson"], row["ad_rmse"], row["n_heldout"]) == (0.9, 0.05, 900)
    assert (row["best_motif_method"], row["best_motif"], row["motif_rmse"]) == ("jaspar", "GCACGTGC (max)", 0.06)
    assert row["rmse_ratio"] == pytest.approx(0.05 / 0.06) and row["winner"] == "AD"
    assert (row["n_models"], row["ad_one_model_pearson"], row["ad_one_model_rmse"]) == (2, 0.88, 0.055)
    missing = table.loc["cbf1-own"]  # no comparison analysis: blanks, never a made-up number
    assert np.isnan(missing["ad_rmse"]) and missing["winner"] == "" and missing["best_motif_method"] == ""
    assert np.isnan(missing["test_counts_pearson"]) and np.isnan(missing["ad_one_model_rmse"])
    assert pd.isna(missing["n_models"])


@pytest.mark.parametrize(("motifs", "best", "winner"), [
    ({"jaspar": 0.04, "streme": 0.2}, "jaspar", "jaspar"),
    ({"weeder": 0.05}, "weeder", "tie"),
    ({"weeder": float("nan"), "streme": 0.3}, "streme", "AD"),
    ({"weeder": float("nan")}, "", ""),
])
def test_headline_best_motif_is_the_lowest_finite_rmse(motifs, best, winner):
    comparison = {"affinity_distillation": {"pearson": 0.5, "rmse": 0.05, "n_heldout": 10},
                  **{m: {"rmse": r, "pearson": 0.1, "scoring": "sum", "motif_id": f"{m}_1"} for m, r in motifs.items()}}
    inputs = pd.DataFrame({"tf": ["T"], "library": ["L"], "run_id": ["r"], "units": [""],
                           "comparison": [comparison], "members": [None], "test_counts_pearson": [np.nan]})
    row = explore.headline_table(inputs).iloc[0]
    assert row["best_motif_method"] == best and row["winner"] == winner
    assert row["n_models"] == 1 and row["ad_one_model_rmse"] == 0.05  # one model: AD's own row
    if best:
        assert row["best_motif"] == f"{best}_1 (sum)"  # no consensus recorded: the motif id
