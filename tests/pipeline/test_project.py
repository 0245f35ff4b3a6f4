"""The project file of ``affdist run``: parsing a good file, and every validation problem of a broken one named by
its key, all at once, before anything is written (affdist_core.pipeline.project, project_checks)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affdist_core.io.library import InVitroLibrary
from affdist_core.pipeline.method_stages import method_settings, scored_rows
from affdist_core.pipeline.project import ProjectError, load_project
from affdist_core.pipeline.project_checks import check_project, validate_project

from project_data import PROJECT, write_project


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder with the user's files and the good project.toml."""
    root = tmp_path_factory.mktemp("project")
    write_project(root)
    return root


def problems_of(root: Path, text: str, name: str = "broken.toml") -> list[str]:
    """The problems of the project ``text`` written as ``root/name`` (parse + file checks)."""
    path = root / name
    path.write_text(text)
    with pytest.raises(ProjectError) as caught:
        validate_project(path)
    assert str(path) in str(caught.value)
    return caught.value.problems


def one_problem(root: Path, text: str, *fragments: str) -> str:
    """The single problem of ``text``, which must contain every fragment."""
    problems = problems_of(root, text)
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in problems[0], (fragment, problems[0])
    return problems[0]


def test_a_good_project_parses_with_paths_relative_to_the_file(files):
    project = load_project(files / "project.toml")
    check_project(project)  # no problem
    (experiment,) = project.experiments
    assert experiment.tf == "Pho4" and experiment.plus == files / "plus.bw" and experiment.peaks.is_file()
    assert experiment.valid_chroms == ("chrB",) and experiment.test_chroms == ("chrC",)
    assert experiment.params == files / "tiny_params.json" and experiment.max_epochs == 2
    (library,) = project.libraries
    assert library.tf == ("Pho4",) and library.path == files / "pho4_lib.csv" and library.id_col == "name"
    assert project.distill.n_scored == 120 and project.distill.background_pool == 6
    assert project.output.dir == files / "runs" and project.output.catalog == files / "catalog.duckdb"
    assert project.quick and project.simulate is None and project.genome.fasta == files / "genome.fa"


def test_defaults_and_overrides(files):
    project = load_project(files / "project.toml", {"distill": {"n_scored": "all"}, "output": {"dir": "/tmp/o"}})
    assert project.distill.n_scored is None and project.output.dir == Path("/tmp/o")
    text = PROJECT.replace("[output]\ndir = \"runs\"\ncatalog = \"catalog.duckdb\"\n", "")
    (files / "no_output.toml").write_text(text)
    project = load_project(files / "no_output.toml")
    assert project.output.dir == files / "runs" / "no_output"
    assert project.output.catalog == files / "data_catalog" / "affdist.duckdb"
    assert (project.distill.workers, project.distill.scheduler) == (0, None)  # distill in this process
    dask = load_project(files / "project.toml", {"distill": {"workers": 2, "scheduler": "tcp://10.0.0.5:8786"}})
    assert (dask.distill.workers, dask.distill.scheduler) == (2, "tcp://10.0.0.5:8786")
    one_problem(files, PROJECT.replace("n_backgrounds = 3", "n_backgrounds = 3\nworkers = -1"), "distill.workers")


def test_unknown_key_says_did_you_mean(files):
    # the misspelt key also leaves valid_chroms missing: both are said, in one error
    problems = problems_of(files, PROJECT.replace("valid_chroms = [", "valid_chrom = ["))
    assert len(problems) == 2
    assert problems[0].startswith("experiment[0].valid_chrom: unknown key; did you mean 'valid_chroms'?")
    assert problems[1].startswith("experiment[0].valid_chroms: missing")
    one_problem(files, PROJECT.replace("[distill]", "[distil]"), "distil: unknown key; did you mean 'distill'?")


def test_missing_file_names_key_and_path(files):
    one_problem(files, PROJECT.replace('plus = "plus.bw"', 'plus = "pho4.plus.bw"'),
                "experiment[0].plus:", str(files / "pho4.plus.bw"), "does not exist")
    one_problem(files, PROJECT.replace('path = "pho4_lib.csv"', 'path = "nope.csv"'), "library[0].path:",
                "does not exist")
    one_problem(files, PROJECT.replace('fasta = "genome.fa"', 'fasta = "nope.fa"'), "genome.fasta:",
                "does not exist")


def test_missing_required_keys(files):
    one_problem(files, PROJECT.replace('peaks = "peaks.narrowPeak"\n', ""), "experiment[0].peaks: missing")
    one_problem(files, PROJECT.replace('minus = "minus.bw"\n', ""), "experiment[0]: missing strand tracks")


