"""A run (one TF × library) as a list of :class:`~affdist_core.pipeline.stage.Stage`: what each step reads,
writes and depends on. ``affdist demo`` builds its :class:`RunPlan` from the simulator config
(:func:`affdist_core.pipeline.demo.demo_plan`); ``affdist run`` from a project file
(:func:`affdist_core.pipeline.run.project_plans`).

=============== ============================ ================================================== =================
stage           after                        settings in its fingerprint                        outputs (run dir)
=============== ============================ ================================================== =================
simulate        —                            the resolved simulation config (+ library content) ``data/``
bam2bw          —                            mapping-quality filter, duplicates (+ BAM files)   ``data/*.bw``
train           simulate | bam2bw            BPNet params, split, training settings (seed)      ``model/``
evaluate        train                        —                                                  ``model/metrics.json``
interpret       train                        DeepSHAP shuffles                                  ``model/interpret/``
train_members   train                        params, split, each member's settings (seeds)      ``model/members/``
interpret_...   interpret, train_members     DeepSHAP shuffles (only with ensemble members)     ``model/interpret_ensemble/``
marginalize     train, train_members,        scored rows, backgrounds, models, curve sizes      ``distill/``
                interpret(_members)
baselines       train, interpret(_members)   JASPAR id, seed, quick (+ external motif files,    ``baselines/``
                                             library content: the additive baseline)
compare         marginalize, baselines       scored rows, seed, top k, calibration rows         ``compare/``
analyses        compare, marginalize,        — (+ library content)                              ``analyses/``
                evaluate
=============== ============================ ================================================== =================

A TF of a multi-task project (``multitask = true``; :class:`JointTask`) trains no model of its own: the first
TF's run has two more stages before ``train``, ``train_joint`` (the multi-task BPNet, ``joint_model/``; its
fingerprint holds every experiment's data) and ``train_joint_members`` (its members), and in every TF's run
``train`` and ``train_members`` write that TF's task of them (:func:`~affdist_core.model.task_views.write_task_view`)
into ``model/``; a further TF's run gets the first run's joint stamps as upstream. Every later stage is the same.

``simulate`` is present only when the plan has a simulator config; ``bam2bw`` only when the experiment's
strands are BAM files. Without a simulator config, ``train`` reads the user's files through the plan's
:class:`~affdist_core.model.data_spec.DataSpec`, whose files' identities (size, mtime) are in its fingerprint.
A plan with ``shares_model`` (a second library of the same TF in ``affdist run``) has only the library stages
(``marginalize`` … ``analyses``): its model stages ran in another run directory, whose stamps it is given as
upstream (:func:`run_stages`'s ``external``).

Every stage's fingerprint also holds the code version of the module it runs (and of what that imports), so a
changed parameter or a changed module reruns exactly the stages that depend on it. The stages' run functions
are the module-level ``_simulate`` … ``_analyses`` below (tests replace them).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

import pandas as pd

from affdist_core.common import names
from affdist_core.common.fingerprint import file_identity
from affdist_core.common.names import ModelDir, RunDir
from affdist_core.io.library import InVitroLibrary
from affdist_core.model.data_spec import DataSpec
from affdist_core.model.params import BPNetParams
from affdist_core.pipeline import train_step
from affdist_core.pipeline.method_stages import MethodSettings
from affdist_core.pipeline.stage import Stage


QUICK_CHROMS = ["chrI", "chrII", "chrIII"]
"""The chromosomes a quick run simulates (its split: :data:`~affdist_core.pipeline.train_step.QUICK_SPLIT`)."""

MODEL_STAGES = ("simulate", "bam2bw", "train", "evaluate", "interpret", "train_members", "interpret_members")
"""Stages that make the experiment's data and model (shared by every library of a TF in ``affdist run``)."""


@dataclass(frozen=True)
class JointTask:
    """This run's TF is task ``task`` of the one multi-task BPNet of a ``multitask = true`` project.

    Attributes:
        owner: the run directory that trains it (``owner/joint_model/``): the first TF's first run (task 0).
        task: this TF's task (its experiment's index).
        tfs: every task's TF, in task order.
        tracks: a user's further experiments as ``(tf, plus bigWig, minus bigWig, peaks)``, task order (tasks
            1, 2, ...); empty when simulated: the owner's ``data/`` holds every TF's experiment
            (:func:`affdist_core.simulate.run.experiment_outputs`).
    """

    owner: Path
    task: int
    tfs: tuple[str, ...]
    tracks: tuple[tuple[str, str, str, str], ...] = ()


