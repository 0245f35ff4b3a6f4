"""The ``affdist`` command line: subcommands run, errors exit with code 2 and a message naming the problem."""

from __future__ import annotations

import subprocess
import sys

from affdist_core.cli import main


def test_module_entry_point_shows_help():
    result = subprocess.run([sys.executable, "-m", "affdist_core", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("genome", "simulate", "library", "demo"):
        assert command in result.stdout


def test_genome_subset(tmp_path, capsys):
    assert main(["-q", "genome", "--out", str(tmp_path / "g"), "--chroms", "chrI,chrIII"]) == 0
    sizes = (tmp_path / "g" / "chrom.sizes").read_text().split()
    assert sizes == ["chrI", "230218", "chrIII", "316620"]


def test_simulate_prints_summary(tmp_path, capsys):
    assert main(["-q", "simulate", "--preset", "pho4-yeast", "--chroms", "chrI", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "peaks called" in out and "footprint" in out and "Spearman" in out


def test_library_validation_error_exits_2(tmp_path, caplog):
    bad = tmp_path / "lib.csv"
    bad.write_text("sequence,value\nACGT,1.0\nACXT,2.0\n")
    assert main(["library", str(bad)]) == 2
    assert "line 3" in caplog.text and "lib.csv" in caplog.text


def test_library_summary(tmp_path, capsys):
    good = tmp_path / "lib.tsv"
    good.write_text("seq\tddG\nACGT\t1.0\nAGGT\t2.0\n")
    assert main(["-q", "library", str(good), "--sequence-col", "seq", "--value-col", "ddG"]) == 0
    assert "2 sequences" in capsys.readouterr().out


def test_simulate_bad_config_file(tmp_path, caplog):
    config = tmp_path / "c.json"
    config.write_text('{"reads": {"depth": -1}}')
    assert main(["simulate", "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "reads.depth=-1 is outside" in caplog.text


def test_app_without_a_catalog_says_how_to_build_one(tmp_path, caplog):
    assert main(["app", "--catalog", str(tmp_path / "missing.duckdb")]) == 2
    assert "does not exist" in caplog.text and "affdist demo" in caplog.text


def test_app_runs_streamlit_on_the_catalog(tmp_path, monkeypatch):
    """`affdist app` hands the catalog to `streamlit run app/main.py` after `--`."""
    import affdist_core.cli as cli

    catalog = tmp_path / "c.duckdb"
    catalog.write_bytes(b"")
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command: calls.append(command) or 0)
    assert cli.main(["app", "--catalog", str(catalog), "--port", "8765"]) == 0
    command = calls[0]
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("app/main.py")
    assert command[command.index("--server.port") + 1] == "8765"
    assert command[-2:] == ["--catalog", str(catalog.resolve())]


def test_demo_passes_the_training_seed(monkeypatch, tmp_path):
    """`affdist demo --train-seed 3 --models 2` reaches run_demo; a model trained with another seed is not reused."""
    import json

    import affdist_core.pipeline.demo as demo

    seen = {}
    monkeypatch.setattr(demo, "run_demo", lambda out, **kwargs: seen.update(kwargs) or {})
    assert main(["-q", "demo", "--out", str(tmp_path / "run"), "--train-seed", "3", "--models", "2"]) == 0
    assert seen["train_seed"] == 3 and seen["n_models"] == 2
    assert demo.training_seed(tmp_path / "none") is None
    (tmp_path / "training.json").write_text(json.dumps({"settings": {"seed": 1}}))
    assert demo.training_seed(tmp_path) == 1
