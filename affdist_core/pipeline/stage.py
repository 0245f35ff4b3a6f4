"""One Stage abstraction and one staleness rule for every step of a run.

A :class:`Stage` is a name, the files it writes (relative to the run directory), a fingerprint of everything it
reads and a run function that writes its outputs atomically. The fingerprint has four parts:

``settings``  the stage's resolved settings (JSON);
``code``      :func:`affdist_core.common.fingerprint.code_version` of the modules it runs (and what they import);
``inputs``    identities of files or data it reads that no stage writes (e.g. the library's content);
``upstream``  the *stamp* of each stage it depends on — a new stamp every time that stage ran.

:func:`run_stages` runs the stages in order and reruns a stage when — the one rule — its fingerprint differs from
the one recorded when it last finished, an output is missing, or ``force`` is given; otherwise it logs
``stage X: done already``. A rerun stage gets a new stamp, so every stage downstream of it reruns as well,
and only those: a changed parameter reruns exactly the stages that depend on it. The records are kept in
``<run_dir>/stages.json`` (:data:`~affdist_core.common.names.STAGES_FILE`), written atomically after every
stage; a stage's record is removed before it runs, so an interrupted stage always runs again (its run function
resumes what can be resumed: training from its checkpoint, distillation from its last chunk). The wall time of
each stage when it last ran is kept in ``stage_times.json``.

:func:`plan_stages` takes the same decisions without running anything (``affdist run --dry-run``): a stage
downstream of one that will run is planned "after <stage> reruns". Both take ``external`` stamps: stages that
ran in another run directory (the model stages that ``affdist run`` shares between the libraries of one TF) and
that stages here list in ``after`` (:func:`recorded_stamps` reads them).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from affdist_core.common.atomic import write_json
from affdist_core.common.fingerprint import code_version, digest
from affdist_core.common.names import RunDir

log = logging.getLogger(__name__)

Lazy = Callable[[], Mapping[str, Any]] | Mapping[str, Any]


@dataclass(frozen=True)
class Stage:
    """One step of a run.

    Attributes:
        name: unique within a run (the key in ``stages.json``, ``stage_times.json`` and the report's timings).
        run: writes the outputs (atomically); its return value is ignored — later steps read the files.
        outputs: files the stage writes, relative to the run directory; all must exist for a skip.
        after: names of the earlier stages whose outputs this one reads.
        settings: the resolved settings (JSON-able), or a function returning them (called just before the
            stage is considered, i.e. after its upstream stages ran).
        code: dotted names of the modules the stage runs; their code versions (and their imports') count.
        inputs: ``{name: identity}`` of data no stage writes (or a function returning it).
        clean: paths (relative to the run directory) deleted before a *forced* run, so it starts afresh.
    """

    name: str
    run: Callable[[], Any]
    outputs: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    settings: Lazy = field(default_factory=dict)
    code: tuple[str, ...] = ()
    inputs: Lazy = field(default_factory=dict)
    clean: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageOutcome:
    """What :func:`run_stages` did with one stage: ``ran``, ``reason`` (why it ran; "" when skipped),
    ``seconds`` (this invocation's wall time)."""

    ran: bool
    reason: str
    seconds: float


def fingerprint_parts(stage: Stage, stamps: Mapping[str, str]) -> dict[str, Any]:
    """The stage's fingerprint parts now: settings, code, inputs, upstream stamps (``stamps``: name → stamp of
    the stages already considered in this run)."""
    missing = [name for name in stage.after if name not in stamps]
    if missing:
        raise ValueError(f"stage {stage.name}: after {missing}: expected stages that come earlier in the list; "
                         f"order the stages so that every stage follows the ones it reads")
    return {"settings": _resolve(stage.settings), "code": code_version(stage.code),
            "inputs": dict(_resolve(stage.inputs)), "upstream": {name: stamps[name] for name in stage.after}}


@dataclass(frozen=True)
class StagePlan:
    """What :func:`run_stages` would do with one stage: ``run`` (bool) and ``reason`` (why it runs, or why it
    is skipped: "done already")."""

    name: str
    run: bool
    reason: str


def plan_stages(stages: Sequence[Stage], run_dir: str | Path, *, force: bool = False,
                external: Mapping[str, str | None] | None = None) -> list[StagePlan]:
    """The decisions :func:`run_stages` would take, without running anything.

    A stage whose upstream stage will run is planned "after <stage> reruns" (its new stamp is not known yet).
    ``external``: stamps of stages that ran in another run directory (as for :func:`run_stages`); None for one
    that will rerun there.
    """
    _check_unique(stages)
    paths = RunDir.at(run_dir)
    records = _read(paths.stages)
    stamps: dict[str, str] = {k: v for k, v in (external or {}).items() if v is not None}
    rerun = {k for k, v in (external or {}).items() if v is None}
    plans = []
    for stage in stages:
        reruns = [name for name in stage.after if name in rerun]
        if force:
            reason = "--force"
        elif reruns:
            reason = f"after {', '.join(reruns)} {'reruns' if len(reruns) == 1 else 'rerun'}"
        else:
            missing = [name for name in stage.after if name not in stamps]
            if missing:
                raise ValueError(f"stage {stage.name}: after {missing}: expected stages that come earlier in the "
                                 f"list; order the stages so that every stage follows the ones it reads")
            parts = fingerprint_parts(stage, stamps)
            reason = _stale(stage, paths.root, parts, digest(parts), records.get(stage.name))
        if reason:
            rerun.add(stage.name)
            if reason != "--force" and not reruns and stage.name in records:
                reason = f"rerun because {reason}"
            plans.append(StagePlan(stage.name, True, reason))
        else:
            stamps[stage.name] = records[stage.name]["stamp"]
            plans.append(StagePlan(stage.name, False, "done already"))
    return plans


def recorded_stamps(run_dir: str | Path) -> dict[str, str]:
    """``{stage: stamp}`` of the finished stages recorded in ``run_dir`` (for another run's ``external``)."""
    return {name: record["stamp"] for name, record in _read(RunDir.at(run_dir).stages).items()}


def _check_unique(stages: Sequence[Stage]) -> None:
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f"stages: expected unique names, got {names}")


def run_stages(stages: Sequence[Stage], run_dir: str | Path, *, force: bool = False,
               logger: logging.Logger | None = None,
               external: Mapping[str, str] | None = None) -> dict[str, StageOutcome]:
    """Run (or skip) ``stages`` in order in ``run_dir`` (see the module docstring); returns the outcome per stage.

    ``external``: ``{stage: stamp}`` of stages that ran in another run directory (e.g. the model stages that
    ``affdist run`` shares between the libraries of one TF); stages here may list them in ``after``.
    Raises ValueError for duplicate names or a stage listed after one it depends on.
    """
    logger = logger or log
    _check_unique(stages)
    paths = RunDir.at(run_dir)
    records = _read(paths.stages)
    times = _read(paths.stage_times)
    stamps: dict[str, str] = dict(external or {})
    outcomes: dict[str, StageOutcome] = {}
    for stage in stages:
        started = time.perf_counter()
        parts = fingerprint_parts(stage, stamps)
        fingerprint = digest(parts)
        reason = "--force" if force else _stale(stage, paths.root, parts, fingerprint, records.get(stage.name))
        if not reason:
            logger.info("stage %s: done already", stage.name)
            stamps[stage.name] = records[stage.name]["stamp"]
            outcomes[stage.name] = StageOutcome(False, "", time.perf_counter() - started)
            times.setdefault(stage.name, outcomes[stage.name].seconds)
            continue
        logger.info("stage %s: %s", stage.name,
                    f"rerun because {reason}" if stage.name in records else f"run ({reason})")
        records.pop(stage.name, None)
        write_json(paths.stages, records)  # an interrupted stage has no record: it runs again
        if force:
            for relative in stage.clean:
                _remove(paths.root / relative)
        stage.run()
        missing = [o for o in stage.outputs if not (paths.root / o).exists()]
        if missing:
            raise RuntimeError(f"stage {stage.name}: finished without writing {missing}")
        finished = datetime.now(timezone.utc).isoformat()
        stamps[stage.name] = digest([fingerprint, finished])
        records[stage.name] = {"fingerprint": fingerprint, "stamp": stamps[stage.name], "finished_at": finished,
                               "parts": parts}
        seconds = time.perf_counter() - started
        times[stage.name] = seconds
        outcomes[stage.name] = StageOutcome(True, reason, seconds)
        write_json(paths.stages, records)
        write_json(paths.stage_times, times)
    write_json(paths.stage_times, times)
    return outcomes


def _stale(stage: Stage, root: Path, parts: dict, fingerprint: str, record: dict | None) -> str:
    """Why ``stage`` must run ("" when it need not)."""
    if record is None:
        return "no record of a finished run"
    missing = [o for o in stage.outputs if not (root / o).exists()]
    if missing:
        return f"output(s) missing: {', '.join(missing[:3])}" + (" …" if len(missing) > 3 else "")
    if record.get("fingerprint") == fingerprint:
        return ""
    return describe_change(record.get("parts", {}), parts) or "its fingerprint changed"


def describe_change(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """Which parts of a fingerprint changed, in words: settings keys (old → new), code modules, inputs,
    upstream stages."""
    said = []
    settings = _differences(before.get("settings", {}), now.get("settings", {}))
    if settings:
        said.append("settings changed (" + "; ".join(settings[:3]) + (" …" if len(settings) > 3 else "") + ")")
    for part, what in (("code", "code changed in"), ("inputs", "input changed:"),
                       ("upstream", "upstream stage reran:")):
        old, new = before.get(part, {}), now.get(part, {})
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if changed:
            said.append(f"{what} {', '.join(changed[:3])}" + (" …" if len(changed) > 3 else ""))
    return "; ".join(said)


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(key, "<absent>"), new.get(key, "<absent>"), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} → {new!r}"]


def _resolve(value: Lazy) -> Any:
    value = value() if callable(value) else value
    return json.loads(json.dumps(value, default=str))  # JSON form, so records compare with what was stored


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
