"""``affdist run PROJECT.toml`` (affdist_core.pipeline.run): the plan of a fresh and of a finished project, the
built-in default project against ``affdist demo``, and one end-to-end run of a tiny project — two TFs over a
3-chromosome random genome, Pho4 from bigWigs and Cbf1 from a BAM the test writes, three libraries (one shared
by both TFs) — into one catalog.

The end-to-end run trains a tiny BPNet (121 bp, 2 epochs) per TF and scores 120 rows per library; about a
minute on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from affdist_core.catalog.schema import open_catalog
from affdist_core.pipeline.project import load_project
from affdist_core.pipeline.run import format_plan, project_plans, run_project

from project_data import PROJECT, write_bam, write_experiment, write_library, write_meme

TWO_TFS = PROJECT.replace("[distill]", """\
[[experiment]]
tf = "Cbf1"
bam = ["cbf1.bam"]
min_mapq = 10
peaks = "peaks.narrowPeak"
valid_chroms = ["chrB"]
test_chroms = ["chrC"]
params = "tiny_params.json"
max_epochs = 2
patience = 2

[[library]]
name = "shared_lib"
path = "shared_lib.csv"
tf = ["Pho4", "Cbf1"]
value_col = "ddG"

[motifs]
jaspar = { Pho4 = "MA0357.1", Cbf1 = "MA0281.2" }
files = { Pho4 = ["own_streme.meme"] }

[calibration]
fraction = 0.2
seed = 3

