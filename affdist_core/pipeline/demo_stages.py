"""The demo as a list of :class:`~affdist_core.pipeline.stage.Stage`: what each step reads, writes and depends on.

=============== ============================ ================================================== =================
stage           after                        settings in its fingerprint                        outputs (run dir)
=============== ============================ ================================================== =================
simulate        —                            the resolved simulation config (+ library content) ``data/``
train           simulate                     BPNet params, split, training settings (seed)      ``model/``
evaluate        train                        —                                                  ``model/metrics.json``
interpret       train                        DeepSHAP shuffles                                  ``model/interpret/``
train_members   simulate                     params, split, each member's settings (seeds)      ``model/members/``
marginalize     train, train_members         scored rows, backgrounds, models, curve sizes      ``distill/``
baselines       train, interpret             JASPAR id, seed, quick                             ``baselines/``
compare         marginalize, baselines       scored rows, seed, top k, calibration rows         ``compare/``
analyses        compare, marginalize,        — (+ library content)                              ``analyses/``
                evaluate
=============== ============================ ================================================== =================

Every stage's fingerprint also holds the code version of the module it runs (and of what that imports), so a
changed parameter or a changed module reruns exactly the stages that depend on it. The stages' run functions
are the module-level ``_simulate`` … ``_analyses`` below (tests replace them).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from affdist_core.common import names
from affdist_core.common.names import ModelDir, RunDir
from affdist_core.io.library import InVitroLibrary
from affdist_core.pipeline import train_step
from affdist_core.pipeline.method_stages import MethodSettings
from affdist_core.pipeline.stage import Stage


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo's stages need: the run directory, the resolved simulation config, the TF's library,
    the method settings, ``quick`` and the primary model's training seed."""

    run_dir: Path
    config: dict
    library: InVitroLibrary
    settings: MethodSettings
    quick: bool = False
    train_seed: int = 0

    @property
    def paths(self) -> RunDir:
        return RunDir.at(self.run_dir)

    @property
    def split(self) -> dict:
        """Data-spec overrides of the training split (the quick demo's chrII/chrIII)."""
        return dict(train_step.QUICK_SPLIT) if self.quick else {}

    @property
    def member_seeds(self) -> list[int]:
        """Training seeds of the ensemble members (the primary model has ``train_seed``)."""
        return [self.train_seed + k for k in range(1, self.settings.n_models)]

    @property
    def n_shuffles(self) -> int:
        """Dinucleotide-shuffled references per DeepSHAP explanation."""
        return 5 if self.quick else 20

    @cached_property
    def library_identity(self) -> dict:
        """``{"library": digest}`` of the library's name and ``id, sequence, value`` rows."""
        frame = self.library.frame[["id", "sequence", "value"]]
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        return {"library": f"{self.library.name}:{hashlib.sha256(hashed.tobytes()).hexdigest()[:16]}"}


def model_params():
    """The BPNet parameters every demo model trains with (read when a stage is considered, not at import)."""
    from affdist_core.model import params

    return params.YEAST_COMPACT_PARAMS