def test_chromosome_names_that_differ_from_the_fasta_say_how(files):
    from affdist_core.io.bigwig import BigWigReader, write_bigwig

    with BigWigReader(files / "plus.bw") as reader:
        values = {c.removeprefix("chr"): reader.chrom_values(c) for c in reader.chrom_sizes}
    write_bigwig(files / "ensembl.plus.bw", {c: len(v) for c, v in values.items()}, values)
    problem = one_problem(files, PROJECT.replace('plus = "plus.bw"', 'plus = "ensembl.plus.bw"'),
                          "experiment[0].plus (ensembl.plus.bw)", "`chr` prefix")
    assert "A..C" in problem or "A, B, C" in problem
    # peaks named without the prefix: that one problem, not also "no peak lies on the split chromosomes"
    text = (files / "peaks.narrowPeak").read_text()
    (files / "ensembl.narrowPeak").write_text("\n".join(line.removeprefix("chr") for line in text.splitlines()))
    one_problem(files, PROJECT.replace('peaks = "peaks.narrowPeak"', 'peaks = "ensembl.narrowPeak"'),
                "experiment[0].peaks (ensembl.narrowPeak)", "`chr` prefix")


def test_unreadable_files(files):
    (files / "text.bw").write_text("not a bigwig\n")
    one_problem(files, PROJECT.replace('minus = "minus.bw"', 'minus = "text.bw"'), "experiment[0].minus:",
                "cannot be opened as a bigWig")
    (files / "bad.narrowPeak").write_text("chrA\t100\n")
    one_problem(files, PROJECT.replace('peaks = "peaks.narrowPeak"', 'peaks = "bad.narrowPeak"'),
                "experiment[0].peaks:", "line 1")
    (files / "bad.meme").write_text("MEME version 4\n\nMOTIF m1\nletter-probability matrix: w= 2\n0.5 0.5\n")
    one_problem(files, PROJECT + '\n[motifs]\nfiles = { Pho4 = ["bad.meme"] }\n', "motifs.files.Pho4[0]:",
                "bad.meme")


def test_library_columns_exist_and_values_are_finite(files):
    one_problem(files, PROJECT.replace('value_col = "ddG"', 'value_col = "dG"'), "library[0]", "dG")
    text = (files / "pho4_lib.csv").read_text().splitlines()
    name, sequence, _ = text[3].split(",")
    text[3] = f"{name},{sequence},inf"
    (files / "inf_lib.csv").write_text("\n".join(text) + "\n")
    one_problem(files, PROJECT.replace('path = "pho4_lib.csv"', 'path = "inf_lib.csv"'), "library[0]",
                "line 4")


def test_split_chromosomes_exist_and_do_not_overlap(files):
    one_problem(files, PROJECT.replace('test_chroms = ["chrC"]', 'test_chroms = ["chrB", "chrC"]'),
                "experiment[0].valid_chroms, experiment[0].test_chroms: chrB in both")
    one_problem(files, PROJECT.replace('test_chroms = ["chrC"]', 'test_chroms = ["chrc"]'),
                "experiment[0].test_chroms: 'chrc' is not in the FASTA; did you mean 'chrC'?")
    one_problem(files, PROJECT.replace('test_chroms = ["chrC"]', 'test_chroms = ["chrA", "chrC"]'),
                "experiment[0]: valid_chroms + test_chroms + exclude_chroms take every chromosome")


def test_jaspar_ids_exist(files):
    one_problem(files, PROJECT + '\n[motifs]\njaspar = { Pho4 = "MA9999.9" }\n', "motifs.jaspar.Pho4:",
                "MA9999.9")
    check_project(load_project(_write(files, PROJECT + '\n[motifs]\njaspar = { Pho4 = "MA0357.1" }\n')))
    several = PROJECT + '\n[motifs]\njaspar = { Pho4 = ["MA0357.1", "MA0281.2"] }\n'
    assert load_project(_write(files, several)).motifs.jaspar == {"Pho4": ("MA0357.1", "MA0281.2")}
    one_problem(files, several.replace("MA0281.2", "MA0281.9"), "motifs.jaspar.Pho4[1]:", "MA0281.9")
    one_problem(files, several.replace("MA0281.2", "MA0357.1"), "motifs.jaspar.Pho4:", "repeat")


def test_libraries_and_motifs_name_tfs_with_an_experiment(files):
    one_problem(files, PROJECT.replace('tf = "Pho4"\nsequence_col', 'tf = ["Pho4", "Pho44"]\nsequence_col'),
                "library[0].tf: 'Pho44' has no [[experiment]]; did you mean 'Pho4'?")
    one_problem(files, PROJECT + '\n[motifs]\njaspar = { Cbf1 = "MA0281.2" }\n', "motifs.jaspar.Cbf1:",
                "no [[experiment]]")


