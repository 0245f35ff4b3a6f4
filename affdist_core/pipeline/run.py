"""``affdist run PROJECT.toml``: every stage for every experiment × library of a project file, into one catalog.

:func:`run_project` reads the project (:mod:`affdist_core.pipeline.project`), validates every file before any
compute (:mod:`affdist_core.pipeline.project_checks`), turns each experiment × library of that TF into one
:class:`~affdist_core.pipeline.demo_stages.RunPlan` (:func:`project_plans`) and runs its stages
(:func:`affdist_core.pipeline.stage.run_stages`) in ``<output.dir>/<tf>-<library>/`` (lower-case TF), then
writes the run's ``report.json`` and records it in the one catalog (``output.catalog``) under the same id.

The model is shared between the libraries of one TF: the **first** library's run directory trains it (its
``data/`` and ``model/`` hold the experiment's files and BPNets, as in ``affdist demo``); each later library's
run directory gets ``model`` and ``data`` symbolic links to those and runs only the library stages
(``marginalize``, ``baselines``, ``compare``, ``analyses``), whose fingerprints hold the first run's model
stamps, so a retrained model reruns them too. ``dry_run`` prints the plan: each run directory, each stage
"run" or "skip" with the reason (:func:`affdist_core.pipeline.stage.plan_stages`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from affdist_core.pipeline.demo_stages import MODEL_STAGES, QUICK_CHROMS, JointTask, RunPlan, demo_stages
from affdist_core.pipeline.finish import finish_run
from affdist_core.pipeline.method_stages import MethodSettings, method_settings
from affdist_core.pipeline.project import Experiment, Library, Project
from affdist_core.pipeline.stage import plan_stages, recorded_stamps, run_stages

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ProjectRun:
    """One run directory of a project: its plan, its catalog id, and the run directory whose model it
    shares (None when it trains its own)."""

    plan: RunPlan
    run_id: str
    experiment: Experiment
    library: Library
    owner: Path | None = None


def run_dir_name(tf: str, library: str) -> str:
    """The run directory (and catalog run id) of one TF × library: ``<tf lower-case>-<library>``."""
    return f"{tf.lower()}-{library}"


def project_plans(project: Project, out: str | os.PathLike | None = None,
                  run_id_prefix: str = "") -> list[ProjectRun]:
    """One :class:`ProjectRun` per experiment × library of its TF, in file order (the first library of each
    TF trains the model; later ones share it). ``out`` replaces ``[output] dir``; ``run_id_prefix`` goes in
    front of every catalog run id (projects sharing one catalog, e.g. the worlds of a benchmark panel)."""
    out_dir = Path(out).resolve() if out is not None else project.output.dir
    runs = []
    for experiment in project.experiments:
        owner = None
        for library_entry in project.libraries_of(experiment.tf):
            run_dir = out_dir / run_dir_name(experiment.tf, library_entry.name)
            plan = _plan(project, experiment, library_entry, run_dir, shares_model=owner is not None)
            if project.multitask and owner is None:
                plan = dataclasses.replace(plan, joint=_joint_task(project, experiment, out_dir))
            runs.append(ProjectRun(plan, run_id_prefix + run_dir.name, experiment, library_entry, owner))
            owner = owner or run_dir
    return runs


def _joint_task(project: Project, experiment: Experiment, out_dir: Path) -> JointTask:
    """The task of ``experiment`` in a multi-task project's model, trained in the first TF's first run."""
    first = project.experiments[0]
    owner = out_dir / run_dir_name(first.tf, project.libraries_of(first.tf)[0].name)
    tracks = () if project.simulate is not None else tuple(
        (e.tf, str(e.plus), str(e.minus), str(e.peaks)) for e in project.experiments[1:])
    return JointTask(owner=owner, task=experiment.index, tfs=tuple(e.tf for e in project.experiments),
                     tracks=tracks)


def _plan(project: Project, experiment: Experiment, entry: Library, run_dir: Path, shares_model: bool) -> RunPlan:
    """The resolved plan of one experiment × library (files read: the library and the params JSON)."""
    from affdist_core.io.library import load_library, resolve_library
    from affdist_core.model.params import PARAM_PRESETS, load_params

    library = resolve_library(entry.path) if entry.builtin else load_library(
        entry.path, name=entry.name, sequence_col=entry.sequence_col, value_col=entry.value_col,
        id_col=entry.id_col, category_col=entry.category_col, units=entry.units)
    if entry.builtin and library.name != entry.name:
        library = dataclasses.replace(library, name=entry.name)
    params = None
    if experiment.params is not None or experiment.model != "yeast-compact":
        preset = PARAM_PRESETS[experiment.model]
        params = load_params(experiment.params, defaults=preset) if experiment.params is not None else preset
    training = tuple((k, getattr(experiment, k)) for k in ("max_epochs", "patience", "max_minutes", "batch_size")
                     if getattr(experiment, k) is not None)
    common: dict[str, Any] = dict(
        run_dir=run_dir, library=library, settings=_method_settings(project, experiment), quick=project.quick,
        train_seed=experiment.seed, params=params, training=training, tf=experiment.tf, core=experiment.core,
        jaspar_ids=project.motifs.jaspar.get(experiment.tf, ()), shares_model=shares_model,
        external_motifs=_external_motifs(project, experiment.tf))
    if project.simulate is not None:
        split = tuple((k, tuple(getattr(experiment, k))) for k in ("valid_chroms", "test_chroms", "exclude_chroms")
                      if getattr(experiment, k))
        config = simulation_config(project)
        return RunPlan(config=config, sim_split=split,
                       sim_tf=experiment.tf if config.get("other_tfs") else "", **common)
    from affdist_core.common import names
    from affdist_core.model.data_spec import DataSpec
    from affdist_core.pipeline.project_checks import genome_fasta

    data_dir = run_dir.parent / run_dir_name(experiment.tf, project.libraries_of(experiment.tf)[0].name) / "data"
    plus, minus = ((data_dir / names.PLUS_BIGWIG_FILE, data_dir / names.MINUS_BIGWIG_FILE) if experiment.bam
                   else (experiment.plus, experiment.minus))
    spec = DataSpec(genome_fasta=str(genome_fasta(project)), plus_bigwig=str(plus), minus_bigwig=str(minus),
                    peaks=str(experiment.peaks), control_plus_bigwig=str(experiment.control_plus or ""),
                    control_minus_bigwig=str(experiment.control_minus or ""),
                    valid_chroms=experiment.valid_chroms or (), test_chroms=experiment.test_chroms or (),
                    exclude_chroms=experiment.exclude_chroms)
    return RunPlan(config=None, data=spec, bam=experiment.bam, min_mapq=experiment.min_mapq,
                   keep_duplicates=experiment.keep_duplicates, **common)


def simulation_config(project: Project) -> dict:
    """The simulator config of a ``[simulate]`` project: preset ← overrides ← the first experiment's TF, its
    energy library (:func:`energy_library`), JASPAR id, core and genome. Every further experiment is a further
    TF in the same cells (``other_tfs``): its library, JASPAR id and core from the project, its own energy and
    reads settings from the overrides' ``other_tfs`` entry of that TF when there is one."""
    from affdist_core.simulate.config import resolve_config

    first, *others = project.experiments
    user: dict[str, Any] = {k: v for k, v in project.simulate.overrides.items() if k != "other_tfs"}
    user.update(_tf_keys(project, first))
    if project.genome.fasta is not None:
        user["genome_fasta"] = str(project.genome.fasta)
    if project.quick and "chroms" not in user and project.genome.fasta is None:
        user["chroms"] = QUICK_CHROMS  # the built-in genome's quick subset; a user's FASTA is simulated whole
    settings = {entry["tf"]: entry for entry in project.simulate.overrides.get("other_tfs", ())}
    if others:
        user["other_tfs"] = [{**settings.get(e.tf, {}), **_tf_keys(project, e)} for e in others]
    return resolve_config(user, preset=project.simulate.preset)


