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
