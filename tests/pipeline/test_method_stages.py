"""End to end on a tiny genome: distill a library, run the motif baselines, compare, analyse, catalog.

The tiny ChIP dataset of ``test_train`` has CACGTG sites whose flanks decide their reads: ``G…C`` sites get 8×
the reads of ``A…T`` sites. The library is every ``NN G CACGTG C NN`` and ``NN A CACGTG T NN`` 12-mer with a measured value that
is low (tight) for ``G…C`` flanks and high for ``A…T`` flanks, so a working pipeline must rank them that way.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
import json

import numpy as np
import pandas as pd
import pytest
from tiny_dataset import TINY, write_dataset as _write_dataset

from affdist_core.catalog.schema import open_catalog
from affdist_core.catalog.writer import _write_methods
from affdist_core.io.library import InVitroLibrary
from affdist_core.compare.report import build_report, write_report
from affdist_core.pipeline.analyses_step import run_analyses
from affdist_core.pipeline.baselines_step import run_baselines
from affdist_core.pipeline.compare_step import run_compare
from affdist_core.pipeline.distill_step import run_distill
from affdist_core.pipeline.method_stages import MethodSettings
from affdist_core.model.params import TrainingSettings
from affdist_core.model.train import train_bpnet

COUNTS_TINY = replace(TINY, c_task_weight=200.0)
SETTINGS = MethodSettings(n_scored=None, n_backgrounds=4, n_models=1, background_pool=8, curve_heldout_rows=60,
                          calibration_rows=60, top_k=3, seed=0, quick=True)


def _library() -> InVitroLibrary:
    rows = []
    for a, b, c, d in itertools.product("ACGT", repeat=4):
        for left, right, value in (("G", "C", -1.0), ("A", "T", 1.0)):
            seq = f"{a}{b}{left}CACGTG{right}{c}{d}"
            rows.append((seq, seq, value + 0.05 * (a == "T")))
    frame = pd.DataFrame(rows, columns=["id", "sequence", "value"])
    frame["category"] = pd.Series(np.full(len(frame), np.nan, dtype=object), dtype="str")
    return InVitroLibrary(name="tiny_flanks", frame=frame, source="test", units="RT")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("method_run")
    spec = _write_dataset(root)
    train_bpnet(COUNTS_TINY, spec, root / "model", TrainingSettings(batch_size=32, max_epochs=30, patience=30,
                                                             max_minutes=None, jit_compile=False))
    from affdist_core.model.evaluate import evaluate_model_dir

    from affdist_core.interpret.run import interpret_model_dir

    evaluate_model_dir(root / "model")
    interpret_model_dir(root / "model", n_shuffles=3)  # the linear read-out reads its held-out contributions
    return root


@pytest.fixture(scope="module")
def stages(run_dir):
    library = _library()
    distill = run_distill(run_dir, library, SETTINGS)
    baselines = run_baselines(run_dir, ("MA0357.1", "MA0281.2"), SETTINGS)  # Pho4, then Cbf1
    comparison = run_compare(run_dir, library, SETTINGS)
    analyses = run_analyses(run_dir, library)
    return library, distill, baselines, comparison, analyses


def test_distill_scores_every_row_and_ranks_flanks(run_dir, stages):
    library, distill, *_ = stages
    scores = pd.read_parquet(run_dir / "distill" / "scores.parquet")
    assert scores["id"].tolist() == library.frame["id"].tolist()
    assert (scores["n_backgrounds"] == SETTINGS.n_backgrounds).all() and np.isfinite(scores["score"]).all()
    by_flank = scores.assign(flank=scores["sequence"].str[2] + scores["sequence"].str[9]).groupby("flank")["score"]
    assert by_flank.mean()["GC"] > by_flank.mean()["AT"]  # more predicted reads for the strong flanks
    assert distill["n_scored"] == 512 and distill["n_curve_rows"] == 60 + 60


def test_distill_resumes_without_predicting(run_dir, stages, monkeypatch):
    from affdist_core.marginalize import backgrounds
    from affdist_core.marginalize import marginalizer as marginalize

    def fail(*args, **kwargs):
        raise AssertionError("a finished distillation must not predict again")

    before = pd.read_parquet(run_dir / "distill" / "scores.parquet")
    from affdist_core.model.bpnet import load_model
    from affdist_core.marginalize.distill import distill_library
    from affdist_core.model.ensemble import model_tag

    m = marginalize.Marginalizer(load_model(run_dir / "model" / "model.keras"),
                                 backgrounds.backgrounds_from_model_dir(run_dir / "model", 8, 0).subset(4))
    monkeypatch.setattr(m, "score", fail)
    again = distill_library(m, _library().frame, run_dir / "distill", model_tag=model_tag(run_dir / "model"))
    pd.testing.assert_frame_equal(before, again)


def test_baselines_find_the_planted_ebox(run_dir, stages):
    _, _, baselines, _, _ = stages
    # the interpret stage ran (the linear read-out reads its contributions): MoDISco is a method as well
    assert set(baselines["methods"]) == {"streme", "weeder", "jaspar", "modisco"}
    from affdist_core.baselines.build import load_baselines

    motifs = load_baselines(run_dir / "baselines")
    for method in ("streme", "weeder"):
        assert motifs[method], f"{method} found no motif in peaks that all carry CACGTG"
        assert "CACGTG" in motifs[method][0].consensus, motifs[method][0].consensus
    assert [m.motif_id for m in motifs["jaspar"]] == ["MA0357.1", "MA0281.2"]  # ranked as given
    assert baselines["jaspar_ids"] == ["MA0357.1", "MA0281.2"]


def test_comparison_summary_shape_and_ad_wins(stages):
    _, _, _, comparison, _ = stages
    methods = comparison["methods"]
    assert "affinity_distillation" in methods and "jaspar" in methods
    assert comparison["calibration"] == {"n_samples": 60, "seed": 0, "rule": "n 60"}
    for name, entry in methods.items():
        assert {"pearson", "spearman", "rmse", "sd_ratio"} <= set(entry)
        if name != "affinity_distillation":
            assert entry["scoring"] in ("sum", "max") and 1 <= entry["k"] <= SETTINGS.top_k
    assert methods["affinity_distillation"]["pearson"] > 0.5
    assert methods["jaspar"]["motif_id"] == "MA0357.1" and methods["jaspar"]["k"] == 2  # the first id reported


def test_analyses(run_dir, stages):
    *_, analyses = stages
    assert [p["n"] for p in analyses["backgrounds_curve"]] == [1, 2, 5]
    assert all(np.isfinite(p["rmse"]) for p in analyses["backgrounds_curve"])
    matches = pd.read_parquet(run_dir / "analyses" / "genomic_matches.parquet")
    assert analyses["genomic_matches"]["n_matches"] == len(matches) > 50  # the planted sites are library rows
    assert set(matches["split"]) == {"train", "valid", "test"}
    strong = matches["id"].str[2:10] == "GCACGTGC"
    assert matches.loc[strong, "observed_log_counts"].mean() > matches.loc[~strong, "observed_log_counts"].mean()
    assert set(analyses["counts_by_split"]) == {"train", "valid", "test"}
    hist = pd.read_parquet(run_dir / "analyses" / "dynamic_range.parquet")
    assert set(hist["series"]) >= {"measured", "affinity_distillation"}


def test_report_and_catalog(run_dir, stages, tmp_path):
    library, distill, _, comparison, analyses = stages
    metrics = json.loads((run_dir / "model" / "metrics.json").read_text())
    report = build_report(tf="Tiny", library_name=library.name, units="RT", n_library=len(library), metrics=metrics,
                          distill=distill, comparison=comparison, analyses=analyses,
                          timings={"train": 1.0, "marginalize": 2.0})
    write_report(run_dir / "report.json", report)
    assert report["n_scored"] == 512 and report["n_backgrounds"] == 4 and report["timings_s"]["total"] == 3.0
    assert set(report["model"]) == {"train", "valid", "test"}
    with open_catalog(tmp_path / "c.duckdb") as catalog:
        with catalog.transaction() as con:
            _write_methods(con, "tiny", run_dir, library.name, "tiny:bpnet")
        scores = catalog.query("SELECT method, count(*) AS n FROM scores GROUP BY method")
        assert dict(zip(scores["method"], scores["n"]))["affinity_distillation"] == 512
        fits = catalog.query("SELECT * FROM calibrations WHERE method = 'affinity_distillation'")
        assert len(fits) == 1 and fits["n_calibration"].iloc[0] == 60
        names = set(catalog.query("SELECT name FROM analyses")["name"])
        assert {"report", "backgrounds_curve", "genomic_matches", "dynamic_range"} <= names
