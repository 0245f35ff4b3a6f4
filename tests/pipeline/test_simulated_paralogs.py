"""A ``[simulate]`` project with two experiments: both TFs in the same simulated cells (issue 26) — one
simulator config with the second TF under ``other_tfs``, each run modelling its own TF's experiment."""

from __future__ import annotations

import json

import pytest

from affdist_core.pipeline.project import ProjectError, load_project
from affdist_core.pipeline.run import energy_library, project_plans

TWO_TF_PROJECT = """\
[genome]
builtin = "s288c"

[[experiment]]
tf = "Pho4"

[[experiment]]
tf = "Cbf1"

[[library]]
name = "betseq_pho4"
path = "betseq_pho4"
tf = ["Pho4", "Cbf1"]

[[library]]
name = "betseq_cbf1"
path = "betseq_cbf1"
tf = ["Cbf1", "Pho4"]

[motifs]
jaspar = { Pho4 = "MA0357.1", Cbf1 = "MA0281.2" }

[simulate]
preset = "pho4-yeast"
overrides = { seed = 5, other_tfs = [{ tf = "Cbf1", energy = { chemical_potential_kcal = 0.5 } }] }
"""


def _project(tmp_path, text=TWO_TF_PROJECT):
    path = tmp_path / "paralogs.toml"
    path.write_text(text)
    return load_project(path)


def test_two_experiments_are_one_cell(tmp_path):
    project = _project(tmp_path)
    assert energy_library(project, "Cbf1").name == "betseq_cbf1"  # it names Cbf1 first: it measures Cbf1
    runs = project_plans(project, tmp_path / "runs")
    assert [r.run_id for r in runs] == ["pho4-betseq_pho4", "pho4-betseq_cbf1", "cbf1-betseq_cbf1",
                                        "cbf1-betseq_pho4"]  # each TF's model scores both libraries
    configs = {r.run_id: r.plan.config for r in runs}
    assert len({json.dumps(c, sort_keys=True) for c in configs.values()}) == 1  # the same cells
    config = configs["pho4-betseq_pho4"]
    assert config["tf"] == "Pho4" and config["library"] == "betseq_pho4" and config["seed"] == 5
    assert config["other_tfs"] == [{"tf": "Cbf1", "energy": {"chemical_potential_kcal": 0.5},
                                    "library": "betseq_cbf1", "jaspar_id": "MA0281.2"}]
    cbf1 = next(r for r in runs if r.run_id == "cbf1-betseq_cbf1").plan
    assert (cbf1.the_tf, cbf1.the_core, cbf1.the_jaspar_ids, cbf1.further_tf) == ("Cbf1", "CACGTG",
                                                                                  ("MA0281.2",), True)
    assert cbf1.tf_config["energy"]["chemical_potential_kcal"] == 0.5 and "other_tfs" not in cbf1.tf_config
    pho4 = runs[0].plan
    assert (pho4.the_tf, pho4.the_jaspar_ids, pho4.further_tf) == ("Pho4", ("MA0357.1",), False)
    assert pho4.tf_config["energy"]["chemical_potential_kcal"] == -0.5


def test_one_simulated_experiment_keeps_its_config(tmp_path):
    """One experiment: no other_tfs, the same config (and so the same fingerprints) as before."""
    from affdist_core.pipeline.project import default_project_path
    from affdist_core.simulate.config import resolve_config

    (run,) = project_plans(load_project(default_project_path()), tmp_path)
    assert run.plan.config == resolve_config(preset="pho4-yeast") and run.plan.sim_tf == ""


@pytest.mark.parametrize(("overrides", "message"), [
    ('other_tfs = [{ tf = "Cbf1", library = "betseq_pho4" }]',
     r"other_tfs\[0\].library: a further TF's library, JASPAR id and core come from its"),
    ('other_tfs = [{ tf = "Rtg3" }]', r"other_tfs\[0\].tf: 'Rtg3' is not a further \[\[experiment\]\]"),
    ('other_tfs = [{ tf = "Pho4" }]', r"'Pho4' is the first experiment's TF"),
    ('other_tfs = [{ tf = "Cbf1" }, { tf = "Cbf1" }]', r"other_tfs\[1\].tf: 'Cbf1' has two entries"),
    ('other_tfs = { tf = "Cbf1" }', "other_tfs: expected a list of tables"),
])
def test_further_tf_settings_are_checked(tmp_path, overrides, message):
    text = TWO_TF_PROJECT.replace(
        'overrides = { seed = 5, other_tfs = [{ tf = "Cbf1", energy = { chemical_potential_kcal = 0.5 } }] }',
        f"overrides = {{ {overrides} }}")
    with pytest.raises(ProjectError, match=message):
        _project(tmp_path, text)


def test_a_further_tf_run_links_to_its_experiment(tmp_path, mini_genome_fasta):
    """The simulate stage of Cbf1's run writes the whole cell into ``simulation/`` and links ``data`` to
    Cbf1's experiment there: a complete one-TF simulation directory of Cbf1, in the same cells as Pho4's."""
    from affdist_core.pipeline.demo_stages import _simulate

    text = TWO_TF_PROJECT.replace('[genome]\nbuiltin = "s288c"', f'[genome]\nfasta = "{mini_genome_fasta}"')
    text = text.replace("overrides = { seed = 5,", "overrides = { seed = 5, reads = { depth = 200000 },")
    runs = {r.run_id: r for r in project_plans(_project(tmp_path, text), tmp_path / "runs")}
    pho4, cbf1 = runs["pho4-betseq_pho4"].plan, runs["cbf1-betseq_cbf1"].plan
    _simulate(pho4)
    _simulate(cbf1)
    assert cbf1.paths.data.is_symlink() and not pho4.paths.data.is_symlink()
    record = json.loads((cbf1.paths.data / "simulation.json").read_text())
    assert record["config"]["tf"] == "Cbf1" and record["simulation"]["tfs"] == ["Pho4", "Cbf1"]
    # the same simulated cell in both run directories (the simulation is deterministic)
    assert (cbf1.paths.data / "plus.bw").read_bytes() == (pho4.paths.data / "Cbf1" / "plus.bw").read_bytes()
    assert (cbf1.paths.data / "control_plus.bw").read_bytes() == (pho4.paths.data / "control_plus.bw").read_bytes()
    _simulate(cbf1)  # a rerun replaces the link
    assert cbf1.paths.data.is_symlink() and (cbf1.paths.data / "peaks.narrowPeak").exists()