def energy_library(project: Project, tf: str) -> Library:
    """The library a simulated TF's energy model comes from: its first library
    (:meth:`~affdist_core.pipeline.project.Project.libraries_of`: one that names ``tf`` first if any)."""
    return project.libraries_of(tf)[0]


def _tf_keys(project: Project, experiment: Experiment) -> dict[str, Any]:
    """One TF's own simulator keys from the project: name, energy library (and its columns), JASPAR id, core."""
    library = energy_library(project, experiment.tf)
    out: dict[str, Any] = {"tf": experiment.tf, "library": library.path if library.builtin else str(library.path)}
    if not library.builtin:
        out["library_sequence_col"], out["library_value_col"] = library.sequence_col, library.value_col
    if experiment.tf in project.motifs.jaspar:
        out["jaspar_id"] = project.motifs.jaspar[experiment.tf][0]
    if experiment.core:
        out["core"] = experiment.core
    return out


def _method_settings(project: Project, experiment: Experiment) -> MethodSettings:
    d, c = project.distill, project.calibration
    settings = method_settings(project.quick, d.n_scored is None,
                               None if d.n_scored in (None, "default") else d.n_scored, d.n_backgrounds,
                               experiment.models)
    changes: dict[str, Any] = {}
    if d.background_pool is not None:
        changes["background_pool"] = d.background_pool
    if d.seed:
        changes["seed"] = d.seed
    if d.workers:
        changes["workers"] = d.workers
    if d.scheduler:
        changes["scheduler"] = d.scheduler
    if c.n is not None:
        changes["calibration_rows"] = c.n
    if c.fraction is not None:
        changes["calibration_fraction"] = c.fraction
    if c.ids is not None:
        from affdist_core.io.user_text import parse_id_list

        changes["calibration_ids"] = tuple(parse_id_list(c.ids.read_bytes(), c.ids.name))
    if c.seed is not None:
        changes["calibration_seed"] = c.seed
    return dataclasses.replace(settings, **changes)


