"""``affdist demo --quick`` end to end for another TF: the library file is the TF's energy model, no code change.

A stand-in "Cbf1" library (5,000 BET-seq 16-mers with their values perturbed) runs through every stage —
simulate (chrI–chrIII), train, evaluate, interpret, distill, baselines, compare, analyses, report, catalog — in
about a minute on 2 cores.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from affdist_core.catalog.schema import open_catalog
from affdist_core.pipeline.demo import run_demo
from affdist_core.io.library import load_builtin_library


@pytest.fixture(scope="module")
def paralog_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("paralog")
    frame = load_builtin_library("betseq_pho4").frame.sample(n=5000, random_state=0)
    rng = np.random.default_rng(0)
    frame = frame.assign(ddG=frame["value"] + rng.normal(0, 0.03, len(frame)))[["sequence", "ddG"]]
    frame.to_csv(root / "cbf1_like.csv", index=False)
    config_library = str(root / "cbf1_like.csv")
    report = run_demo(root / "run", quick=True, catalog_path=root / "catalog.duckdb", tf="Cbf1",
                      library=config_library, core="CACGTG", jaspar="MA0281.2", n_scored=300, n_backgrounds=3,
                      value_col="ddG")
    return root, report


def test_report_shape_for_another_tf(paralog_run):
    root, report = paralog_run
    assert report["tf"] == "Cbf1" and report["library"] == "cbf1_like"
    assert report["n_scored"] == 300 and report["n_backgrounds"] == 3
    assert report["calibration"]["n_samples"] == 30  # min(1000, 10 %) of the scored rows
    assert {"affinity_distillation", "jaspar", "streme", "weeder"} <= set(report["methods"])
    assert report["methods"]["jaspar"]["motif_id"] == "MA0281.2"
    for entry in report["methods"].values():
        assert {"pearson", "spearman", "rmse", "sd_ratio"} <= set(entry)
    assert [p["n"] for p in report["backgrounds_curve"]] == [1, 2, 5, 10, 20]
    assert set(report["model"]) == {"train", "valid", "test"}
    assert {"simulate", "train", "interpret", "marginalize", "baselines", "total"} <= set(report["timings_s"])
    assert json.loads((root / "run" / "report.json").read_text()) == json.loads(json.dumps(report))
    simulation = json.loads((root / "run" / "data" / "simulation.json").read_text())
    assert simulation["config"]["tf"] == "Cbf1" and simulation["config"]["library"].endswith("cbf1_like.csv")


def test_catalog_holds_the_run(paralog_run):
    root, _ = paralog_run
    with open_catalog(root / "catalog.duckdb", read_only=True) as catalog:
        runs = catalog.query("SELECT run_id FROM runs")["run_id"].tolist()
        assert runs == ["cbf1-cbf1_like-quick"]
        assert catalog.query("SELECT tf, jaspar_id FROM tfs").to_dict("records") == [
            {"tf": "Cbf1", "jaspar_id": "MA0281.2"}]
        n = catalog.query("SELECT count(*) AS n FROM scores WHERE method = 'affinity_distillation'")["n"].iloc[0]
        assert n == 300


def test_a_second_run_skips_finished_stages(paralog_run, caplog):
    root, report = paralog_run
    with caplog.at_level("INFO", logger="affdist_core.pipeline"):
        again = run_demo(root / "run", quick=True, catalog_path=root / "catalog.duckdb", tf="Cbf1",
                         library=str(root / "cbf1_like.csv"), core="CACGTG", jaspar="MA0281.2", n_scored=300,
                         n_backgrounds=3, value_col="ddG")
    for stage in ("simulate", "train", "evaluate", "interpret", "train_members", "marginalize", "baselines",
                  "compare", "analyses"):
        assert f"stage {stage}: done already" in caplog.text
    assert again["methods"] == report["methods"]
    records = json.loads((root / "run" / "stages.json").read_text())
    assert list(records)[0] == "simulate" and records["train"]["parts"]["settings"]["training"]["seed"] == 0