def test_model_params_are_consistent(files):
    (files / "bad_params.json").write_text(json.dumps({"seq_len": 61, "out_pred_len": 121}))
    one_problem(files, PROJECT.replace('params = "tiny_params.json"', 'params = "bad_params.json"'),
                "experiment[0].params (bad_params.json", "seq_len")
    one_problem(files, PROJECT.replace('params = "tiny_params.json"', 'model = "yeast-compakt"'),
                "experiment[0].model: unknown preset 'yeast-compakt'; did you mean 'yeast-compact'?")


def test_every_problem_at_once_and_nothing_written(files):
    text = (PROJECT.replace('plus = "plus.bw"', 'plus = "nope.bw"')
            .replace('value_col = "ddG"', 'value_col = "dG"')
            .replace('test_chroms = ["chrC"]', 'test_chroms = ["chrB"]')
            .replace("n_backgrounds = 3", "n_backgrounds = 30"))
    problems = problems_of(files, text)
    keys = [p.split(":")[0] for p in problems]
    assert "experiment[0].plus" in keys and "library[0] (pho4_lib.csv)" in keys
    assert "distill.n_backgrounds" in keys
    assert "experiment[0].valid_chroms, experiment[0].test_chroms" in keys
    assert not (files / "runs").exists() and not (files / "catalog.duckdb").exists()