@dataclass(frozen=True)
class RunPlan:
    """Everything a run's stages need.

    Attributes:
        run_dir: the run directory (:class:`~affdist_core.common.names.RunDir`).
        config: the resolved simulation config (the simulate stage writes ``data/``), or None for a user's files.
        library: the TF's in-vitro library.
        settings: the method settings (:class:`~affdist_core.pipeline.method_stages.MethodSettings`).
        quick: the quick sizes (training, DeepSHAP shuffles, split of a quick simulation).
        train_seed: the primary model's training seed (members: the next ones).
        data: the user's data spec (absolute paths; BAM-made bigWigs under ``data/``), None when simulated.
        params: BPNet parameters, None = the demo's :data:`~affdist_core.model.params.YEAST_COMPACT_PARAMS`.
        training: overrides of the training settings (``max_epochs``, ``patience``, ``max_minutes``,
            ``batch_size``).
        tf, core: the TF (simulated runs read them from ``config``).
        jaspar_ids: the TF's JASPAR matrix ids, first = reported (a simulated run without: its config's id).
        external_motifs: ``(method name, motif file)`` pairs compared as baselines.
        bam: BAM files converted by the bam2bw stage into ``data/plus.bw``, ``data/minus.bw``.
        min_mapq, keep_duplicates: the BAM conversion's read filters.
        shares_model: the model stages ran in another run directory (``model/`` links there).
        sim_split: the split of a simulated run when given (``(key, chromosomes)`` pairs; default the yeast split,
            or chrII/chrIII when ``quick``).
        sim_tf: the TF this run models when ``config`` simulates several TFs in the same cells (its
            ``other_tfs``); "" = the config's first TF. A further TF's run simulates the whole cell into
            ``simulation/`` and its ``data`` is a link to that TF's experiment, ``simulation/<tf>/``.
        joint: this run's TF is a task of a multi-task model (:class:`JointTask`); None = its own BPNet.
    """

    run_dir: Path
    config: dict | None
    library: InVitroLibrary
    settings: MethodSettings
    quick: bool = False
    train_seed: int = 0
    data: DataSpec | None = None
    params: BPNetParams | None = None
    training: tuple[tuple[str, object], ...] = ()
    tf: str = ""
    core: str = ""
    jaspar_ids: tuple[str, ...] = ()
    external_motifs: tuple[tuple[str, str], ...] = ()
    bam: tuple[Path, ...] = ()
    min_mapq: int = 0
    keep_duplicates: bool = False
    shares_model: bool = False
    sim_split: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sim_tf: str = ""
    joint: JointTask | None = None

    @property
    def paths(self) -> RunDir:
        return RunDir.at(self.run_dir)

    @property
    def tf_config(self) -> dict | None:
        """The one-TF simulator config of the TF this run models (None for a user's files)."""
        if self.config is None:
            return None
        from affdist_core.simulate.config import tf_configs

        configs = tf_configs(self.config)
        if not self.sim_tf:
            return configs[0]
        for config in configs:
            if config["tf"] == self.sim_tf:
                return config
        raise ValueError(f"sim_tf: {self.sim_tf!r} is not a TF of the simulation "
                         f"({', '.join(c['tf'] for c in configs)})")

    @property
    def further_tf(self) -> bool:
        """True when this run models a further TF of a several-TF simulation (its data are a link)."""
        return self.config is not None and bool(self.sim_tf) and self.sim_tf != self.config["tf"]

    @property
    def the_tf(self) -> str:
        return self.tf_config["tf"] if self.config is not None else self.tf

    @property
    def the_core(self) -> str:
        return self.tf_config["core"] if self.config is not None else self.core

    @property
    def the_jaspar_ids(self) -> tuple[str, ...]:
        if self.jaspar_ids or self.config is None or not self.tf_config.get("jaspar_id"):
            return self.jaspar_ids
        return (self.tf_config["jaspar_id"],)

    @property
    def split(self) -> dict:
        """Data-spec overrides of the training split (the quick demo's chrII/chrIII)."""
        if self.data is not None:
            return {k: list(getattr(self.data, k)) for k in ("valid_chroms", "test_chroms", "exclude_chroms")}
        if self.sim_split:
            return {k: list(v) for k, v in self.sim_split}
        return dict(train_step.QUICK_SPLIT) if self.quick else {}

    @property
    def member_seeds(self) -> list[int]:
        """Training seeds of the ensemble members (the primary model has ``train_seed``)."""
        return [self.train_seed + k for k in range(1, self.settings.n_models)]

    @property
    def n_shuffles(self) -> int:
        """Dinucleotide-shuffled references per DeepSHAP explanation."""
        return 5 if self.quick else 20

    def training_settings(self, seed: int):
        """The training settings of the model with ``seed``: the demo's, with the plan's overrides."""
        settings = train_step.training_settings(self.quick, seed)
        return replace(settings, **dict(self.training)) if self.training else settings

    def model_params(self) -> BPNetParams:
        return self.params if self.params is not None else model_params()

    def data_source(self) -> Path | DataSpec:
        """What training reads: the simulated data directory, or the user's data spec."""
        return self.data if self.data is not None else self.paths.data

    def own_spec(self) -> DataSpec:
        """The data spec of this run's TF (the simulated data directory's with the plan's split, or the user's);
        reads the data directory, so only after the data stage."""
        from affdist_core.model.data_spec import default_data_spec

        return self.data if self.data is not None else default_data_spec(self.paths.data, **self.split)

    def joint_spec(self) -> DataSpec:
        """The multi-task model's data spec (the owner run's own spec, task 0, with every further TF as an extra
        task); only for the run that trains it, after its data stage."""
        from affdist_core.model.data_spec import TaskTracks

        joint = self.joint
        if joint is None or joint.task != 0:
            raise ValueError(f"{self.run_dir}: only the first TF's run of a multi-task project trains its model")
        if self.config is None:
            extra = [TaskTracks(*tracks) for tracks in joint.tracks]
        else:
            from affdist_core.simulate.run import experiment_outputs

            first = self.config["tf"]
            extra = []
            for tf in joint.tfs[1:]:
                out = experiment_outputs(self.paths.data, tf, first)
                extra.append(TaskTracks(tf, str(out.plus_bigwig), str(out.minus_bigwig), str(out.peaks)))
        return replace(self.own_spec(), extra_tasks=tuple(extra))

    def joint_identity(self) -> dict:
        """The further tasks' user files' identities (the joint model's inputs beyond :meth:`data_identity`)."""
        if self.joint is None or self.config is not None:
            return {}
        return {f"{tf}.{key}": file_identity(path) for tf, *files in self.joint.tracks
                for key, path in zip(("plus_bigwig", "minus_bigwig", "peaks"), files)}

    @cached_property
    def library_identity(self) -> dict:
        """``{"library": digest}`` of the library's name and ``id, sequence, value`` rows."""
        frame = self.library.frame[["id", "sequence", "value"]]
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        return {"library": f"{self.library.name}:{hashlib.sha256(hashed.tobytes()).hexdigest()[:16]}"}

    def data_identity(self) -> dict:
        """``{data spec key: file identity}`` of the user's files that no stage writes (empty when simulated)."""
        if self.data is None:
            return {}
        made = {str(self.paths.data / n) for n in (names.PLUS_BIGWIG_FILE, names.MINUS_BIGWIG_FILE)} \
            if self.bam else set()
        out = {}
        for key in ("genome_fasta", "plus_bigwig", "minus_bigwig", "peaks", "control_plus_bigwig",
                    "control_minus_bigwig"):
            value = getattr(self.data, key)
            if value and value not in made:
                out[key] = file_identity(value)
        return out


