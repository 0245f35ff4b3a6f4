"""``multitask = true`` in a project file (issue 26): one multi-task BPNet for two TFs of the same cells, trained
once in the first TF's run, each TF's run reading its own task of it (and of each member) as a single-task
model directory; the plan, the end-to-end run into one catalog, the views' outputs against the joint model's
channels, a rerun that skips everything, and the project checks.

Two TFs over the tiny 3-chromosome genome of project_data (Cbf1: its own reads, 2 × Pho4's + 1, and every
other peak), a tiny BPNet (121 bp, 2 epochs), two models per TF, 120 rows per library; about a minute here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from affdist_core.catalog.schema import open_catalog
from affdist_core.common.names import ModelDir, RunDir
from affdist_core.io.bigwig import write_bigwig
from affdist_core.io.peaks import read_peaks, write_narrowpeak
from affdist_core.pipeline.project import ProjectError, load_project
from affdist_core.pipeline.run import project_plans, run_project

from project_data import PROJECT, write_experiment, write_library
from test_run import plan_rows
from test_simulated_paralogs import TWO_TF_PROJECT

EXPERIMENT_KEYS = """valid_chroms = ["chrB"]
test_chroms = ["chrC"]
params = "tiny_params.json"
max_epochs = 2
patience = 2
models = 2
"""

MULTITASK = ("multitask = true\n" + PROJECT).replace("patience = 2\n", "patience = 2\nmodels = 2\n", 1).replace(
    "[distill]", f"""\
[[experiment]]
tf = "Cbf1"
plus = "cbf1_plus.bw"
minus = "cbf1_minus.bw"
peaks = "cbf1_peaks.narrowPeak"
{EXPERIMENT_KEYS}
[[library]]
name = "cbf1_lib"
path = "cbf1_lib.csv"
tf = "Cbf1"
value_col = "ddG"