def _external_motifs(project: Project, tf: str) -> tuple[tuple[str, str], ...]:
    """``(method name, path)`` of the TF's motif files: the file's stem (made unique)."""
    out: list[tuple[str, str]] = []
    for path in project.motifs.files.get(tf, ()):
        stem = path.name.split(".")[0]
        name, k = stem, 2
        while name in {n for n, _ in out}:
            name, k = f"{stem}_{k}", k + 1
        out.append((name, str(path)))
    return tuple(out)


def _stages(run: ProjectRun):
    return demo_stages(run.plan)


JOINT_STAGES = ("train_joint", "train_joint_members")
"""The stages of a multi-task project's shared model (its first TF's run); every other TF's run reads them."""


def _external(run: ProjectRun, will_rerun: set[str] | None = None) -> dict[str, str | None]:
    """Stamps of the stages that ran in another run directory (None for those that will rerun): the owner's
    model stages for a run that shares its model, the joint model's stages for a further TF of a multi-task
    project."""
    joint = run.plan.joint
    if run.owner is not None:
        source, wanted = run.owner, MODEL_STAGES
    elif joint is not None and joint.task > 0:
        source, wanted = joint.owner, JOINT_STAGES
    else:
        return {}
    out: dict[str, str | None] = {k: v for k, v in recorded_stamps(source).items() if k in wanted}
    for name in will_rerun or ():
        if name in wanted:
            out[name] = None
    return out


def _joint_note(joint: JointTask | None) -> str:
    if joint is None:
        return ""
    if joint.task == 0:
        return f" (trains the multi-task model of {', '.join(joint.tfs)}; task 0)"
    return f" (task {joint.task} of the multi-task model of {joint.owner.name})"