DemoPlan = RunPlan
"""The demo's name of :class:`RunPlan` (kept for callers)."""


def model_params():
    """The BPNet parameters every demo model trains with (read when a stage is considered, not at import)."""
    from affdist_core.model import params

    return params.YEAST_COMPACT_PARAMS


def demo_stages(plan: RunPlan) -> list[Stage]:
    """The run's stages in order (see the module docstring's table)."""
    root, settings = plan.paths, plan.settings

    def rel(path: Path) -> str:
        return path.relative_to(root.root).as_posix()

    model = ModelDir(root.model)
    members = [ModelDir(model.member(s)) for s in plan.member_seeds]
    data_stage: tuple[str, ...] = ()
    stages = []
    if plan.config is not None:
        data_stage = ("simulate",)
        stages.append(Stage(
            "simulate", lambda: _simulate(plan),
            outputs=tuple(rel(root.data / n) for n in (names.SIMULATION_FILE, names.GENOME_FASTA_FILE,
                                                       names.PLUS_BIGWIG_FILE, names.MINUS_BIGWIG_FILE,
                                                       names.PEAKS_FILE)),
            settings=plan.config, code=("affdist_core.simulate.run",), inputs=lambda: plan.library_identity))
    elif plan.bam:
        data_stage = ("bam2bw",)
        stages.append(Stage(
            "bam2bw", lambda: _bam2bw(plan),
            outputs=tuple(rel(root.data / n) for n in (names.PLUS_BIGWIG_FILE, names.MINUS_BIGWIG_FILE)),
            settings={"min_mapq": plan.min_mapq, "keep_duplicates": plan.keep_duplicates},
            code=("affdist_core.io.bam",),
            inputs=lambda: {f"bam[{i}]": file_identity(p) for i, p in enumerate(plan.bam)}))

    def model_settings(extra: dict) -> dict:
        out = {"params": asdict(plan.model_params()), "split": plan.split, **extra}
        if plan.data is not None:
            out["data"] = plan.data.to_dict()
        return out

    if plan.joint is None:
        stages += [
            Stage("train", lambda: _train(plan), outputs=(rel(model.model), rel(model.training)), after=data_stage,
                  settings=lambda: model_settings({"training": asdict(plan.training_settings(plan.train_seed))}),
                  code=("affdist_core.pipeline.train_step",), inputs=plan.data_identity, clean=(rel(model.root),))]
    else:
        stages += _joint_stages(plan, rel, data_stage, model_settings)
    stages += [
        Stage("evaluate", lambda: _evaluate(plan), outputs=(rel(model.metrics), rel(model.counts)),
              after=("train",), code=("affdist_core.model.evaluate",)),
        Stage("interpret", lambda: _interpret(plan),
              outputs=tuple(rel(model.interpret / n) for n in (names.INTERPRET_FILE, names.CONTRIBUTIONS_FILE,
                                                               names.MOTIFS_FILE)),
              after=("train",), settings={"n_shuffles": plan.n_shuffles}, code=("affdist_core.interpret.run",)),
    ]
    member_outputs = tuple(rel(m.model) for m in members) + ((rel(model.ensemble),) if members else ())
    if plan.joint is None:
        stages.append(Stage(
            "train_members", lambda: _train_members(plan), outputs=member_outputs,
            after=("train",),  # the members share the primary model's accessibility branch
            settings=lambda: model_settings({"members": [asdict(plan.training_settings(s))
                                                         for s in plan.member_seeds]}),
            code=("affdist_core.pipeline.train_step",), inputs=plan.data_identity))
    else:
        stages.append(Stage(
            "train_members", lambda: _member_views(plan), outputs=member_outputs,
            after=("train", "train_joint_members"),
            settings={"joint_task": plan.joint.task, "members": plan.member_seeds},
            code=("affdist_core.pipeline.train_step", "affdist_core.model.task_views")))
    if members:
        stages.append(Stage(
            "interpret_members", lambda: _interpret_members(plan),
            outputs=tuple(rel(model.interpret_ensemble / n) for n in (names.INTERPRET_FILE, names.MOTIFS_FILE))
            + tuple(rel(m.interpret / names.CONTRIBUTIONS_FILE) for m in members),
            after=("interpret", "train_members"), settings={"n_shuffles": plan.n_shuffles},
            code=("affdist_core.interpret.run",)))
    if plan.shares_model:
        stages = []
    ids = plan.the_jaspar_ids  # one id: recorded as before, so earlier runs keep their baselines
    baseline_settings = {"jaspar_id": (ids[0] if len(ids) == 1 else list(ids)) if ids else None,
                         **settings.subset("seed", "quick")}
    if plan.external_motifs:
        baseline_settings["external"] = dict(plan.external_motifs)
    stages += [
        Stage("marginalize", lambda: _distill(plan),
              outputs=tuple(rel(root.distill / n) for n in (names.DISTILL_SUMMARY_FILE, names.SCORES_FILE,
                                                            names.CURVE_FILE, names.CURVE_DELTAS_FILE,
                                                            names.BACKGROUNDS_FILE, names.READOUTS_FILE)),
              after=("train", "train_members", "interpret", *(("interpret_members",) if members else ())),
              settings=settings.subset("n_scored", "n_backgrounds", "n_models", "background_pool", "quick",
                                       "curve_heldout_rows", "curve_calibration_rows", "curve_models",
                                       "calibration_rows", "seed", *settings.calibration_options()),
              code=("affdist_core.pipeline.distill_step", "affdist_core.marginalize.linear_readout",
                    "affdist_core.calibrate.readout_choice"), inputs=lambda: plan.library_identity),
        Stage("baselines", lambda: _baselines(plan),
              outputs=tuple(rel(root.baselines / n) for n in (names.BASELINES_SUMMARY_FILE, names.MOTIFS_FILE)),
              after=("train", "interpret", *(("interpret_members",) if members else ())),
              settings=baseline_settings,
              code=("affdist_core.pipeline.baselines_step",),
              inputs=lambda: {**{name: file_identity(path) for name, path in plan.external_motifs},
                              **plan.library_identity}),
        Stage("compare", lambda: _compare(plan),
              outputs=tuple(rel(root.compare / n) for n in (names.COMPARISON_FILE, names.FITS_FILE,
                                                            names.PREDICTIONS_FILE, names.SAMPLE_FILE,
                                                            names.SCORES_FILE)),
              after=("marginalize", "baselines"),
              settings=settings.subset("n_scored", "seed", "top_k", "calibration_rows",
                                       *settings.calibration_options()),
              code=("affdist_core.pipeline.compare_step",), inputs=lambda: plan.library_identity),
        Stage("analyses", lambda: _analyses(plan),
              outputs=tuple(rel(root.analyses / n) for n in (names.ANALYSES_FILE, names.DYNAMIC_RANGE_FILE,
                                                             names.GENOMIC_MATCHES_FILE)),
              after=("compare", "marginalize", "evaluate"),
              code=("affdist_core.pipeline.analyses_step",), inputs=lambda: plan.library_identity),
    ]
    return stages