def test_cli_exits_2_listing_every_problem(files, capsys):
    from affdist_core.cli import main

    path = _write(files, PROJECT.replace('plus = "plus.bw"', 'plus = "nope.bw"')
                  .replace('test_chroms = ["chrC"]', 'test_chroms = ["chrD"]'))
    assert main(["run", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "experiment[0].plus" in err and "experiment[0].test_chroms" in err
    assert not (files / "runs").exists()


def test_bam_input_is_checked(files):
    text = PROJECT.replace('plus = "plus.bw"\nminus = "minus.bw"', 'bam = ["rep1.bam"]\nmin_mapq = 10')
    one_problem(files, text, "experiment[0].bam[0]:", "rep1.bam")
    one_problem(files, PROJECT.replace('plus = "plus.bw"', 'plus = "plus.bw"\nmin_mapq = 10'),
                "min_mapq, keep_duplicates: apply to bam")


def test_bad_toml_and_missing_file(files, tmp_path):
    with pytest.raises(ProjectError, match="not valid TOML"):
        load_project(_write(files, "[genome\n"))
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "none.toml")


def test_the_shipped_examples_parse(files, tmp_path):
    from affdist_core.pipeline.project import default_project_path

    root = Path(__file__).resolve().parents[2]
    default = load_project(default_project_path())
    assert default.simulate is not None and default.simulate.preset == "pho4-yeast"
    assert [e.tf for e in default.experiments] == ["Pho4"] and default.motifs.jaspar == {"Pho4": ("MA0357.1",)}
    assert load_project(root / "examples" / "default.toml") == dataclass_with_path(
        default, root / "examples" / "default.toml")
    shutil.copy(root / "examples" / "own_data.toml", tmp_path / "own_data.toml")
    own = load_project(tmp_path / "own_data.toml")  # shape only: its files are the user's
    assert own.simulate is None and len(own.experiments) >= 1


def dataclass_with_path(project, path: Path):
    import dataclasses

    return dataclasses.replace(project, path=path, output=dataclasses.replace(
        project.output, dir=path.parent / "runs", catalog=path.parent / "data_catalog" / "affdist.duckdb"))


def _write(root: Path, text: str, name: str = "p.toml") -> Path:
    (root / name).write_text(text)
    return root / name


def test_one_experiment_per_tf_and_no_files_with_simulate(files):
    second = PROJECT[PROJECT.index("[[experiment]]"):PROJECT.index("[[library]]")].replace('"Pho4"', '"PHO4"')
    problems = problems_of(files, PROJECT.replace("[[library]]", second + "[[library]]"))
    assert problems[0].startswith("experiment: TF 'pho4' has 2 experiments")
    assert problems[1] == "experiment[1].tf: no [[library]] measures 'PHO4'; add one with tf = 'PHO4'"
    problems = problems_of(files, PROJECT + '\n[simulate]\npreset = "pho4-yeast"\n')
    assert problems[0].startswith("experiment[0]: plus, minus, peaks: with a [simulate] section the simulator "
                                  "writes the experiment's files; remove these keys or the [simulate] section")
    assert len(problems) == 1  # the split (chrB, chrC) lies on the given FASTA, which is simulated whole
    simulated = PROJECT.replace('plus = "plus.bw"\nminus = "minus.bw"\npeaks = "peaks.narrowPeak"\n', "")
    problems = problems_of(files, simulated.replace('["chrB"]', '["chrQ"]') + '\n[simulate]\npreset = "pho4-yeast"\n')
    assert problems == ["experiment[0].valid_chroms: chrQ not among the simulated chromosomes (chrA, chrB, chrC); "
                        "set experiment[0].valid_chroms or simulate.overrides.chroms"]


def test_simulated_split_lies_on_the_simulated_chromosomes(tmp_path):
    from affdist_core.pipeline.project import default_project_path

    text = default_project_path().read_text() + '\n[simulate.overrides]\nchroms = ["chrI", "chrII"]\n'
    text = text.replace('[simulate]\npreset = "pho4-yeast"\n', '[simulate]\npreset = "pho4-yeast"')
    path = tmp_path / "sim.toml"
    path.write_text(text)
    with pytest.raises(ProjectError) as caught:
        validate_project(path)
    assert caught.value.problems == [
        "experiment[0].valid_chroms (default): chrVII not among the simulated chromosomes (chrI, chrII); set "
        "experiment[0].valid_chroms or simulate.overrides.chroms",
        "experiment[0].test_chroms (default): chrIV not among the simulated chromosomes (chrI, chrII); set "
        "experiment[0].test_chroms or simulate.overrides.chroms"]
    path.write_text(text.replace('tf = "Pho4"\n', 'tf = "Pho4"\nvalid_chroms = ["chrI"]\ntest_chroms = ["chrII"]\n', 1))
    assert validate_project(path).experiments[0].test_chroms == ("chrII",)


def test_calibration_ids_are_rows_of_every_library(files):
    ids = files / "cal_ids.txt"
    ids.write_text("s1\ns2\ns3\ns4\n")  # ids of pho4_lib.csv (id_col = "name")
    good = PROJECT + '\n[calibration]\nids = "cal_ids.txt"\n'
    project = validate_project(_write(files, good))
    assert project.calibration.ids == ids
    (files / "bad_ids.txt").write_text("s1\ns2\nnope\nnada\n")
    one_problem(files, good.replace("cal_ids.txt", "bad_ids.txt"), "calibration.ids (bad_ids.txt): 2 of its 4 ids",
                "library[0] (pho4_lib), e.g. nope, nada", "library[0].id_col (name)")
    (files / "two_ids.txt").write_text("s1\ns2\n")
    one_problem(files, good.replace("cal_ids.txt", "two_ids.txt"), "2 id(s); a calibration needs at least 3")
    (files / "repeated_ids.txt").write_text("s1\ns2\ns3\ns2\n")
    one_problem(files, good.replace("cal_ids.txt", "repeated_ids.txt"), "ids repeat (s2)")
    one_problem(files, good.replace("cal_ids.txt", "missing_ids.txt"), "calibration.ids:", "does not exist")


def test_calibration_ids_are_always_scored():
    """A chosen calibration sample joins the scored rows even where the random subset left it out."""
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(50)], "sequence": ["ACGT"] * 50,
                          "value": np.arange(50.0), "category": None})
    library = InVitroLibrary(name="lib", frame=frame)
    settings = dataclasses.replace(method_settings(True, False, 10, None), seed=0)
    plain = scored_rows(library, settings)
    outside = [i for i in frame["id"] if i not in set(plain["id"])][:3]
    chosen = scored_rows(library, dataclasses.replace(settings, calibration_ids=tuple(outside) + (plain["id"][0],)))
    assert set(chosen["id"]) == set(plain["id"]) | set(outside) and len(chosen) == 13
    assert chosen["id"].tolist() == sorted(chosen["id"], key=lambda i: int(i[1:]))  # library order


def test_excluded_chromosomes_are_checked_like_the_split(files):
    project = validate_project(_write(files, PROJECT.replace('test_chroms = ["chrC"]',
                                                             'test_chroms = ["chrC"]\nexclude_chroms = []')))
    assert project.experiments[0].exclude_chroms == ()
    one_problem(files, PROJECT.replace('test_chroms = ["chrC"]', 'test_chroms = ["chrC"]\nexclude_chroms = ["chrB"]'),
                "experiment[0].exclude_chroms, experiment[0].valid_chroms: chrB in both")
    one_problem(files, PROJECT.replace('test_chroms = ["chrC"]', 'test_chroms = ["chrC"]\nexclude_chroms = ["chrZ"]'),
                "experiment[0].exclude_chroms: 'chrZ' is not in the FASTA")