def _source(run: ProjectRun) -> Path | None:
    """The run directory whose stages this run reads (:func:`_external`), or None."""
    if run.owner is not None:
        return run.owner
    joint = run.plan.joint
    return joint.owner if joint is not None and joint.task > 0 else None


def format_plan(runs: list[ProjectRun], force: bool = False) -> str:
    """The dry-run plan: per run directory, every stage ``run`` or ``skip`` and why."""
    lines: list[str] = []
    rerun_of: dict[Path, set[str]] = {}
    for run in runs:
        source = _source(run)
        external = _external(run, rerun_of.get(source) if source else None)
        plans = plan_stages(_stages(run), run.plan.run_dir, force=force, external=external)
        rerun_of[run.plan.run_dir] = {p.name for p in plans if p.run}
        shared = f" (model shared with {run.owner.name})" if run.owner else _joint_note(run.plan.joint)
        lines.append(f"{run.plan.run_dir}{shared}:")
        width = max(len(p.name) for p in plans)
        for p in plans:
            lines.append(f"  {p.name:<{width}}  {'run ' if p.run else 'skip'}  {p.reason}")
    return "\n".join(lines)


def run_project(project: str | os.PathLike | Project, out: str | os.PathLike | None = None, *,
                dry_run: bool = False, force: bool = False, overrides: Mapping[str, Any] | None = None,
                run_id_prefix: str = "") -> dict[str, Any]:
    """Validate the project, then run (or with ``dry_run`` only plan) every run directory.

    Returns ``{"plan": text}`` for a dry run, else ``{"reports": {run_id: report}, "catalog": path}``.
    Raises :class:`~affdist_core.pipeline.project.ProjectError` (every problem, nothing written) for a bad
    project file.
    """
    from affdist_core.pipeline.project_checks import check_project, validate_project

    if isinstance(project, Project):
        check_project(project)
    else:
        project = validate_project(project, overrides)
    runs = project_plans(project, out, run_id_prefix)
    if dry_run:
        return {"plan": format_plan(runs, force)}
    done = []
    for run in runs:
        started = datetime.now(timezone.utc)
        run_dir = run.plan.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        if run.owner is not None:
            _link_shared(run.owner, run_dir)
        log.info("run %s: TF %s, library %s%s", run.run_id, run.experiment.tf, run.library.name,
                 f" (model of {run.owner.name})" if run.owner else "")
        outcomes = run_stages(_stages(run), run_dir, force=force, logger=log, external=_external(run))
        done.append((run, started, {name: outcome.seconds for name, outcome in outcomes.items()}))
    from affdist_core.pipeline.paralogs_step import write_paralogs

    write_paralogs([(r.experiment.tf, r.plan.run_dir, r.plan.library.frame) for r in runs if r.owner is None])
    reports = {}
    for run, started, timings in done:  # reports and catalog rows once every run (and the paralogs) is done
        reports[run.run_id] = finish_run(
            run.plan, project.output.catalog, run.run_id, timings, started, command=f"affdist run {project.path}",
            config={"project": str(project.path), "experiment": _jsonable(run.experiment),
                    "library": _jsonable(run.library)},
            seeds={"training": run.experiment.seed, "distill": run.plan.settings.seed})
    return {"reports": reports, "catalog": str(project.output.catalog)}


def _link_shared(owner: Path, run_dir: Path) -> None:
    """``run_dir/model`` and ``run_dir/data`` as relative links to the owner run's (the shared model)."""
    from affdist_core.common.names import DATA_DIR, RUN_MODEL_DIR

    for name in (RUN_MODEL_DIR, DATA_DIR):
        link = run_dir / name
        target = os.path.relpath(owner / name, run_dir)
        if link.is_symlink() and os.readlink(link) == target:
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            raise ValueError(f"{link}: a folder where the link to the shared model of {owner.name} belongs; "
                             f"remove it (this run directory shares the model of {owner.name})")
        link.symlink_to(target, target_is_directory=True)


def _jsonable(entry: Any) -> dict:
    return {k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(entry).items()}