# --- run functions: each writes its stage's outputs (atomically) -------------------------------------------


SIMULATION_DIR = "simulation"
"""A further TF's run directory: the whole simulated cell (its ``data`` links to ``simulation/<tf>/``)."""


def _simulate(plan: RunPlan) -> None:
    import os
    import shutil

    from affdist_core.simulate.run import experiment_outputs, simulate

    data = plan.paths.data
    if not plan.further_tf:
        if data.is_symlink():
            data.unlink()
        simulate(plan.config, data)
        return
    cell = plan.run_dir / SIMULATION_DIR
    simulate(plan.config, cell)
    own = experiment_outputs(cell, plan.sim_tf, plan.config["tf"]).directory
    if data.is_symlink() or data.is_file():
        data.unlink()
    elif data.exists():
        shutil.rmtree(data)  # an earlier one-TF simulation of this run
    link = data.with_name(data.name + ".link.tmp")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(own, data.parent))
    os.replace(link, data)


def _bam2bw(plan: RunPlan) -> None:
    from affdist_core.io.bam import bam_to_bigwigs
    from affdist_core.io.fasta import GenomeReader

    reader = GenomeReader(plan.data.genome_fasta)
    try:
        sizes = dict(reader.chrom_sizes)
    finally:
        reader.close()
    bam_to_bigwigs(list(plan.bam), sizes, plan.paths.data / names.PLUS_BIGWIG_FILE,
                   plan.paths.data / names.MINUS_BIGWIG_FILE, min_mapq=plan.min_mapq,
                   keep_duplicates=plan.keep_duplicates)


