"""``affdist benchmark PANEL.toml`` (affdist_core.pipeline.benchmark): a panel of two simulated worlds over the
tiny 3-chromosome genome runs end to end into one catalog and one table; the table and its summary equal a
recomputation from the runs' report.json; a broken panel file is refused with every problem."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from affdist_core.catalog.schema import open_catalog
from affdist_core.pipeline.benchmark import AD_ONE_MODEL, load_panel, run_panel
from affdist_core.pipeline.project import ProjectError

from project_data import PROJECT, write_project

SIMULATED_PROJECT = (
    PROJECT.replace('plus = "plus.bw"\nminus = "minus.bw"\npeaks = "peaks.narrowPeak"\n', "")
    .split("[output]")[0]
    + '[simulate]\npreset = "pho4-yeast"\noverrides = { reads = { depth = 2000000 } }\n')
"""The project-file tests' tiny project with its experiment simulated (the panel sets the output)."""

PANEL = """\
[panel]
project = "sim_project.toml"
seeds = [3]
quick = true
results = "kept"

[[world]]
name = "at-tracts"

[[world]]
name = "no-sequence"
overrides = { accessibility = { mechanism = "none" }, control = { noise_sd = 1.0 } }
"""


@pytest.fixture(scope="module")
def panel_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("panel")
    write_project(root, SIMULATED_PROJECT, "sim_project.toml")  # genome.fa is used; the simulator makes the rest
    (root / "panel.toml").write_text(PANEL)
    return root


@pytest.fixture(scope="module")
def result(panel_dir):
    return run_panel(panel_dir / "panel.toml")


def test_every_world_runs_into_one_catalog(panel_dir, result):
    panel = load_panel(panel_dir / "panel.toml")
    assert panel.out == panel_dir / "runs" / "panel" and panel.catalog == panel.out / "catalog.duckdb"
    for world in ("at-tracts", "no-sequence"):
        run_dir = panel.out / world / "seed3" / "pho4-pho4_lib"
        assert (run_dir / "report.json").is_file()
        simulation = json.loads((run_dir / "data" / "simulation.json").read_text())["config"]
        assert simulation["seed"] == 3 and simulation["reads"]["depth"] == 2_000_000
        assert simulation["accessibility"]["mechanism"] == ("none" if world == "no-sequence" else "at_tracts")
        assert simulation["control"]["noise_sd"] == (1.0 if world == "no-sequence" else 0.0)
    with open_catalog(panel.catalog) as catalog:
        runs = sorted(catalog.query("SELECT run_id FROM runs WHERE status = 'complete'")["run_id"])
    assert runs == ["at-tracts-s3-pho4-pho4_lib", "no-sequence-s3-pho4-pho4_lib"]


