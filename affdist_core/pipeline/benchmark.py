"""``affdist benchmark PANEL.toml``: one fixed pipeline over a panel of simulated worlds × simulation seeds.

A panel file names the pipeline (a project file with a ``[simulate]`` section, or ``"default"``, the built-in
default project), the simulation seeds, and the worlds — each a set of simulator settings merged over the
project's ``[simulate] overrides`` (:mod:`affdist_core.simulate.config` documents every key)::

    [panel]
    project = "default"            # the fixed pipeline; relative paths start at the panel file
    seeds = [1, 2]                 # simulation seeds of every world
    out = "runs/panel"             # default: runs/<panel file stem> next to the panel file
    catalog = "runs/panel/catalog.duckdb"   # default: <out>/catalog.duckdb
    quick = false                  # the project's quick sizes (smoke tests)
    results = "results/panel"      # optional: a folder that keeps every finished run's report.json (small; version
                                   # it with the panel file, and the tables rebuild without rerunning: --table)

    [[world]]
    name = "yeast"                 # letters, digits, - and _
    overrides = {}
    [[world]]
    name = "gc-open"
    overrides = { accessibility = { mechanism = "gc" } }
    [[world]]
    name = "cbf1-landscape"
    project = "panel_project_cbf1.toml"   # another TF landscape: a world may name its own project

Every world × seed is an ``affdist run`` of the project (fingerprinted stages: a rerun skips what is done)
into ``<out>/<world>/seed<k>/``, recorded in one catalog under run ids ``<world>-s<k>-<tf>-<library>``.
:func:`panel_table` then reads each run's ``report.json`` into one table — per world, seed and method the
held-out Pearson, RMSE and sd ratio, with ``affinity_distillation_1`` (the primary model's own AD: the
equal-budget comparison with MoDISco, which reads that one model) next to the ensemble's — and
:func:`summarise` gives per world the mean ± sd over seeds, AD's rank by RMSE (one model and ensemble) and
the count of worlds where AD has the lowest RMSE; both are written to ``<out>/panel.json`` and ``panel.md``
and recorded in the catalog (``analyses`` row ``benchmark_panel`` of run id ``panel:<panel file stem>``), where
the app's Benchmark page reads them.

With ``results``, every finished run's ``report.json`` is also copied to ``<results>/<world>/seed<k>/<run>.json``;
:func:`panel_table` reads a world × seed from there when its run folder has no report (a fresh clone, another
machine), so ``affdist benchmark PANEL --table`` rebuilds the tables and the catalog record from the kept
reports without running anything.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affdist_core.common.atomic import write_json, write_text
from affdist_core.common.names import AD_METHOD
from affdist_core.pipeline.project import ProjectError

log = logging.getLogger(__name__)

PANEL_ANALYSIS = "benchmark_panel"
"""The ``analyses`` name of a panel's record in the catalog."""
AD_ONE_MODEL = f"{AD_METHOD}_1"
"""The method name of the primary model's own AD score in the panel table."""
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_PANEL_KEYS = ("project", "seeds", "out", "catalog", "quick", "results")
_WORLD_KEYS = ("name", "overrides", "project")


@dataclass(frozen=True)
class World:
    """One world of a panel: its ``name``, simulator ``overrides`` and its own ``project`` (None: the panel's)."""

    name: str
    overrides: Mapping[str, Any]
    project: Path | None = None


@dataclass(frozen=True)
class Panel:
    """A parsed panel file (see the module docstring)."""

    path: Path
    project: Path
    seeds: tuple[int, ...]
    worlds: tuple[World, ...]
    out: Path
    catalog: Path
    quick: bool = False
    results: Path | None = None

    def run_dir(self, world: World, seed: int) -> Path:
        return self.out / world.name / f"seed{seed}"

    def results_dir(self, world: World, seed: int) -> Path | None:
        """Where the kept reports of one world × seed are (None: the panel keeps none)."""
        return None if self.results is None else self.results / world.name / f"seed{seed}"

    @staticmethod
    def run_id_prefix(world: World, seed: int) -> str:
        return f"{world.name}-s{seed}-"