def _train(plan: RunPlan) -> None:
    train_step.train_model(plan.data_source(), plan.paths.model, plan.model_params(), plan.split,
                           plan.training_settings(plan.train_seed), enforce_learning=not plan.quick)


def _evaluate(plan: RunPlan) -> None:
    from affdist_core.model.evaluate import evaluate_model_dir

    evaluate_model_dir(plan.paths.model)


def _interpret(plan: RunPlan) -> None:
    from affdist_core.interpret.run import interpret_model_dir

    interpret_model_dir(plan.paths.model, n_shuffles=plan.n_shuffles)


def _interpret_members(plan: RunPlan) -> None:
    from affdist_core.interpret.run import interpret_ensemble

    interpret_ensemble(plan.paths.model, n_shuffles=plan.n_shuffles)


def _train_members(plan: RunPlan) -> None:
    train_step.train_members(plan.data_source(), plan.paths.model, plan.model_params(), plan.split, plan.quick,
                             plan.member_seeds, training=dict(plan.training))


def _joint_stages(plan: RunPlan, rel, data_stage: tuple[str, ...], model_settings) -> list[Stage]:
    """A multi-task project's model stages before ``evaluate`` (the module docstring): in the first TF's run
    ``train_joint`` and ``train_joint_members``; in every TF's run ``train``, its task of the joint model."""
    joint, model = plan.joint, ModelDir(plan.paths.model)
    view_code = ("affdist_core.pipeline.train_step", "affdist_core.model.task_views")
    stages = []
    if joint.task == 0:
        shared = ModelDir(plan.paths.joint_model)
        members = [ModelDir(shared.member(s)) for s in plan.member_seeds]

        def joint_settings(extra: dict) -> dict:
            return model_settings({"tasks": list(joint.tfs), "data": plan.joint_spec().to_dict(), **extra})

        def identity() -> dict:
            return {**plan.data_identity(), **plan.joint_identity()}

        stages += [
            Stage("train_joint", lambda: _train_joint(plan), outputs=(rel(shared.model), rel(shared.training)),
                  after=data_stage,
                  settings=lambda: joint_settings({"training": asdict(plan.training_settings(plan.train_seed))}),
                  code=("affdist_core.pipeline.train_step",), inputs=identity, clean=(rel(shared.root),)),
            Stage("train_joint_members", lambda: _train_joint_members(plan),
                  outputs=tuple(rel(m.model) for m in members) + ((rel(shared.ensemble),) if members else ()),
                  after=("train_joint",),
                  settings=lambda: joint_settings({"members": [asdict(plan.training_settings(s))
                                                               for s in plan.member_seeds]}),
                  code=("affdist_core.pipeline.train_step",), inputs=identity)]
    stages.append(Stage(
        "train", lambda: _task_view(plan), outputs=(rel(model.model), rel(model.training)),
        after=(*data_stage, "train_joint"), settings={"joint_task": joint.task, "tasks": list(joint.tfs)},
        code=view_code, inputs=plan.data_identity, clean=(rel(model.root),)))
    return stages