def test_table_and_summary_recomputed_from_the_reports(panel_dir, result):
    table, summary = result["table"], result["summary"]
    panel = load_panel(panel_dir / "panel.toml")
    for world in ("at-tracts", "no-sequence"):
        report = json.loads((panel.out / world / "seed3" / "pho4-pho4_lib" / "report.json").read_text())
        rows = table[table["world"] == world].set_index("method")
        for method, entry in report["methods"].items():
            assert rows.loc[method, "rmse"] == entry["rmse"] and rows.loc[method, "pearson"] == entry["pearson"]
        assert rows.loc[AD_ONE_MODEL, "rmse"] == report["methods"]["affinity_distillation"]["rmse"]  # one model
        ranked = summary[summary["world"] == world].set_index("method")
        motifs = {m: e["rmse"] for m, e in report["methods"].items() if m != "affinity_distillation"}
        expected = 1 + sum(r < report["methods"]["affinity_distillation"]["rmse"] for r in motifs.values())
        assert ranked.loc[AD_ONE_MODEL, "rank"] == expected and ranked.loc[AD_ONE_MODEL, "n_seeds"] == 1
        assert np.isnan(ranked.loc[AD_ONE_MODEL, "rmse_sd"])  # one seed: no sd
    stored = json.loads((panel.out / "panel.json").read_text())
    wins = int((summary[summary["method"] == AD_ONE_MODEL]["rank"] == 1).sum())
    assert stored["ad_lowest_rmse"] == {"one_model": wins, "ensemble": wins, "of": 2}
    markdown = (panel.out / "panel.md").read_text()
    assert "## at-tracts — pho4-pho4_lib" in markdown and "## no-sequence — pho4-pho4_lib" in markdown
    assert f"in {wins} of 2 worlds at equal budget" in markdown
    overview = [line for line in markdown.splitlines() if line.startswith("| at-tracts (pho4-pho4_lib) |")
                and " of " in line.rsplit("|", 2)[-2]]
    ranked = summary[(summary["world"] == "at-tracts") & (summary["method"] == AD_ONE_MODEL)].iloc[0]
    n_ranked = int(((summary["world"] == "at-tracts") & (summary["method"] != "affinity_distillation")).sum())
    assert n_ranked >= 4  # the one-model AD and the motif methods (the ensemble AD is ranked on its own)
    assert len(overview) == 1 and overview[0].endswith(f"| {ranked['rank']} of {n_ranked} |")
    assert overview[0].count("**") == 2  # the lowest RMSE, once

    # AD − comparator: the paired differences stored in each report, the comparators picked by mean RMSE
    from affdist_core.pipeline.benchmark import ad_differences

    differences = ad_differences(table)
    assert stored["ad_differences"] == json.loads(differences.to_json(orient="records"))
    for world in ("at-tracts", "no-sequence"):
        report = json.loads((panel.out / world / "seed3" / "pho4-pho4_lib" / "report.json").read_text())
        others = {m: e for m, e in report["methods"].items() if m != "affinity_distillation"}
        rows = differences[differences["world"] == world].set_index("comparator")
        best = min(others, key=lambda m: others[m]["rmse"])
        best_in_vivo = min((m for m in others if m != "jaspar"), key=lambda m: others[m]["rmse"])
        assert rows.loc["best_other", "method"] == best and rows.loc["best_in_vivo", "method"] == best_in_vivo
        ad = report["methods"]["affinity_distillation"]["rmse"]
        for comparator, method in (("best_other", best), ("jaspar", "jaspar")):
            paired = others[method]["ad_minus_rmse"]
            assert rows.loc[comparator, "diff_mean"] == pytest.approx(ad - others[method]["rmse"], abs=1e-9)
            lo, hi = paired["ci95"]
            assert lo <= paired["diff"] <= hi and rows.loc[comparator, "better"] == (hi < 0)
    assert "AD better beyond noise than every in-vivo method in" in markdown


def test_a_finished_panel_reruns_nothing(panel_dir, result):
    plan = run_panel(panel_dir / "panel.toml", dry_run=True)["plan"]
    assert "# world at-tracts, seed 3" in plan and "# world no-sequence, seed 3" in plan
    assert " run " not in plan.replace("# world", "")  # every stage: skip
    one = run_panel(panel_dir / "panel.toml", dry_run=True, worlds=["no-sequence"], seeds=[3])["plan"]
    assert "# world no-sequence, seed 3" in one and "at-tracts" not in one
    with pytest.raises(ProjectError, match="--seed 4: not a seed of the panel"):
        run_panel(panel_dir / "panel.toml", dry_run=True, seeds=[4])


def test_kept_reports_rebuild_the_table_without_the_runs(panel_dir, result):
    kept = sorted(p.relative_to(panel_dir / "kept").as_posix() for p in (panel_dir / "kept").rglob("*.json"))
    assert kept == ["at-tracts/seed3/pho4-pho4_lib.json", "no-sequence/seed3/pho4-pho4_lib.json"]
    # the same panel elsewhere, its run folders absent (a fresh clone): --table reads the kept reports, runs nothing
    (panel_dir / "elsewhere.toml").write_text(
        (panel_dir / "panel.toml").read_text().replace('results = "kept"', 'results = "kept"\nout = "runs/elsewhere"'))
    rebuilt = run_panel(panel_dir / "elsewhere.toml", table_only=True)
    assert not list((panel_dir / "runs" / "elsewhere").glob("*/seed3"))
    pd.testing.assert_frame_equal(rebuilt["table"], result["table"])
    assert rebuilt["paths"][1].read_text().split("\n", 1)[1] == result["paths"][1].read_text().split("\n", 1)[1]


def test_summary_ranks_and_spreads_over_seeds():
    from affdist_core.pipeline.benchmark import summarise

    rows = []
    for seed, (ad, ad1, jaspar) in enumerate([(0.04, 0.07, 0.06), (0.06, 0.09, 0.06)]):
        for method, rmse in (("affinity_distillation", ad), (AD_ONE_MODEL, ad1), ("jaspar", jaspar)):
            rows.append({"world": "w", "seed": seed, "run": "r", "method": method, "pearson": 0.5, "rmse": rmse,
                         "sd_ratio": 1.0, "n_heldout": 10})
    summary = summarise(pd.DataFrame(rows)).set_index("method")
    assert summary.loc["affinity_distillation", "rmse_mean"] == pytest.approx(0.05)
    assert summary.loc["affinity_distillation", "rmse_sd"] == pytest.approx(np.std([0.04, 0.06], ddof=1))
    assert summary.loc["affinity_distillation", "rank"] == 1  # the ensemble (0.05) below jaspar (0.06)
    assert summary.loc[AD_ONE_MODEL, "rank"] == 2  # one model (0.08) above it
    assert summary.loc["jaspar", "rank"] == 1  # against the other motif methods and the one-model AD


