"""Fingerprints: short, stable digests of settings, files and code, for deciding whether work can be reused.

* :func:`digest` — of any JSON-able value (keys sorted), 16 hex characters;
* :func:`file_identity` — of a file's size and modification time (what ``make`` trusts, without reading it);
* :func:`code_version` — of the source of modules of this package and every ``affdist_core`` module they import
  (function-level imports too), with docstrings and comments left out, so a change in what the code *does*
  changes the version and a reworded docstring does not.

Used by :mod:`affdist_core.pipeline.stage` (when a stage reruns) and :mod:`affdist_core.model.train` (when a
checkpoint may be resumed).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from affdist_core.common.atomic import _json_default  # the one JSON fallback (numpy values, paths)

PACKAGE = "affdist_core"
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def digest(value: Any) -> str:
    """sha256 (first 16 hex characters) of ``value`` as canonical JSON (sorted keys; paths and numpy values as
    their JSON form)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_identity(path: str | os.PathLike) -> str:
    """``"<size>:<mtime_ns>"`` of a file, or ``"missing"``: changes when the file is rewritten."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return "missing"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def code_version(modules: Iterable[str]) -> dict[str, str]:
    """``{module: digest of its code}`` for ``modules`` (dotted ``affdist_core`` names) and every module of this
    package they import, directly or not; sorted by name.

    Raises ValueError for a name that is not a module of this package.
    """
    seen: dict[str, str] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_path(name)
        if path is None:
            raise ValueError(f"modules: expected modules of {PACKAGE}, got {name!r} (no such file under "
                             f"{_PACKAGE_ROOT})")
        code, imports = _parse(path, name)
        seen[name] = code
        todo.extend(i for i in imports if i not in seen)
    return dict(sorted(seen.items()))


def _module_path(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = _PACKAGE_ROOT.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=None)
def _parse_cached(path: str, mtime_ns: int, name: str) -> tuple[str, tuple[str, ...]]:
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    imports = tuple(sorted(_imports(tree, name, Path(path).name == "__init__.py")))
    _strip_docstrings(tree)
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:16], imports


def _parse(path: Path, name: str) -> tuple[str, tuple[str, ...]]:
    return _parse_cached(str(path), path.stat().st_mtime_ns, name)


def _imports(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """The ``affdist_core`` modules imported anywhere in ``tree`` (``from pkg import mod`` resolves to the module
    when ``mod`` is one, else to ``pkg``)."""
    found = set()
    package = name if is_package else name.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if _module_path(sub) is not None else source)
    return {m for m in found if _module_path(m) is not None}


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
