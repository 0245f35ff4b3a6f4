"""Shared fixtures: the committed mini-genome and small files written from it by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def mini_genome_fasta() -> Path:
    """Two 25-kb yeast chromosomes (chrA, chrB); see tests/fixtures/README.md."""
    return FIXTURES / "mini_genome.fa"


@pytest.fixture(scope="session")
def sim_chrI(tmp_path_factory) -> Path:
    """The pho4-yeast preset simulated on chrI only (seed 0): a directory of simulator outputs."""
    from affdist_core.simulate.run import simulate
    from affdist_core.simulate.config import resolve_config

    out = tmp_path_factory.mktemp("sim_chrI")
    simulate(resolve_config({"chroms": ["chrI"]}, preset="pho4-yeast"), out)
    return out

@pytest.fixture(scope="session")
def app_catalog(tmp_path_factory) -> Path:
    """Path of a catalog holding a quick Pho4 run (one model) and a quick Cbf1-like run (AD = mean of two
    models)."""
    from affdist_core.pipeline.demo import run_demo
    from affdist_core.io.library import load_builtin_library

    root = tmp_path_factory.mktemp("app_catalog")
    catalog = root / "catalog.duckdb"
    run_demo(root / "pho4", quick=True, catalog_path=catalog, n_scored=300, n_backgrounds=3)
    frame = load_builtin_library("betseq_pho4").frame.sample(n=2000, random_state=1)
    rng = np.random.default_rng(1)
    frame = frame.assign(ddG=frame["value"] + rng.normal(0, 0.05, len(frame)))[["sequence", "ddG"]]
    frame.to_csv(root / "cbf1_like.csv", index=False)
    run_demo(root / "cbf1", quick=True, catalog_path=catalog, tf="Cbf1", library=str(root / "cbf1_like.csv"),
             core="CACGTG", jaspar="MA0281.2", n_scored=300, n_backgrounds=3, value_col="ddG", n_models=2)
    return catalog


@pytest.fixture
def app_env(app_catalog, monkeypatch) -> Path:
    """Point the app at the test catalog (``$AFFDIST_CATALOG``) for AppTest runs."""
    monkeypatch.setenv("AFFDIST_CATALOG", str(app_catalog))
    return app_catalog