def _joint_dir(plan: RunPlan) -> Path:
    return RunDir.at(plan.joint.owner).joint_model


def _train_joint(plan: RunPlan) -> None:
    train_step.train_model(plan.joint_spec(), plan.paths.joint_model, plan.model_params(), plan.split,
                           plan.training_settings(plan.train_seed), enforce_learning=not plan.quick)


def _train_joint_members(plan: RunPlan) -> None:
    train_step.train_members(plan.joint_spec(), plan.paths.joint_model, plan.model_params(), plan.split,
                             plan.quick, plan.member_seeds, training=dict(plan.training))


def _task_view(plan: RunPlan) -> None:
    train_step.write_task_views(_joint_dir(plan), plan.joint.task, plan.paths.model, plan.own_spec())


def _member_views(plan: RunPlan) -> None:
    train_step.write_task_views(_joint_dir(plan), plan.joint.task, plan.paths.model, plan.own_spec(),
                                member_seeds=plan.member_seeds)


def _distill(plan: RunPlan) -> None:
    from affdist_core.pipeline.distill_step import run_distill

    run_distill(plan.run_dir, plan.library, plan.settings)


def _baselines(plan: RunPlan) -> None:
    from affdist_core.pipeline.baselines_step import run_baselines

    run_baselines(plan.run_dir, plan.the_jaspar_ids, plan.settings, external=dict(plan.external_motifs) or None,
                  library_sequences=plan.library.frame["sequence"].tolist())


def _compare(plan: RunPlan) -> None:
    from affdist_core.pipeline.compare_step import run_compare

    run_compare(plan.run_dir, plan.library, plan.settings)


def _analyses(plan: RunPlan) -> None:
    from affdist_core.pipeline.analyses_step import run_analyses

    run_analyses(plan.run_dir, plan.library)