def demo_stages(plan: DemoPlan) -> list[Stage]:
    """The demo's stages in order (see the module docstring's table)."""
    root, settings = plan.paths, plan.settings

    def rel(path: Path) -> str:
        return path.relative_to(root.root).as_posix()

    model = ModelDir(root.model)
    members = [ModelDir(model.member(s)) for s in plan.member_seeds]
    return [
        Stage("simulate", lambda: _simulate(plan),
              outputs=tuple(rel(root.data / n) for n in (names.SIMULATION_FILE, names.GENOME_FASTA_FILE,
                                                         names.PLUS_BIGWIG_FILE, names.MINUS_BIGWIG_FILE,
                                                         names.PEAKS_FILE)),
              settings=plan.config, code=("affdist_core.simulate.run",), inputs=lambda: plan.library_identity),
        Stage("train", lambda: _train(plan), outputs=(rel(model.model), rel(model.training)), after=("simulate",),
              settings=lambda: {"params": asdict(model_params()), "split": plan.split,
                                "training": asdict(train_step.training_settings(plan.quick, plan.train_seed))},
              code=("affdist_core.pipeline.train_step",), clean=(rel(model.root),)),
        Stage("evaluate", lambda: _evaluate(plan), outputs=(rel(model.metrics), rel(model.counts)),
              after=("train",), code=("affdist_core.model.evaluate",)),
        Stage("interpret", lambda: _interpret(plan),
              outputs=tuple(rel(model.interpret / n) for n in (names.INTERPRET_FILE, names.CONTRIBUTIONS_FILE,
                                                               names.MOTIFS_FILE)),
              after=("train",), settings={"n_shuffles": plan.n_shuffles}, code=("affdist_core.interpret.run",)),
        Stage("train_members", lambda: _train_members(plan),
              outputs=tuple(rel(m.model) for m in members) + ((rel(model.ensemble),) if members else ()),
              after=("simulate",),
              settings=lambda: {"params": asdict(model_params()), "split": plan.split,
                                "members": [asdict(train_step.training_settings(plan.quick, s))
                                            for s in plan.member_seeds]},
              code=("affdist_core.pipeline.train_step",)),
        Stage("marginalize", lambda: _distill(plan),
              outputs=tuple(rel(root.distill / n) for n in (names.DISTILL_SUMMARY_FILE, names.SCORES_FILE,
                                                            names.CURVE_FILE, names.CURVE_DELTAS_FILE,
                                                            names.BACKGROUNDS_FILE)),
              after=("train", "train_members"),
              settings=settings.subset("n_scored", "n_backgrounds", "n_models", "background_pool",
                                       "curve_heldout_rows", "curve_calibration_rows", "curve_models",
                                       "calibration_rows", "seed"),
              code=("affdist_core.pipeline.distill_step",), inputs=lambda: plan.library_identity),
        Stage("baselines", lambda: _baselines(plan),
              outputs=tuple(rel(root.baselines / n) for n in (names.BASELINES_SUMMARY_FILE, names.MOTIFS_FILE)),
              after=("train", "interpret"),
              settings={"jaspar_id": plan.config["jaspar_id"], **settings.subset("seed", "quick")},
              code=("affdist_core.pipeline.baselines_step",)),
        Stage("compare", lambda: _compare(plan),
              outputs=tuple(rel(root.compare / n) for n in (names.COMPARISON_FILE, names.FITS_FILE,
                                                            names.PREDICTIONS_FILE, names.SAMPLE_FILE,
                                                            names.SCORES_FILE)),
              after=("marginalize", "baselines"),
              settings=settings.subset("n_scored", "seed", "top_k", "calibration_rows"),
              code=("affdist_core.pipeline.compare_step",), inputs=lambda: plan.library_identity),
        Stage("analyses", lambda: _analyses(plan),
              outputs=tuple(rel(root.analyses / n) for n in (names.ANALYSES_FILE, names.DYNAMIC_RANGE_FILE,
                                                             names.GENOMIC_MATCHES_FILE)),
              after=("compare", "marginalize", "evaluate"),
              code=("affdist_core.pipeline.analyses_step",), inputs=lambda: plan.library_identity),
    ]


# --- run functions: each writes its stage's outputs (atomically) -------------------------------------------


def _simulate(plan: DemoPlan) -> None:
    from affdist_core.simulate.run import simulate

    simulate(plan.config, plan.paths.data)


def _train(plan: DemoPlan) -> None:
    train_step.train_model(plan.paths.data, plan.paths.model, model_params(), plan.split,
                           train_step.training_settings(plan.quick, plan.train_seed))


def _evaluate(plan: DemoPlan) -> None:
    from affdist_core.model.evaluate import evaluate_model_dir

    evaluate_model_dir(plan.paths.model)


def _interpret(plan: DemoPlan) -> None:
    from affdist_core.interpret.run import interpret_model_dir

    interpret_model_dir(plan.paths.model, n_shuffles=plan.n_shuffles)


def _train_members(plan: DemoPlan) -> None:
    train_step.train_members(plan.paths.data, plan.paths.model, model_params(), plan.split, plan.quick,
                             plan.member_seeds)


def _distill(plan: DemoPlan) -> None:
    from affdist_core.pipeline.distill_step import run_distill

    run_distill(plan.run_dir, plan.library, plan.settings)


def _baselines(plan: DemoPlan) -> None:
    from affdist_core.pipeline.baselines_step import run_baselines

    run_baselines(plan.run_dir, plan.config["jaspar_id"], plan.settings)


def _compare(plan: DemoPlan) -> None:
    from affdist_core.pipeline.compare_step import run_compare

    run_compare(plan.run_dir, plan.library, plan.settings)


def _analyses(plan: DemoPlan) -> None:
    from affdist_core.pipeline.analyses_step import run_analyses

    run_analyses(plan.run_dir, plan.library)
