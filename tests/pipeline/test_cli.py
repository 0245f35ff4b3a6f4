"""The ``affdist`` command line: subcommands run, errors exit with code 2 and a message naming the problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
    monkeypatch.setattr(subprocess, "call", lambda command, cwd=None: calls.append((command, cwd)) or 0)
    assert cli.main(["app", "--catalog", str(catalog), "--port", "8765"]) == 0
    command, cwd = calls[0]
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("app/main.py")
    assert command[command.index("--server.port") + 1] == "8765"
    assert command[command.index("--server.address") + 1] == "127.0.0.1"  # this machine only by default
    assert (Path(cwd) / ".streamlit" / "config.toml").is_file()  # streamlit reads the app's config from its cwd
    assert cli.main(["app", "--catalog", str(catalog), "--address", "0.0.0.0"]) == 0
    assert calls[1][0][calls[1][0].index("--server.address") + 1] == "0.0.0.0"
    assert command[-2:] == ["--catalog", str(catalog.resolve())]


def test_demo_passes_its_options_and_prints_the_run(monkeypatch, tmp_path, capsys):
    """`affdist demo --train-seed 3 --models 2` reaches run_demo, then prints the run directory's summary."""
    import affdist_core.pipeline.demo as demo

    seen = {}
    monkeypatch.setattr(demo, "run_demo", lambda out, **kwargs: seen.update(kwargs, out=out) or {})
    monkeypatch.setattr(demo, "format_demo", lambda out: f"summary of {out}")
    assert main(["-q", "demo", "--out", str(tmp_path / "run"), "--train-seed", "3", "--models", "2"]) == 0
    assert seen["train_seed"] == 3 and seen["n_models"] == 2 and seen["out"] == tmp_path / "run"
    assert f"summary of {tmp_path / 'run'}" in capsys.readouterr().out


def test_a_model_trained_with_another_seed_is_retrained(tmp_path, monkeypatch):
    """The demo's training rule: a finished model of the same training (seed included) is reused, one trained
    with another seed is trained again (training itself is replaced by a recorder)."""
    import dataclasses
    import json

    from tiny_dataset import TINY, passing_check, write_dataset as _write_dataset

    from affdist_core.model import quality, train
    from affdist_core.pipeline.train_step import train_model, training_settings

    _write_dataset(tmp_path)
    split = {"valid_chroms": ["chrB"], "test_chroms": ["chrC"]}
    trained = []

    def fake_train_bpnet(params, spec, out, settings, accessibility_from=None):
        trained.append(settings.seed)
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.keras").write_bytes(b"")
        (out / "training.json").write_text(json.dumps({
            "settings": dataclasses.asdict(settings),
            "fingerprint": train.training_fingerprint(params, spec, settings)}))

    monkeypatch.setattr(train, "train_bpnet", fake_train_bpnet)
    monkeypatch.setattr(quality, "check_learning", passing_check)  # fake models: no real check
    model_dir = tmp_path / "model"
    assert train_model(tmp_path, model_dir, TINY, split, training_settings(True, 0)) is True
    assert train_model(tmp_path, model_dir, TINY, split, training_settings(True, 0)) is False  # same seed: reused
    assert train_model(tmp_path, model_dir, TINY, split, training_settings(True, 1)) is True  # another: retrained
    assert train_model(tmp_path, model_dir, TINY, split, training_settings(False, 1)) is True  # other settings
    assert train_model(tmp_path, model_dir, dataclasses.replace(TINY, lr=0.001), split,
                       training_settings(False, 1)) is True  # other parameters
    assert trained == [0, 1, 1, 1]


def _tiny_library_files(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, 60)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(60)]
    pd.DataFrame({"sequence": seqs, "value": values}).to_csv(tmp_path / "lib.csv", index=False)
    scores = pd.DataFrame({"id": [str(i) for i in range(60)], "score": 2 * values + 1})
    scores.to_csv(tmp_path / "scores.csv", index=False)
    return scores


def test_calibrate_fits_the_scores_file(tmp_path, capsys):
    import json

    import pandas as pd

    _tiny_library_files(tmp_path)
    assert main(["-q", "calibrate", "--scores", str(tmp_path / "scores.csv"), "--library", str(tmp_path / "lib.csv"),
                 "--n", "10", "--out", str(tmp_path / "cal")]) == 0
    fit = json.loads((tmp_path / "cal" / "fit.json").read_text())
    assert fit["slope"] == pytest.approx(0.5) and fit["intercept"] == pytest.approx(-0.5)
    assert fit["n_calibration"] == 10 and fit["sample"]["seed"] == 0
    predictions = pd.read_parquet(tmp_path / "cal" / "predictions.parquet")
    assert predictions["calibration"].sum() == 10
    assert predictions["predicted"].to_numpy() == pytest.approx(predictions["measured"].to_numpy())
    assert "calibrated on 10 rows: slope 0.5" in capsys.readouterr().out


def test_calibrate_names_a_bad_scores_file(tmp_path, caplog):
    scores = _tiny_library_files(tmp_path)
    scores.rename(columns={"score": "mean"}).to_csv(tmp_path / "bad.csv", index=False)
    assert main(["calibrate", "--scores", str(tmp_path / "bad.csv"), "--library", str(tmp_path / "lib.csv"),
                 "--out", str(tmp_path / "cal")]) == 2
    assert "lacks column(s) ['score']" in caplog.text
    scores.assign(id=scores["id"] + "x").to_csv(tmp_path / "other.csv", index=False)
    assert main(["calibrate", "--scores", str(tmp_path / "other.csv"), "--library", str(tmp_path / "lib.csv"),
                 "--out", str(tmp_path / "cal")]) == 2
    assert "60 id(s) are not in library" in caplog.text and not (tmp_path / "cal").exists()
