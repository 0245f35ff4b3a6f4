"""The layout of a model directory and of a run directory: every file and folder name in one place.

A **model directory** is what ``affdist train`` writes (and what the ensemble members, the interpretation and
the catalog read); a **run directory** is what ``affdist demo`` (one TF × library) writes, with the model
directory inside it. Code builds paths with :class:`ModelDir` and :class:`RunDir` instead of spelling names out,
so renaming a file is one change here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# --- model directory ---------------------------------------------------------------------------------------
MODEL_FILE = "model.keras"              # the best model (early stopping), Keras 3 format
PARAMS_FILE = "params.json"             # the model's hyperparameters (model.params.BPNetParams)
DATA_SPEC_FILE = "data.json"            # the data spec it was trained on (model.data_spec.DataSpec)
INPUTS_FILE = "inputs.json"             # the model's input contract and layer names (model.inputs)
TRAINING_FILE = "training.json"         # training settings, seed, best epoch, timings (marks a finished model)
HISTORY_FILE = "history.json"           # per-epoch losses
CHECKPOINT_DIR = "checkpoint"           # resumable training state
LAST_CHECKPOINT_FILE = "last.keras"     # compiled model after the last finished epoch (optimizer state too)
CHECKPOINT_STATE_FILE = "state.json"    # epoch, history, best loss, fingerprint of the training
METRICS_FILE = "metrics.json"           # per-split counts/profile metrics (model.evaluate)
COUNTS_FILE = "counts.parquet"          # observed vs predicted log counts per window
ENSEMBLE_FILE = "ensemble.json"         # member directories relative to the primary model directory
MEMBERS_DIR = "members"                 # members/seed_<K>/ — one model directory per ensemble member
INTERPRET_DIR = "interpret"             # DeepSHAP contributions and TF-MoDISco motifs
CONTRIBUTIONS_FILE = "contributions.npz"
INTERPRET_FILE = "interpret.json"
MOTIFS_FILE = "motifs.parquet"

# --- run directory -----------------------------------------------------------------------------------------
DATA_DIR = "data"                       # the experiment's files (simulated, or a user's)
RUN_MODEL_DIR = "model"
DISTILL_DIR = "distill"
BASELINES_DIR = "baselines"
COMPARE_DIR = "compare"
ANALYSES_DIR = "analyses"
REPORT_FILE = "report.json"
STAGE_TIMES_FILE = "stage_times.json"
STAGES_FILE = "stages.json"             # fingerprints of the finished stages (pipeline.stage)


@dataclass(frozen=True)
class ModelDir:
    """Paths inside one model directory (``root``)."""

    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike) -> "ModelDir":
        return cls(Path(path))

    @property
    def model(self) -> Path:
        return self.root / MODEL_FILE

    @property
    def params(self) -> Path:
        return self.root / PARAMS_FILE

    @property
    def data_spec(self) -> Path:
        return self.root / DATA_SPEC_FILE

    @property
    def inputs(self) -> Path:
        return self.root / INPUTS_FILE

    @property
    def training(self) -> Path:
        return self.root / TRAINING_FILE

    @property
    def history(self) -> Path:
        return self.root / HISTORY_FILE

    @property
    def checkpoint(self) -> Path:
        return self.root / CHECKPOINT_DIR

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def counts(self) -> Path:
        return self.root / COUNTS_FILE

    @property
    def ensemble(self) -> Path:
        return self.root / ENSEMBLE_FILE

    @property
    def interpret(self) -> Path:
        return self.root / INTERPRET_DIR

    def member(self, seed: int) -> Path:
        """Where the ensemble member trained with ``seed`` lives: ``members/seed_<seed>``."""
        return self.root / MEMBERS_DIR / f"seed_{int(seed)}"


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory (``root``): one TF × library."""

    root: Path

    @classmethod
    def at(cls, path: str | os.PathLike) -> "RunDir":
        return cls(Path(path))

    @property
    def data(self) -> Path:
        return self.root / DATA_DIR

    @property
    def model(self) -> Path:
        return self.root / RUN_MODEL_DIR

    @property
    def distill(self) -> Path:
        return self.root / DISTILL_DIR

    @property
    def baselines(self) -> Path:
        return self.root / BASELINES_DIR

    @property
    def compare(self) -> Path:
        return self.root / COMPARE_DIR

    @property
    def analyses(self) -> Path:
        return self.root / ANALYSES_DIR

    @property
    def report(self) -> Path:
        return self.root / REPORT_FILE

    @property
    def stage_times(self) -> Path:
        return self.root / STAGE_TIMES_FILE

    @property
    def stages(self) -> Path:
        return self.root / STAGES_FILE
