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
LEARNING_CHECK_FILE = "learning_check.json"  # did the model learn (affdist_core.model.quality)
COUNTS_FILE = "counts.parquet"          # observed vs predicted log counts per window
ENSEMBLE_FILE = "ensemble.json"         # member directories relative to the primary model directory
MEMBERS_DIR = "members"                 # members/seed_<K>/ — one model directory per ensemble member
INTERPRET_DIR = "interpret"             # DeepSHAP contributions and TF-MoDISco motifs
INTERPRET_ENSEMBLE_DIR = "interpret_ensemble"  # TF-MoDISco on the contributions averaged over every member
CONTRIBUTIONS_FILE = "contributions.npz"
INTERPRET_FILE = "interpret.json"
MOTIFS_FILE = "motifs.parquet"

# --- run directory -----------------------------------------------------------------------------------------
DATA_DIR = "data"                       # the experiment's files (simulated, or a user's)
RUN_MODEL_DIR = "model"
JOINT_MODEL_DIR = "joint_model"         # a multi-task project's shared BPNet (its first TF's run; issue 26)
DISTILL_DIR = "distill"
BASELINES_DIR = "baselines"
COMPARE_DIR = "compare"
ANALYSES_DIR = "analyses"
REPORT_FILE = "report.json"
STAGE_TIMES_FILE = "stage_times.json"
STAGES_FILE = "stages.json"             # fingerprints of the finished stages (pipeline.stage)
DISTILL_MANIFEST_FILE = "manifest.json"  # distill/: what is being scored (resumption key)
CHUNKS_DIR = "chunks"                   # distill/: one parquet per finished chunk while scoring


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
    def learning_check(self) -> Path:
        return self.root / LEARNING_CHECK_FILE

    @property
    def ensemble(self) -> Path:
        return self.root / ENSEMBLE_FILE

    @property
    def interpret(self) -> Path:
        return self.root / INTERPRET_DIR

    @property
    def interpret_ensemble(self) -> Path:
        return self.root / INTERPRET_ENSEMBLE_DIR

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
    def joint_model(self) -> Path:
        """The multi-task model a ``multitask = true`` project trains in its first TF's run (``model/`` of each
        TF's run is that TF's task of it)."""
        return self.root / JOINT_MODEL_DIR

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


# --- names stored in the catalog ---------------------------------------------------------------------------
AD_METHOD = "affinity_distillation"     # the ``method`` of Affinity Distillation's scores, fits and comparison

# --- simulation directory (what ``affdist simulate`` writes: the run's data directory) ----------------------
GENOME_FASTA_FILE = "genome.fa"
CHROM_SIZES_FILE = "chrom.sizes"
ANNOTATION_FILE = "annotation.parquet"
PLUS_BIGWIG_FILE = "plus.bw"            # read 5' ends per base, + strand
MINUS_BIGWIG_FILE = "minus.bw"
CONTROL_PLUS_BIGWIG_FILE = "control_plus.bw"    # the control (accessibility assay) track, + strand
CONTROL_MINUS_BIGWIG_FILE = "control_minus.bw"
PEAKS_FILE = "peaks.narrowPeak"
SITES_FILE = "sites.parquet"
SIMULATION_FILE = "simulation.json"     # the simulation's summary, written last (marks a finished simulation)

# --- files of the method stages inside a run directory (pipeline.*_step) ------------------------------------
READOUTS_FILE = "readouts.json"         # distill/: the linear read-out's matrices and the read-out chosen as AD
DISTILL_SUMMARY_FILE = "distill.json"   # distill/: what was scored, with which backgrounds and models
SCORES_FILE = "scores.parquet"          # distill/: AD score per scored row; compare/: each method's raw score
CURVE_FILE = "curve.parquet"            # distill/: the backgrounds-curve rows scored on the whole pool
CURVE_DELTAS_FILE = "curve_deltas.npy"  # distill/: their per-background deltas (rows × pool)
BACKGROUNDS_FILE = "backgrounds.parquet"  # distill/: where each background came from
BASELINES_SUMMARY_FILE = "baselines.json"  # baselines/ (its motifs: MOTIFS_FILE)
FITS_FILE = "fits.parquet"              # compare/: every score column calibrated
PREDICTIONS_FILE = "predictions.parquet"  # compare/: each method's calibrated predictions
SAMPLE_FILE = "sample.json"             # compare/: the one calibration sample
COMPARISON_FILE = "comparison.json"     # compare/: per-method summary
DYNAMIC_RANGE_FILE = "dynamic_range.parquet"  # analyses/
GENOMIC_MATCHES_FILE = "genomic_matches.parquet"  # analyses/
CATEGORIES_FILE = "categories.parquet"  # analyses/: every method per kind of library sequence (compare.categories)
ANALYSES_FILE = "analyses.json"         # analyses/: backgrounds curve, sd ratios, counts by split, matches
