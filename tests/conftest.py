"""Shared fixtures: the committed mini-genome and small files written from it by the tests."""

from __future__ import annotations

import os
from pathlib import Path

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
    from affdist_core.simulate import simulate
    from affdist_core.simulation_config import resolve_config

    out = tmp_path_factory.mktemp("sim_chrI")
    simulate(resolve_config({"chroms": ["chrI"]}, preset="pho4-yeast"), out)
    return out
