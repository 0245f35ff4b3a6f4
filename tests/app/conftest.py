"""A small but real catalog for the app tests: two ``affdist demo --quick`` runs (chrI–chrIII).

Pho4 on 300 rows of its BET-seq library, and a stand-in "Cbf1" whose library is 2,000 of the same 16-mers with
perturbed values, so the Paralogs page has two TFs sharing sequences. Built once per test session (~1–2 min).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

APP_DIR = Path(__file__).resolve().parents[2] / "app"


@pytest.fixture(scope="session")
def app_catalog(tmp_path_factory) -> Path:
    """Path of a catalog holding a quick Pho4 run and a quick Cbf1-like run."""
    from affdist_core.demo import run_demo
    from affdist_core.library import load_builtin_library

    root = tmp_path_factory.mktemp("app_catalog")
    catalog = root / "catalog.duckdb"
    run_demo(root / "pho4", quick=True, catalog_path=catalog, n_scored=300, n_backgrounds=3)
    frame = load_builtin_library("betseq_pho4").frame.sample(n=2000, random_state=1)
    rng = np.random.default_rng(1)
    frame = frame.assign(ddG=frame["value"] + rng.normal(0, 0.05, len(frame)))[["sequence", "ddG"]]
    frame.to_csv(root / "cbf1_like.csv", index=False)
    run_demo(root / "cbf1", quick=True, catalog_path=catalog, tf="Cbf1", library=str(root / "cbf1_like.csv"),
             core="CACGTG", jaspar="MA0281.2", n_scored=300, n_backgrounds=3, value_col="ddG")
    return catalog


@pytest.fixture
def app_env(app_catalog, monkeypatch) -> Path:
    """Point the app at the test catalog (``$AFFDIST_CATALOG``) for AppTest runs."""
    monkeypatch.setenv("AFFDIST_CATALOG", str(app_catalog))
    return app_catalog