@pytest.mark.parametrize(("text", "fragment"), [
    (PANEL.replace("seeds = [3]", "seeds = [3, 3]"), "panel.seeds: expected a list of distinct integers"),
    (PANEL.replace('name = "no-sequence"', 'name = "at-tracts"'), "the name 'at-tracts' is used 2 times"),
    (PANEL.replace('name = "no-sequence"', 'name = "no sequence"'), "world[1].name: expected letters"),
    (PANEL.replace("mechanism = \"none\"", "mechanism = \"cpg\""),
     "world 'no-sequence' (seed 3): config: accessibility.mechanism must be one of"),
    (PANEL.replace("quick = true", "quick = true\nworlds = 2"), "panel.worlds: unknown key"),
    (PANEL.replace("sim_project.toml", "missing.toml"), "panel.project:"),
    (PANEL + '[[world]]\nname = "other"\nproject = "nowhere.toml"\n', "world[2].project:"),
])
def test_a_broken_panel_is_refused_with_its_problem(panel_dir, text, fragment):
    (panel_dir / "broken.toml").write_text(text)
    with pytest.raises(ProjectError) as caught:
        load_panel(panel_dir / "broken.toml")
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_a_world_may_name_its_own_project(panel_dir):
    """Another TF landscape is another project: the world's project replaces the panel's, with the world's
    overrides, the seed, the world's run directory and the panel's catalog."""
    from affdist_core.pipeline.benchmark import _world_project

    other = SIMULATED_PROJECT.replace('name = "pho4_lib"', 'name = "other_lib"')
    (panel_dir / "other_project.toml").write_text(other)
    (panel_dir / "own.toml").write_text(PANEL + '[[world]]\nname = "other"\nproject = "other_project.toml"\n'
                                                'overrides = { energy = { chemical_potential_kcal = 0.5 } }\n')
    panel = load_panel(panel_dir / "own.toml")
    world = panel.worlds[2]
    project = _world_project(panel, world, 3)
    assert world.project == panel_dir / "other_project.toml" and project.libraries[0].name == "other_lib"
    assert project.simulate.overrides["energy"] == {"chemical_potential_kcal": 0.5}
    assert project.simulate.overrides["seed"] == 3 and project.simulate.overrides["reads"]["depth"] == 2_000_000
    assert project.output.dir == panel.out / "other" / "seed3" and project.output.catalog == panel.catalog
    assert _world_project(panel, panel.worlds[0], 3).libraries[0].name == "pho4_lib"


def test_the_panel_is_recorded_in_the_catalog_and_shown_by_the_app(panel_dir, result, monkeypatch):
    from affdist_core.catalog import queries
    from app.testing import open_page

    panel = load_panel(panel_dir / "panel.toml")
    with open_catalog(panel.catalog) as catalog:
        panels = queries.benchmark_panels(catalog.connection)
    assert panels["panel"].tolist() == ["panel:panel"]
    payload = panels["payload"].iloc[0]
    assert payload == json.loads((panel.out / "panel.json").read_text())
    monkeypatch.setenv("AFFDIST_CATALOG", str(panel.catalog))
    at = open_page("benchmark", timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    wins = payload["ad_lowest_rmse"]
    assert [m.value for m in at.metric] == [f"{wins['one_model']} of 2 worlds", f"{wins['ensemble']} of 2 worlds"]
    assert [s.value for s in at.subheader] == ["at-tracts — pho4-pho4_lib", "no-sequence — pho4-pho4_lib"]
    summary = result["summary"]
    for frame, world in zip([d.value for d in at.dataframe], ("at-tracts", "no-sequence")):
        expected = summary[summary["world"] == world].sort_values("rmse_mean")
        np.testing.assert_allclose(frame["rmse_mean"], expected["rmse_mean"])
        assert frame["rank"].tolist() == expected["rank"].tolist()
    assert any("quick sizes" in c.value for c in at.caption)