def load_panel(path: str | os.PathLike) -> Panel:
    """Read and check a panel file; :class:`~affdist_core.pipeline.project.ProjectError` lists every problem."""
    from affdist_core.pipeline.project import default_project_path

    path = Path(path).resolve()
    if not path.is_file():
        raise ProjectError(path, [f"panel file: {path} does not exist; see benchmarks/panel.toml"])
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ProjectError(path, [f"panel file: not valid TOML ({err}); fix the syntax"]) from None
    problems: list[str] = []
    for key in set(data) - {"panel", "world"}:
        problems.append(f"{key}: unknown key; a panel file has [panel] and [[world]] tables")
    panel = data.get("panel", {})
    if not isinstance(panel, dict):
        problems.append("panel: expected a table [panel]")
        panel = {}
    for key in set(panel) - set(_PANEL_KEYS):
        problems.append(f"panel.{key}: unknown key; valid keys: {', '.join(_PANEL_KEYS)}")
    project_text = panel.get("project", "default")
    project = default_project_path() if project_text == "default" else (path.parent / str(project_text)).resolve()
    if not project.is_file():
        problems.append(f"panel.project: {project} does not exist; give a project file with a [simulate] "
                        f"section, or \"default\"")
    seeds = panel.get("seeds", [1])
    if not (isinstance(seeds, list) and seeds and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                      for s in seeds) and len(set(seeds)) == len(seeds)):
        problems.append(f"panel.seeds: expected a list of distinct integers >= 0, got {seeds!r}")
        seeds = [1]
    quick = panel.get("quick", False)
    if not isinstance(quick, bool):
        problems.append(f"panel.quick: expected true or false, got {quick!r}")
    out = (path.parent / str(panel.get("out", Path("runs") / path.stem))).resolve()
    catalog = (path.parent / str(panel["catalog"])).resolve() if "catalog" in panel else out / "catalog.duckdb"
    results = (path.parent / str(panel["results"])).resolve() if "results" in panel else None
    worlds = []
    raw_worlds = data.get("world", [])
    if not isinstance(raw_worlds, list) or not raw_worlds:
        problems.append("world: expected at least one [[world]] table (name, overrides)")
        raw_worlds = []
    for i, raw in enumerate(raw_worlds):
        key = f"world[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{key}: expected a table")
            continue
        for name in set(raw) - set(_WORLD_KEYS):
            problems.append(f"{key}.{name}: unknown key; valid keys: {', '.join(_WORLD_KEYS)}")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"{key}.name: expected letters, digits, - and _ (it names folders and run ids), got "
                            f"{name!r}")
            continue
        overrides = raw.get("overrides", {})
        if not isinstance(overrides, dict):
            problems.append(f"{key}.overrides: expected a table of simulator settings, got {overrides!r}")
            continue
        own = None
        if "project" in raw:
            own = (path.parent / str(raw["project"])).resolve()
            if not own.is_file():
                problems.append(f"{key}.project: {own} does not exist; give a project file with a [simulate] "
                                f"section")
                continue
        worlds.append(World(name, overrides, own))
    names = [w.name for w in worlds]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"world: the name {name!r} is used {names.count(name)} times; give each world its own")
    if problems:
        raise ProjectError(path, problems)
    result = Panel(path, project, tuple(seeds), tuple(worlds), out, catalog, quick, results)
    for world in result.worlds:  # every world's project must be valid (simulator keys included)
        for seed in result.seeds:
            try:
                _world_project(result, world, seed)
            except (ProjectError, ValueError) as err:
                problems.append(f"world {world.name!r} (seed {seed}): {err}")
            break
    if problems:
        raise ProjectError(path, problems)
    return result


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` merged in, tables recursively."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _world_project(panel: Panel, world: World, seed: int):
    """The project of one world × seed: the panel's project with the world's simulator overrides and ``seed``,
    its output in :meth:`Panel.run_dir` and the panel's catalog (its simulator config checked)."""
    from affdist_core.pipeline.project import parse_project
    from affdist_core.simulate.config import resolve_config

    project = world.project or panel.project
    data = tomllib.loads(project.read_text(encoding="utf-8"))
    if "simulate" not in data:
        raise ProjectError(project, ["simulate: a panel's project simulates its data; add a [simulate] section"])
    simulate = dict(data["simulate"])
    simulate["overrides"] = _merge(_merge(simulate.get("overrides", {}), world.overrides), {"seed": seed})
    resolve_config(simulate["overrides"], preset=simulate.get("preset", "pho4-yeast"))  # ValueError names the key
    data["simulate"] = simulate
    data["output"] = {"dir": str(panel.run_dir(world, seed)), "catalog": str(panel.catalog)}
    if panel.quick:
        data["quick"] = True
    return parse_project(data, project)


def run_panel(panel: Panel | str | os.PathLike, *, dry_run: bool = False, worlds: list[str] | None = None,
              seeds: list[int] | None = None, table_only: bool = False) -> dict[str, Any]:
    """Run (or with ``dry_run`` plan) every world × seed of the panel (``worlds``, ``seeds``: only these; seeds
    run in the outer loop, so a panel stopped part-way has whole seeds done), then write ``panel.json`` and
    ``panel.md`` under the panel's ``out`` (over every finished run and kept report; ``table_only``: run
    nothing, only rebuild these). Returns ``{"plan": text}`` or ``{"table": DataFrame, "summary": DataFrame,
    "paths": [json, md]}``."""
    from affdist_core.pipeline.run import run_project

    panel = panel if isinstance(panel, Panel) else load_panel(panel)
    chosen = [w for w in panel.worlds if worlds is None or w.name in worlds]
    unknown = [f"--world {name}: no such world; worlds: {', '.join(w.name for w in panel.worlds)}"
               for name in sorted(set(worlds or ()) - {w.name for w in panel.worlds})]
    unknown += [f"--seed {seed}: not a seed of the panel; seeds: {', '.join(map(str, panel.seeds))}"
                for seed in sorted(set(seeds or ()) - set(panel.seeds))]
    if unknown:
        raise ProjectError(panel.path, unknown)
    plans = []
    for seed in [s for s in panel.seeds if (seeds is None or s in seeds) and not table_only]:
        for world in chosen:
            log.info("panel: world %s, seed %d", world.name, seed)
            project = _world_project(panel, world, seed)
            result = run_project(project, dry_run=dry_run, run_id_prefix=panel.run_id_prefix(world, seed))
            if dry_run:
                plans.append(f"# world {world.name}, seed {seed}\n{result['plan']}")
            else:
                keep_reports(panel, world, seed)
    if dry_run:
        return {"plan": "\n".join(plans)}
    table = panel_table(panel)
    summary = summarise(table)
    paths = write_panel(panel, table, summary)
    return {"table": table, "summary": summary, "paths": paths}


def _run_reports(panel: Panel, world: World, seed: int) -> list[tuple[str, Path]]:
    """``(run, report path)`` of one world × seed: its run folder's reports, else the kept ones."""
    found = [(p.parent.name, p) for p in sorted(panel.run_dir(world, seed).glob("*/report.json"))]
    kept = panel.results_dir(world, seed)
    if not found and kept is not None:
        found = [(p.stem, p) for p in sorted(kept.glob("*.json"))]
    return found


def keep_reports(panel: Panel, world: World, seed: int) -> list[Path]:
    """Copy one world × seed's finished ``report.json`` files into the panel's ``results`` folder (atomic
    writes; nothing when the panel keeps none). Returns the written paths."""
    kept = panel.results_dir(world, seed)
    if kept is None:
        return []
    return [write_text(kept / f"{p.parent.name}.json", p.read_text())
            for p in sorted(panel.run_dir(world, seed).glob("*/report.json"))]


def panel_table(panel: Panel) -> pd.DataFrame:
    """One row per world × seed × run × method from every finished run's ``report.json`` (or the panel's kept
    copy): ``world, seed, run, method, pearson, rmse, sd_ratio, n_heldout`` (``affinity_distillation_1``: the
    primary model's own AD)."""
    rows = []
    for world in panel.worlds:
        for seed in panel.seeds:
            for run, report_path in _run_reports(panel, world, seed):
                report = json.loads(report_path.read_text())
                entries = dict(report["methods"])
                members = report.get("ensemble_members")
                entries[AD_ONE_MODEL] = members[0] if members else report["methods"][AD_METHOD]
                for method, entry in entries.items():
                    paired = entry.get("ad_minus_rmse") or {}
                    lo, hi = paired.get("ci95", (np.nan, np.nan))
                    rows.append({"world": world.name, "seed": seed, "run": run, "method": method,
                                 "pearson": entry.get("pearson", np.nan), "rmse": entry.get("rmse", np.nan),
                                 "sd_ratio": entry.get("sd_ratio", np.nan),
                                 "n_heldout": report["methods"][AD_METHOD].get("n_heldout"),
                                 "ad_minus_rmse": paired.get("diff", np.nan), "ad_minus_lo": lo,
                                 "ad_minus_hi": hi})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


TABLE_COLUMNS = ["world", "seed", "run", "method", "pearson", "rmse", "sd_ratio", "n_heldout", "ad_minus_rmse",
                 "ad_minus_lo", "ad_minus_hi"]
"""Columns of :func:`panel_table`; ``ad_minus_*``: RMSE(the run's AD) − RMSE(method) on the run's held-out rows
and its paired-bootstrap 95 % interval (NaN for AD itself and for reports written before issue 25)."""

#: Methods that read nothing of the run's in-vivo data (a database matrix): AD must match them, not only beat
#: the methods learned from the same reads.
PRIOR_METHODS = ("jaspar",)


def ad_differences(table: pd.DataFrame) -> pd.DataFrame:
    """Per world × run, AD's RMSE minus three comparators' — ``best_other`` (the non-AD method of lowest mean
    RMSE), ``best_in_vivo`` (the same among methods learned from the run's in-vivo data, i.e. all but
    :data:`PRIOR_METHODS`) and ``jaspar`` — with ``diff_mean`` / ``diff_sd`` over seeds, ``hi_max`` / ``lo_min``
    (the widest paired-bootstrap bounds over seeds), ``better`` (every seed's interval below 0: AD wins beyond
    the noise of the held-out rows) and ``worse`` (every seed's interval above 0)."""
    out = []
    others = table[~table["method"].isin([AD_METHOD, AD_ONE_MODEL])]
    for (world, run), group in others.groupby(["world", "run"], sort=False):
        means = group.groupby("method")["rmse"].mean()
        in_vivo = means.drop([m for m in PRIOR_METHODS if m in means.index])
        picks = {"best_other": means.idxmin(), "best_in_vivo": in_vivo.idxmin() if len(in_vivo) else None,
                 "jaspar": "jaspar" if "jaspar" in means.index else None}
        for comparator, method in picks.items():
            if method is None:
                continue
            rows = group[group["method"] == method]
            diff = rows["ad_minus_rmse"].to_numpy(dtype=float)
            lo, hi = rows["ad_minus_lo"].to_numpy(dtype=float), rows["ad_minus_hi"].to_numpy(dtype=float)
            known = bool(np.isfinite(hi).all()) and len(rows) > 0
            out.append({"world": world, "run": run, "comparator": comparator, "method": method,
                        "diff_mean": float(np.mean(diff)), "diff_sd": float(np.std(diff, ddof=1)) if len(diff) > 1
                        else np.nan, "lo_min": float(np.min(lo)), "hi_max": float(np.max(hi)),
                        "n_seeds": int(len(rows)), "better": known and bool((hi < 0).all()),
                        "worse": known and bool((lo > 0).all())})
    return pd.DataFrame(out, columns=["world", "run", "comparator", "method", "diff_mean", "diff_sd", "lo_min",
                                      "hi_max", "n_seeds", "better", "worse"])


def difference_lines(differences: pd.DataFrame) -> list[str]:
    """Markdown: per world, AD − comparator RMSE (mean ± sd over seeds, the widest paired-bootstrap 95 %
    interval over seeds) and whether AD is better or worse beyond that noise; then the counts."""
    if differences.empty:
        return []
    lines = ["AD − comparator held-out RMSE (negative: AD closer); mean ± sd over seeds [widest 95 % paired "
             "bootstrap interval over seeds]; *better* / *worse* only when every seed's interval excludes 0.", "",
             "| world | best other | best in vivo | JASPAR |", "|---|---|---|---|"]
    for (world, run), group in differences.groupby(["world", "run"], sort=False):
        cells = []
        for comparator in ("best_other", "best_in_vivo", "jaspar"):
            row = group[group["comparator"] == comparator]
            if row.empty:
                cells.append("—")
                continue
            r = row.iloc[0]
            verdict = " *better*" if r.better else " *worse*" if r.worse else ""
            cells.append(f"{r.method}: {_pm(r.diff_mean, r.diff_sd, 4)} [{r.lo_min:+.4f}, {r.hi_max:+.4f}]{verdict}")
        lines.append(f"| {world} ({run}) | " + " | ".join(cells) + " |")
    n = differences[["world", "run"]].drop_duplicates().shape[0]
    count = {c: int(differences[(differences["comparator"] == c) & differences["better"]].shape[0])
             for c in ("best_other", "best_in_vivo", "jaspar")}
    lines += ["", f"AD better beyond noise than every in-vivo method in {count['best_in_vivo']} of {n} worlds, "
              f"than JASPAR in {count['jaspar']} of {n}, than every other method in {count['best_other']} of {n}."]
    return lines


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Per world × run × method: ``pearson_mean, pearson_sd, rmse_mean, rmse_sd, sd_ratio_mean, n_seeds`` (sd
    over seeds, ddof 1; NaN for one seed) and ``rank`` — the method's rank by mean RMSE among the motif methods
    and the AD it is compared with (AD ensemble ranked against the motif methods, AD one model likewise; 1 =
    lowest RMSE)."""
    if table.empty:
        return pd.DataFrame(columns=["world", "run", "method", "pearson_mean", "pearson_sd", "rmse_mean",
                                     "rmse_sd", "sd_ratio_mean", "n_seeds", "rank"])
    grouped = table.groupby(["world", "run", "method"], sort=False)
    summary = grouped.agg(pearson_mean=("pearson", "mean"), pearson_sd=("pearson", "std"),
                          rmse_mean=("rmse", "mean"), rmse_sd=("rmse", "std"),
                          sd_ratio_mean=("sd_ratio", "mean"), n_seeds=("seed", "nunique")).reset_index()
    ranks = []
    for _, group in summary.groupby(["world", "run"], sort=False):
        motifs = group[~group["method"].isin([AD_METHOD, AD_ONE_MODEL])]
        for row in group.itertuples():
            field = motifs["rmse_mean"].to_numpy()
            if row.method in (AD_METHOD, AD_ONE_MODEL):
                ranks.append(int(1 + np.sum(field < row.rmse_mean)))
            else:  # a motif method ranks against the other motif methods and the one-model AD
                one = group.loc[group["method"] == AD_ONE_MODEL, "rmse_mean"].to_numpy()
                ranks.append(int(1 + np.sum(np.r_[field, one] < row.rmse_mean)))
    summary["rank"] = ranks
    return summary


def ad_wins(summary: pd.DataFrame, method: str = AD_ONE_MODEL) -> tuple[int, int]:
    """(worlds × runs where ``method`` has rank 1, worlds × runs in all)."""
    rows = summary[summary["method"] == method]
    return int((rows["rank"] == 1).sum()), int(len(rows))


def format_markdown(panel: Panel, summary: pd.DataFrame, table: pd.DataFrame | None = None) -> str:
    """The panel's tables as Markdown: per world, every method's mean ± sd over seeds and its rank."""
    one, total = ad_wins(summary, AD_ONE_MODEL)
    ens, _ = ad_wins(summary, AD_METHOD)
    lines = [f"# Benchmark panel `{panel.path.name}`", "",
             f"Seeds {', '.join(map(str, panel.seeds))}; project `{panel.project.name}`"
             + (" (quick)" if panel.quick else "") + ".", "",
             f"AD has the lowest held-out RMSE in {one} of {total} worlds at equal budget (one model, the one "
             f"MoDISco reads) and in {ens} of {total} with its ensemble.", ""]
    lines += overview_table(summary) + [""]
    if table is not None:
        lines += difference_lines(ad_differences(table)) + [""]
    for (world, run), group in summary.groupby(["world", "run"], sort=False):
        lines += [f"## {world} — {run}", "", "| method | Pearson | RMSE | sd ratio | rank |", "|---|---|---|---|---|"]
        for row in group.sort_values("rmse_mean").itertuples():
            lines.append(f"| {row.method} | {_pm(row.pearson_mean, row.pearson_sd, 3)} | "
                         f"{_pm(row.rmse_mean, row.rmse_sd, 4)} | {row.sd_ratio_mean:.3f} | {row.rank} |")
        lines.append("")
    return "\n".join(lines)


def overview_table(summary: pd.DataFrame) -> list[str]:
    """Markdown lines of one row per world × run: each method's held-out Pearson / RMSE (mean ± sd over seeds),
    the lowest RMSE in bold, and the one-model AD's rank; methods in the order of their mean rank over the
    panel (AD first)."""
    if summary.empty:
        return []
    order = (summary[~summary["method"].isin([AD_METHOD, AD_ONE_MODEL])].groupby("method")["rank"].mean()
             .sort_values(kind="stable").index.tolist())
    methods = [m for m in (AD_ONE_MODEL, AD_METHOD) if m in set(summary["method"])] + order
    lines = ["| world | " + " | ".join(methods) + " | AD rank (one model) |",
             "|---|" + "---|" * (len(methods) + 1)]
    for (world, run), group in summary.groupby(["world", "run"], sort=False):
        rows = group.set_index("method")
        best = rows["rmse_mean"].min()
        cells = []
        for method in methods:
            if method not in rows.index:
                cells.append("—")
                continue
            row = rows.loc[method]
            text = f"{_pm(row.pearson_mean, row.pearson_sd, 3)} / {_pm(row.rmse_mean, row.rmse_sd, 4)}"
            cells.append(f"**{text}**" if row.rmse_mean == best else text)
        rank = rows.loc[AD_ONE_MODEL, "rank"] if AD_ONE_MODEL in rows.index else "—"
        n_ranked = int((~rows.index.isin([AD_METHOD])).sum())
        lines.append(f"| {world} ({run}) | " + " | ".join(cells) + f" | {rank} of {n_ranked} |")
    return lines


def panel_run_id(panel: Panel) -> str:
    """The catalog run id a panel's record is kept under: ``panel:<panel file stem>``."""
    return f"panel:{panel.path.stem}"


def record_panel(panel: Panel, payload: dict, json_path: Path) -> None:
    """Replace the panel's ``analyses`` row in its catalog (one transaction)."""
    from affdist_core.catalog.schema import insert_frame, open_catalog

    with open_catalog(panel.catalog) as catalog, catalog.transaction() as con:
        con.execute("DELETE FROM analyses WHERE run_id = ? AND name = ?", [panel_run_id(panel), PANEL_ANALYSIS])
        insert_frame(con, "analyses", pd.DataFrame({
            "run_id": [panel_run_id(panel)], "library": [""], "name": [PANEL_ANALYSIS],
            "payload": [json.dumps(payload, default=str)], "table_path": [str(json_path)]}))


def _pm(mean: float, sd: float, digits: int) -> str:
    return f"{mean:.{digits}f}" + ("" if not np.isfinite(sd) else f" ± {sd:.{digits}f}")


def write_panel(panel: Panel, table: pd.DataFrame, summary: pd.DataFrame) -> list[Path]:
    """``<out>/panel.json`` (the table, the summary and the win counts) and ``<out>/panel.md``; every finished
    run's report is kept in ``results`` too."""
    for world in panel.worlds:
        for seed in panel.seeds:
            keep_reports(panel, world, seed)
    one, total = ad_wins(summary, AD_ONE_MODEL)
    ens, _ = ad_wins(summary, AD_METHOD)
    payload = {"panel": str(panel.path), "project": str(panel.project), "seeds": list(panel.seeds),
               "quick": panel.quick,
               "worlds": {w.name: {"overrides": dict(w.overrides), "project": str(w.project or panel.project)}
                          for w in panel.worlds},
               "ad_lowest_rmse": {"one_model": one, "ensemble": ens, "of": total},
               "ad_differences": json.loads(ad_differences(table).to_json(orient="records")),
               "summary": json.loads(summary.to_json(orient="records")),
               "table": json.loads(table.to_json(orient="records"))}
    paths = [write_json(panel.out / "panel.json", payload),
             write_text(panel.out / "panel.md", format_markdown(panel, summary, table) + "\n")]
    record_panel(panel, payload, paths[0])
    log.info("panel: AD lowest RMSE in %d/%d worlds (one model), %d/%d (ensemble); %s", one, total, ens, total,
             paths[1])
    return paths