[distill]""")

RUNS = ["pho4-pho4_lib", "cbf1-cbf1_lib"]


def write_second_tf(root, counts) -> None:
    """Cbf1's files on the same genome: reads 2 × Pho4's + 1 and every other Pho4 peak."""
    sizes = {c: len(v[0]) for c, v in counts.items()}
    write_bigwig(root / "cbf1_plus.bw", sizes, {c: 2 * v[0] + 1 for c, v in counts.items()})
    write_bigwig(root / "cbf1_minus.bw", sizes, {c: 2 * v[1] + 1 for c, v in counts.items()})
    write_narrowpeak(root / "cbf1_peaks.narrowPeak", read_peaks(root / "peaks.narrowPeak").iloc[::2])


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("multitask_project")
    files = write_experiment(root)
    write_second_tf(root, files["counts"])
    write_library(root / "pho4_lib.csv")
    write_library(root / "cbf1_lib.csv", n=300, seed=1)
    path = root / "project.toml"
    path.write_text(MULTITASK)
    return path


def test_plan_trains_one_model_in_the_first_run(project):
    runs = project_plans(load_project(project))
    assert [r.run_id for r in runs] == RUNS
    assert [(r.plan.joint.task, r.plan.joint.owner.name) for r in runs] == [(0, RUNS[0]), (1, RUNS[0])]
    text = run_project(project, dry_run=True)["plan"]
    rows = plan_rows(text)
    assert list(rows[RUNS[0]])[:4] == ["train_joint", "train_joint_members", "train", "evaluate"]
    assert "train_joint" not in rows[RUNS[1]] and list(rows[RUNS[1]])[0] == "train"
    assert rows[RUNS[0]]["train"] == ("run", "after train_joint reruns")
    assert rows[RUNS[1]]["train"] == ("run", "after train_joint reruns")  # the first run's joint stage
    assert rows[RUNS[1]]["train_members"][0] == "run"
    assert "task 1 of the multi-task model of pho4-pho4_lib" in text


@pytest.fixture(scope="module")
def finished(project):
    return project, run_project(project)


def _random_inputs(model, n=6, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for tensor in model.inputs:
        shape = (n, *tensor.shape[1:])
        name = tensor.name.split(":")[0]
        if name == "sequence":
            out[name] = np.eye(4, dtype=np.float32)[rng.integers(0, 4, shape[:2])]
        else:
            out[name] = rng.random(shape).astype(np.float32)
    return out


def test_each_run_reads_its_own_task_of_the_joint_model(finished):
    from affdist_core.model.bpnet import load_model, model_n_tasks
    from affdist_core.model.ensemble import member_dirs

    project, result = finished
    root = project.parent / "runs"
    joint_dir = RunDir.at(root / RUNS[0]).joint_model
    joint = load_model(joint_dir)
    assert model_n_tasks(joint) == 2
    inputs = _random_inputs(joint)
    expected = joint.predict(inputs, verbose=0)
    for task, run in enumerate(RUNS):
        model_dir = RunDir.at(root / run).model
        view = load_model(model_dir)
        assert model_n_tasks(view) == 1
        got = view.predict(inputs, verbose=0)
        assert set(got) == set(expected)
        for key in got:  # the profile and counts outputs: the task's two strand channels
            np.testing.assert_allclose(got[key], expected[key][..., 2 * task:2 * task + 2], atol=1e-5)
        record = json.loads(ModelDir.at(model_dir).training.read_text())
        assert record["joint_model"]["task"] == task and record["joint_model"]["dir"] == str(joint_dir.resolve())
        spec = json.loads(ModelDir.at(model_dir).data_spec.read_text())
        assert "extra_tasks" not in spec
        assert spec["plus_bigwig"].endswith("plus.bw" if task == 0 else "cbf1_plus.bw")
        assert ModelDir.at(model_dir).learning_check.is_file()
        members = member_dirs(model_dir)  # the primary model first, then the members
        assert [m.name for m in members] == ["model", "seed_1"]
        member = load_model(members[1])
        joint_member = load_model(ModelDir.at(joint_dir).member(1))
        np.testing.assert_allclose(member.predict(inputs, verbose=0)["logcounts"],
                                   joint_member.predict(inputs, verbose=0)["logcounts"][..., 2 * task:2 * task + 2],
                                   atol=1e-5)


def test_both_tfs_are_scored_into_one_catalog(finished):
    project, result = finished
    assert sorted(result["reports"]) == sorted(RUNS)
    with open_catalog(project.parent / "catalog.duckdb", read_only=True) as catalog:
        n = catalog.query("SELECT run_id, count(*) AS n FROM scores WHERE method = 'affinity_distillation' "
                          "GROUP BY run_id")
        assert dict(zip(n["run_id"], n["n"])) == {r: 120 for r in RUNS}


def test_a_second_run_skips_every_stage(finished):
    project, _ = finished
    rows = plan_rows(run_project(project, dry_run=True)["plan"])
    assert {run: {s for s, (action, _) in stages.items() if action == "run"} for run, stages in rows.items()} \
        == {run: set() for run in RUNS}


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace('tf = "Cbf1"\n', 'tf = "Cbf1"\nseed = 4\n'), r"experiment\[1\]: seed: .* must equal"),
    (lambda t: t.replace('plus = "cbf1_plus.bw"\nminus = "cbf1_minus.bw"\n', 'bam = ["cbf1.bam"]\n'),
     r"experiment\[1\]\.bam: with multitask = true"),
])
def test_experiments_of_a_multitask_project_must_agree(project, change, message):
    path = project.parent / "bad.toml"
    path.write_text(change(MULTITASK))
    with pytest.raises(ProjectError, match=message):
        load_project(path)


def test_multitask_needs_two_experiments(tmp_path):
    path = tmp_path / "one.toml"
    path.write_text("multitask = true\n" + PROJECT)
    with pytest.raises(ProjectError, match="multitask: a multi-task model needs two or more"):
        load_project(path)


SIMULATED = "multitask = true\nquick = true\n" + TWO_TF_PROJECT  # the paralog tests' two-TF cell


def test_plan_of_a_simulated_multitask_cell(tmp_path):
    """Two TFs simulated in the same cells: the first TF's run simulates the cell and trains the joint model
    on its data directory (every TF's experiment is in it), the second TF's run reads its task."""
    path = tmp_path / "cell.toml"
    path.write_text(SIMULATED)
    runs = project_plans(load_project(path), tmp_path / "runs")
    owners = [r for r in runs if r.owner is None]
    assert [r.run_id for r in owners] == ["pho4-betseq_pho4", "cbf1-betseq_cbf1"]
    assert [(r.plan.joint.task, r.plan.joint.tfs, r.plan.joint.tracks) for r in owners] == \
        [(0, ("Pho4", "Cbf1"), ()), (1, ("Pho4", "Cbf1"), ())]
    assert all(r.plan.joint is None for r in runs if r.owner is not None)  # a second library shares the TF's model
    rows = plan_rows(run_project(path, out=tmp_path / "runs", dry_run=True)["plan"])
    assert list(rows["pho4-betseq_pho4"])[:4] == ["simulate", "train_joint", "train_joint_members", "train"]
    assert list(rows["cbf1-betseq_cbf1"])[:2] == ["simulate", "train"]
    assert rows["cbf1-betseq_cbf1"]["train"] == ("run", "after simulate, train_joint rerun")
