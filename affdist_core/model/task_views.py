"""One task of a multi-task model directory written as a single-task model directory (issue 26).

A project with ``multitask = true`` trains one BPNet whose task ``t`` is its ``t``-th experiment (TF). Every
tool after training — evaluation, the learning check, DeepSHAP, MoDISco, marginalization, the catalog, the
app — reads a single-task model directory. :func:`write_task_view` makes one: the model is
:func:`~affdist_core.model.bpnet.task_view` of the joint model (its outputs equal the joint model's channels
of task ``t``, tested to 1e-5), the parameters are the joint model's, the data spec is the TF's own one-task
spec, and ``training.json`` is the joint training's record plus ``"joint_model"`` (where the joint model
lives, which task this is, every task's name), so the report and the catalog say the model is shared.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from affdist_core.common.atomic import write_json
from affdist_core.common.names import ModelDir
from affdist_core.model.data_spec import DataSpec, load_data_spec, save_data_spec
from affdist_core.model.params import load_params, save_params

log = logging.getLogger(__name__)


def write_task_view(joint_dir: str | os.PathLike, task: int, out_dir: str | os.PathLike,
                    spec: DataSpec | None = None) -> Path:
    """Write task ``task`` of the finished multi-task model in ``joint_dir`` as a single-task model directory
    ``out_dir`` (model, params, data spec, input contract, training record, history); returns ``out_dir``.

    ``spec``: the task's data spec as its own run reads it (default: the joint spec's
    :meth:`~affdist_core.model.data_spec.DataSpec.task_spec`); its genome, control and split must be the joint
    spec's and its strand tracks must hold the same reads (a ``ValueError`` names the difference otherwise).
    A learning check of the joint model is not copied: the view gets its own, on its task's peaks."""
    from affdist_core.model.bpnet import load_model, model_n_tasks, save_model, task_view

    joint, out = ModelDir.at(joint_dir), ModelDir.at(out_dir)
    if not joint.model.is_file():
        raise ValueError(f"{joint.root}: no finished multi-task model ({joint.model.name}); train it first")
    params = load_params(joint.params)
    joint_spec = load_data_spec(joint.data_spec)
    own = joint_spec.task_spec(task)
    spec = own if spec is None else spec
    _check_same_task(spec, own, joint.root, task)
    model = load_model(joint.model)
    n_tasks = model_n_tasks(model)
    if n_tasks != joint_spec.n_tasks:
        raise ValueError(f"{joint.root}: the model has {n_tasks} task(s) but its data spec {joint_spec.n_tasks}; "
                         "retrain it")
    out.root.mkdir(parents=True, exist_ok=True)
    out.learning_check.unlink(missing_ok=True)
    save_params(params, out.params)
    save_data_spec(spec, out.data_spec)
    save_model(task_view(model, task, params), out.model)
    record = json.loads(joint.training.read_text()) if joint.training.is_file() else {}
    record["joint_model"] = {"dir": str(joint.root.resolve()), "task": task, "tasks": joint_spec.task_names()}
    if joint.history.is_file():
        write_json(out.history, json.loads(joint.history.read_text()))
    write_json(out.training, record)
    log.info("%s: task %d (%s) of the multi-task model %s", out.root, task, joint_spec.task_names()[task],
             joint.root)
    return out.root


def _check_same_task(spec: DataSpec, own: DataSpec, joint_dir: Path, task: int) -> None:
    """``spec`` is task ``task``'s data: the joint spec's genome, control and split, and strand tracks and peaks
    of the same content (the same file, or files of equal size: a further TF's run may hold its own copy of a
    simulated cell)."""
    shared = ("valid_chroms", "test_chroms", "exclude_chroms")
    differ = [k for k in shared if tuple(getattr(spec, k)) != tuple(getattr(own, k))]
    for key in ("genome_fasta", "control_plus_bigwig", "control_minus_bigwig", "plus_bigwig", "minus_bigwig",
                "peaks"):
        a, b = getattr(spec, key), getattr(own, key)
        if bool(a) != bool(b) or (a and not _same_file(a, b)):
            differ.append(key)
    if differ:
        raise ValueError(f"{joint_dir}: task {task}'s data ({', '.join(differ)}) differ from the run's own data spec; "
                         "the multi-task model was trained on other data — retrain it (affdist run reruns it)")


def _same_file(a: str, b: str) -> bool:
    pa, pb = Path(a), Path(b)
    if pa.resolve() == pb.resolve():
        return True
    return pa.is_file() and pb.is_file() and pa.stat().st_size == pb.stat().st_size