[distill]""")

RUNS = ["pho4-pho4_lib", "pho4-shared_lib", "cbf1-shared_lib"]
MODEL_STAGES = ["train", "evaluate", "interpret", "train_members"]
LIBRARY_STAGES = ["marginalize", "baselines", "compare", "analyses"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("run_project")
    files = write_experiment(root)
    write_bam(root / "cbf1.bam", files["counts"])
    write_library(root / "pho4_lib.csv")
    write_library(root / "shared_lib.csv", n=300, seed=1)
    write_meme(root / "own_streme.meme")
    path = root / "project.toml"
    path.write_text(TWO_TFS)
    return path


def plan_rows(text: str) -> dict[str, dict[str, tuple[str, str]]]:
    """``{run dir name: {stage: (run|skip, reason)}}`` of a printed plan."""
    out: dict[str, dict[str, tuple[str, str]]] = {}
    current = None
    for line in text.splitlines():
        if not line.startswith(" "):
            current = os.path.basename(line.split(" ")[0].rstrip(":"))
            out[current] = {}
        else:
            name, action, reason = line.split(maxsplit=2)
            out[current][name] = (action, reason)
    return out


def test_plan_of_a_fresh_project(project):
    runs = project_plans(load_project(project))
    assert [r.run_id for r in runs] == RUNS
    assert [r.owner.name if r.owner else None for r in runs] == [None, "pho4-pho4_lib", None]
    text = run_project(project, dry_run=True)["plan"]
    rows = plan_rows(text)
    assert list(rows) == RUNS
    assert list(rows["pho4-pho4_lib"]) == MODEL_STAGES + LIBRARY_STAGES
    assert list(rows["pho4-shared_lib"]) == LIBRARY_STAGES  # the model is the first library's
    assert list(rows["cbf1-shared_lib"]) == ["bam2bw"] + MODEL_STAGES + LIBRARY_STAGES
    assert rows["pho4-pho4_lib"]["train"] == ("run", "no record of a finished run")
    assert rows["pho4-pho4_lib"]["evaluate"] == ("run", "after train reruns")
    assert rows["pho4-shared_lib"]["marginalize"] == ("run", "after train, train_members, interpret rerun")
    assert rows["cbf1-shared_lib"]["train"] == ("run", "after bam2bw reruns")
    assert "(model shared with pho4-pho4_lib)" in text
    assert not (project.parent / "runs").exists()  # a dry run writes nothing


@pytest.fixture(scope="module")
def finished(project):
    result = run_project(project)
    return project, result


def test_end_to_end_two_tfs_into_one_catalog(finished):
    project, result = finished
    root = project.parent
    assert sorted(result["reports"]) == sorted(RUNS)
    for run_id, report in result["reports"].items():
        assert json.loads((root / "runs" / run_id / "report.json").read_text()) == json.loads(json.dumps(report))
        assert report["n_scored"] == 120 and report["n_backgrounds"] == 3
        assert {"affinity_distillation", "streme", "weeder"} <= set(report["methods"])
    assert result["reports"]["pho4-pho4_lib"]["methods"]["jaspar"]["motif_id"] == "MA0357.1"
    assert result["reports"]["cbf1-shared_lib"]["methods"]["jaspar"]["motif_id"] == "MA0281.2"
    # the user's motif file is one more baseline of Pho4's runs (named by its file), not of Cbf1's
    assert result["reports"]["pho4-pho4_lib"]["methods"]["own_streme"]["motif_id"] == "ebox"
    assert "own_streme" not in result["reports"]["cbf1-shared_lib"]["methods"]
    # [calibration] fraction = 0.2 of the 120 scored rows, seed 3
    assert result["reports"]["pho4-pho4_lib"]["calibration"]["n_samples"] == 24
    sample = json.loads((root / "runs" / "pho4-pho4_lib" / "compare" / "sample.json").read_text())
    assert sample["seed"] == 3 and len(sample["ids"]) == 24
    with open_catalog(root / "catalog.duckdb", read_only=True) as catalog:
        assert sorted(catalog.query("SELECT run_id FROM runs")["run_id"]) == sorted(RUNS)
        assert sorted(catalog.query("SELECT tf FROM tfs")["tf"]) == ["Cbf1", "Pho4"]
        assert sorted(catalog.query("SELECT library FROM libraries")["library"]) == ["pho4_lib", "shared_lib"]
        n = catalog.query("SELECT run_id, count(*) AS n FROM scores WHERE method = 'affinity_distillation' "
                          "GROUP BY run_id")
        assert dict(zip(n["run_id"], n["n"])) == {r: 120 for r in RUNS}
        artifacts = catalog.query("SELECT kind, path FROM artifacts WHERE run_id = 'pho4-pho4_lib'")
        assert dict(zip(artifacts["kind"], artifacts["path"]))["plus_bigwig"] == str(root / "plus.bw")


def test_libraries_of_one_tf_share_its_model(finished):
    project, _ = finished
    runs = project.parent / "runs"
    shared = runs / "pho4-shared_lib"
    assert (shared / "model").is_symlink() and (shared / "model").resolve() == (runs / "pho4-pho4_lib" / "model")
    owner = json.loads((runs / "pho4-pho4_lib" / "stages.json").read_text())
    records = json.loads((shared / "stages.json").read_text())
    assert list(records) == LIBRARY_STAGES
    assert records["marginalize"]["parts"]["upstream"] == {"train": owner["train"]["stamp"],
                                                           "train_members": owner["train_members"]["stamp"],
                                                           "interpret": owner["interpret"]["stamp"]}


def test_bam_experiment_counts_the_reads_once(finished):
    from affdist_core.io.bigwig import BigWigReader

    project, _ = finished
    root = project.parent
    data = root / "runs" / "cbf1-shared_lib" / "data"
    for strand in ("plus", "minus"):
        with BigWigReader(data / f"{strand}.bw") as made, BigWigReader(root / f"{strand}.bw") as given:
            for chrom in given.chrom_sizes:
                # every read 5′ end of the test's counts is in the BAM (reads past a chromosome end were not)
                assert np.abs(made.chrom_values(chrom) - given.chrom_values(chrom)).sum() <= 40
    spec = json.loads((root / "runs" / "cbf1-shared_lib" / "model" / "data.json").read_text())
    assert spec["plus_bigwig"] == str(data / "plus.bw")


def test_plan_of_a_finished_project_and_of_a_changed_setting(finished):
    project, _ = finished
    rows = plan_rows(run_project(project, dry_run=True)["plan"])
    for run_id in RUNS:
        assert {action for action, _ in rows[run_id].values()} == {"skip"}, rows[run_id]
        assert {reason for _, reason in rows[run_id].values()} == {"done already"}
    changed = plan_rows(run_project(project, dry_run=True,
                                    overrides={"distill": {"n_backgrounds": 4}})["plan"])
    for run_id in RUNS:
        assert changed[run_id]["marginalize"][0] == "run"
        assert changed[run_id]["marginalize"][1].startswith("rerun because settings changed (n_backgrounds: 3 → 4")
        assert changed[run_id]["compare"] == ("run", "after marginalize reruns")
        assert changed[run_id]["baselines"] == ("skip", "done already")
    assert changed["pho4-pho4_lib"]["train"] == ("skip", "done already")
    forced = plan_rows(run_project(project, dry_run=True, force=True)["plan"])
    assert {a for run in forced.values() for a, _ in run.values()} == {"run"}


def test_a_second_run_skips_every_stage(finished, caplog):
    project, result = finished
    with caplog.at_level("INFO", logger="affdist_core.pipeline"):
        again = run_project(project)
    assert "stage train: done already" in caplog.text and "stage bam2bw: done already" in caplog.text
    assert " run because" not in caplog.text and "rerun because" not in caplog.text
    for run_id in RUNS:
        assert again["reports"][run_id]["methods"] == result["reports"][run_id]["methods"]


def test_default_project_is_the_demo(tmp_path):
    """``affdist run default`` resolves to the demo's stages with the same fingerprints (settings, code,
    inputs), full and quick: the same outputs and numbers."""
    from affdist_core.pipeline.demo import demo_plan
    from affdist_core.pipeline.demo_stages import demo_stages
    from affdist_core.pipeline.project import default_project_path
    from affdist_core.pipeline.stage import fingerprint_parts

    for quick in (False, True):
        (run,) = project_plans(load_project(default_project_path(), {"quick": quick}), tmp_path)
        ours, demo = demo_stages(run.plan), demo_stages(demo_plan(tmp_path / "demo", quick))
        assert [s.name for s in ours] == [s.name for s in demo]
        stamps = {s.name: "stamp" for s in ours}
        for a, b in zip(ours, demo):
            assert fingerprint_parts(a, stamps) == fingerprint_parts(b, stamps), a.name
            assert a.outputs == b.outputs
        assert run.run_id == "pho4-betseq_pho4" and run.plan.the_jaspar_ids == ("MA0357.1",)


@pytest.mark.parametrize("quick", [False, True])
def test_demo_plan_is_what_it_was_before_the_project_file(tmp_path, quick):
    """The demo built from the default project has the config, sizes and split the demo had when it was built
    from the simulator preset directly (so existing runs/default directories are not rerun)."""
    from affdist_core.pipeline.demo import QUICK_CHROMS, demo_plan
    from affdist_core.pipeline.method_stages import method_settings
    from affdist_core.pipeline.train_step import QUICK_SPLIT
    from affdist_core.simulate.config import resolve_config

    plan = demo_plan(tmp_path, quick)
    assert plan.config == resolve_config({"chroms": QUICK_CHROMS} if quick else {}, preset="pho4-yeast")
    assert plan.settings == method_settings(quick, False, None, None, None)
    assert plan.split == (QUICK_SPLIT if quick else {}) and plan.run_dir == tmp_path
    assert (plan.params, plan.training, plan.data, plan.train_seed, plan.library.name) == (None, (), None, 0,
                                                                                          "betseq_pho4")
    write_library(tmp_path / "cbf1_like.csv")
    other = demo_plan(tmp_path, quick, tf="Cbf1", library=str(tmp_path / "cbf1_like.csv"), core="CACGTG",
                      jaspar="MA0281.2", n_scored=300, n_backgrounds=3, value_col="ddG", n_models=2, train_seed=4)
    assert other.config == resolve_config(
        {"tf": "Cbf1", "library": str(tmp_path / "cbf1_like.csv"), "core": "CACGTG", "jaspar_id": "MA0281.2",
         "library_value_col": "ddG", **({"chroms": QUICK_CHROMS} if quick else {})}, preset="pho4-yeast")
    assert other.settings == method_settings(quick, False, 300, 3, 2)
    assert other.library.name == "cbf1_like" and other.train_seed == 4
    assert demo_plan(tmp_path, quick, full=True).settings.n_scored is None


def test_cli_dry_run_of_the_default_project(tmp_path, capsys):
    from affdist_core.cli import main

    assert main(["run", "default", "--dry-run", "--out", str(tmp_path / "runs")]) == 0
    rows = plan_rows(capsys.readouterr().out)
    assert list(rows) == ["pho4-betseq_pho4"]
    assert rows["pho4-betseq_pho4"]["simulate"] == ("run", "no record of a finished run")
    assert not (tmp_path / "runs").exists()


def test_cli_dry_run_prints_the_plan(project, capsys):
    from affdist_core.cli import main

    copy = project.parent / "copy.toml"
    shutil.copy(project, copy)
    assert main(["run", str(copy), "--dry-run", "--out", str(project.parent / "elsewhere")]) == 0
    out = capsys.readouterr().out
    assert str(project.parent / "elsewhere" / "pho4-pho4_lib") in out and "train" in out
    assert not (project.parent / "elsewhere").exists()


def test_simulated_worlds_are_set_in_the_project_file(tmp_path):
    """[simulate] overrides choose the world (accessibility mechanism, tract rule, control realism); the plan's
    simulator config carries them and they join the simulate stage's fingerprint."""
    from affdist_core.pipeline.demo_stages import demo_stages
    from affdist_core.pipeline.project import default_project_path
    from affdist_core.pipeline.stage import fingerprint_parts

    world = {"simulate": {"overrides": {"accessibility": {"mechanism": "gc", "tract_min_length": 7},
                                        "control": {"noise_sd": 1.0}}}}
    (default,) = project_plans(load_project(default_project_path()), tmp_path)
    (other,) = project_plans(load_project(default_project_path(), world), tmp_path)
    assert other.plan.config["accessibility"]["mechanism"] == "gc"
    assert other.plan.config["accessibility"]["tract_min_length"] == 7
    assert other.plan.config["control"]["noise_sd"] == 1.0
    assert default.plan.config["accessibility"]["mechanism"] == "at_tracts"
    stamps = {s.name: "stamp" for s in demo_stages(default.plan)}
    first = {s.name: fingerprint_parts(s, stamps) for s in demo_stages(default.plan)}
    second = {s.name: fingerprint_parts(s, stamps) for s in demo_stages(other.plan)}
    assert first["simulate"] != second["simulate"]
