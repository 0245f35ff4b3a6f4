"""The package dependency order (``affdist_core.PACKAGE_ORDER``), the Keras boundary
(``affdist_core.KERAS_FREE_PACKAGES``) and the absence of import cycles, checked on every import of the tree.

Every ``.py`` file of ``affdist_core/``, ``app/`` and ``pages/`` is parsed with :mod:`ast`; every import counts —
module level, inside functions, inside ``if``/``try``/``TYPE_CHECKING`` blocks — and ``from affdist_core.p import m``
is resolved to the submodule ``affdist_core.p.m`` when ``m`` is one. The checker works on any tree, so a
self-test runs it on a synthetic package with a planted back-edge, Keras import and cycle.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import affdist_core

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGES = ("app", "pages")
FORBIDDEN_LIBRARIES = ("keras", "tensorflow", "tf_keras", "shap")
#: the modules at the top of the core package that belong to the last group of the order
TOP_LEVEL_MODULES = {"cli": "cli", "__main__": "cli"}


@dataclasses.dataclass(frozen=True)
class Import:
    source: str  # dotted module name of the importing file
    path: Path
    line: int
    target: str  # dotted name as resolved (a module of the tree, or an external name)
    function_level: bool  # inside a function body
    runtime: bool  # executed when the source module is imported (module level, not under TYPE_CHECKING)

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


# ----------------------------------------------------------------------------------------------------------
# collecting imports


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, path: Path, modules: set[str]):
        self.module, self.is_package, self.path, self.modules = module, is_package, path, modules
        self.depth = 0  # function nesting
        self.type_checking = 0
        self.found: list[Import] = []

    def _add(self, node: ast.AST, target: str) -> None:
        self.found.append(Import(self.module, self.path, node.lineno, target, self.depth > 0,
                                 self.depth == 0 and self.type_checking == 0))

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(node, candidate if candidate in self.modules else base)


def collect_imports(root: Path, packages: tuple[str, ...]) -> tuple[set[str], list[Import]]:
    """(every module of the tree, every import of it) for the top-level packages ``packages`` under ``root``."""
    files = {}
    for package in packages:
        if (root / package).is_dir():
            for path in sorted((root / package).rglob("*.py")):
                if "__pycache__" not in path.parts:
                    files[_module_name(path, root)] = path
    modules = set(files)
    imports = []
    for module, path in files.items():
        collector = _Collector(module, path.name == "__init__.py", path, modules)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        imports.extend(collector.found)
    return modules, list(dict.fromkeys(imports))  # `from m import a, b`: one import of m


# ----------------------------------------------------------------------------------------------------------
# the three rules


def _group(module: str, core: str) -> str | None:
    """The order group of a module of the core package (None for the package root itself)."""
    parts = module.split(".")
    if parts[0] != core or len(parts) == 1:
        return None
    return TOP_LEVEL_MODULES.get(parts[1], parts[1])


def order_violations(imports: list[Import], root: Path, core: str, order: tuple[str, ...],
                     app_packages: tuple[str, ...] = APP_PACKAGES) -> list[str]:
    """Imports of a later package of ``order`` (or of the app) from the core package."""
    rank = {name: i for i, name in enumerate(order)}
    out = []
    for imp in imports:
        source_group = _group(imp.source, core)
        if imp.source.split(".")[0] != core:
            continue  # the app may import anything of the core package
        if imp.target.split(".")[0] in app_packages:
            out.append(f"{imp.where(root)} → {imp.target} (the core package must not import the app)")
            continue
        target_group = _group(imp.target, core)
        if imp.target.split(".")[0] != core or source_group is None or target_group is None:
            continue
        if source_group not in rank or target_group not in rank:
            unknown = source_group if source_group not in rank else target_group
            out.append(f"{imp.where(root)} → {imp.target} (package {unknown!r} is not in the order {order})")
        elif rank[target_group] > rank[source_group]:
            out.append(f"{imp.where(root)} → {imp.target} ({source_group} comes before {target_group})")
    return out


def _is_forbidden(target: str) -> bool:
    return target.split(".")[0] in FORBIDDEN_LIBRARIES


def direct_keras_violations(imports: list[Import], root: Path, core: str, keras_free: tuple[str, ...]) -> list[str]:
    """Keras / TensorFlow / SHAP imported by a module of a Keras-free package."""
    return [f"{imp.where(root)} → {imp.target}" for imp in imports
            if _group(imp.source, core) in keras_free and _is_forbidden(imp.target)]


def _loads_forbidden(imports: list[Import], modules: set[str]) -> dict[str, list[str]]:
    """{module: chain of modules to a forbidden library} for every module whose import loads one (following
    runtime imports, and the parent packages that importing a submodule runs)."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        if imp.runtime:
            edges[imp.source].add(imp.target)
    for m in modules:
        parts = m.split(".")
        edges[m].update(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in modules)
    chain: dict[str, list[str]] = {}

    def visit(m: str, seen: set[str]) -> list[str] | None:
        if m in chain:
            return chain[m] or None
        seen.add(m)
        for target in sorted(edges.get(m, ())):
            if _is_forbidden(target):
                chain[m] = [target]
                return chain[m]
            if target in modules and target not in seen:
                found = visit(target, seen)
                if found:
                    chain[m] = [target] + found
                    return chain[m]
        return None

    for m in sorted(modules):
        if visit(m, set()) is None:
            chain.setdefault(m, [])
    return {m: c for m, c in chain.items() if c}


def indirect_keras_violations(imports: list[Import], modules: set[str], root: Path, core: str,
                              keras_free: tuple[str, ...]) -> list[str]:
    """Imports (any level) by a Keras-free package of a module of the tree that loads Keras / TF / SHAP."""
    loads = _loads_forbidden(imports, modules)
    return [f"{imp.where(root)} → {imp.target} (loads {' → '.join(loads[imp.target])})" for imp in imports
            if _group(imp.source, core) in keras_free and imp.target in loads]


def import_cycles(imports: list[Import], modules: set[str], root: Path) -> list[str]:
    """Every import cycle between modules of the tree (module- and function-level edges), one line each with
    the import that closes each step."""
    edge_at: dict[tuple[str, str], Import] = {}
    for imp in imports:
        if imp.target in modules and imp.target != imp.source:
            edge_at.setdefault((imp.source, imp.target), imp)
    graph: dict[str, list[str]] = {m: [] for m in modules}
    for a, b in edge_at:
        graph[a].append(b)
    # Tarjan's strongly connected components, iteratively
    index, low, on_stack, stack, sccs, counter = {}, {}, set(), [], [], [0]
    for start in sorted(modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    sccs.append(sorted(component))
    out = []
    for component in sorted(sccs):
        inside = set(component)
        steps = [f"{edge_at[(a, b)].where(root)} → {b}" for a in component for b in sorted(graph[a]) if b in inside]
        out.append(f"cycle between {', '.join(component)}: " + "; ".join(steps))
    return out


# ----------------------------------------------------------------------------------------------------------
# the tree


@pytest.fixture(scope="module")
def tree() -> tuple[set[str], list[Import]]:
    return collect_imports(ROOT, ("affdist_core",) + APP_PACKAGES)


def _fail_with(what: str, offenders: list[str]) -> None:
    if offenders:
        pytest.fail(f"{len(offenders)} {what}:\n" + "\n".join(offenders), pytrace=False)


def test_the_order_names_every_subpackage():
    core = ROOT / "affdist_core"
    packages = {p.name for p in core.iterdir() if (p / "__init__.py").is_file()}
    groups = packages | set(TOP_LEVEL_MODULES.values())
    assert set(affdist_core.PACKAGE_ORDER) == groups, "PACKAGE_ORDER must list every subpackage exactly once"
    assert len(set(affdist_core.PACKAGE_ORDER)) == len(affdist_core.PACKAGE_ORDER)
    assert set(affdist_core.KERAS_FREE_PACKAGES) <= packages
    top = {p.stem for p in core.glob("*.py")} - {"__init__"}
    assert top <= set(TOP_LEVEL_MODULES), f"modules at the top of affdist_core outside the order: {top}"


def test_no_import_goes_against_the_package_order(tree):
    modules, imports = tree
    _fail_with("import(s) against affdist_core.PACKAGE_ORDER",
               order_violations(imports, ROOT, "affdist_core", affdist_core.PACKAGE_ORDER))


def test_keras_free_packages_do_not_import_keras(tree):
    modules, imports = tree
    _fail_with("direct import(s) of Keras/TensorFlow/SHAP in a Keras-free package",
               direct_keras_violations(imports, ROOT, "affdist_core", affdist_core.KERAS_FREE_PACKAGES))


def test_keras_free_packages_do_not_import_modules_that_load_keras(tree):
    modules, imports = tree
    _fail_with("import(s) of a module that loads Keras/TensorFlow/SHAP from a Keras-free package",
               indirect_keras_violations(imports, modules, ROOT, "affdist_core", affdist_core.KERAS_FREE_PACKAGES))


def test_no_import_cycles(tree):
    modules, imports = tree
    _fail_with("import cycle(s)", import_cycles(imports, modules, ROOT))


# ----------------------------------------------------------------------------------------------------------
# the checker can fail


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_flags_back_edges_keras_and_cycles(tmp_path):
    _write(tmp_path, {
        "core/__init__.py": "",
        "core/cli.py": "from core.low import a\n",
        "core/low/__init__.py": "",
        "core/low/a.py": "import numpy\n\ndef f():\n    from core.high import b  # back-edge, function level\n",
        "core/low/c.py": "from core.mid import heavy\n",  # keras through a module that loads it
        "core/low/d.py": "from . import e\n",
        "core/low/e.py": "def g():\n    from core.low.d import x\n",  # cycle d → e → d
        "core/mid/__init__.py": "",
        "core/mid/heavy.py": "import keras\n",
        "core/mid/light.py": "def h():\n    import keras\n",
        "core/high/__init__.py": "",
        "core/high/b.py": "from core.low import a\nfrom core.mid import light\nimport app.main\n",
        "core/high/t.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tensorflow\n",
        "app/__init__.py": "",
        "app/main.py": "from core.high import b\n",
    })
    modules, imports = collect_imports(tmp_path, ("core", "app"))
    assert "core.low.a" in modules and "app.main" in modules
    order = ("low", "mid", "high", "cli")

    back = order_violations(imports, tmp_path, "core", order, app_packages=("app",))
    assert back == ["core/high/b.py:3 → app.main (the core package must not import the app)",
                    "core/low/a.py:4 → core.high.b (low comes before high)",
                    "core/low/c.py:1 → core.mid.heavy (low comes before mid)"]
    assert order_violations(imports, tmp_path, "core", ("low", "mid", "high"), app_packages=("app",))[0].startswith(
        "core/cli.py:1 → core.low.a (package 'cli' is not in the order")

    assert direct_keras_violations(imports, tmp_path, "core", ("low", "high")) == ["core/high/t.py:3 → tensorflow"]
    indirect = indirect_keras_violations(imports, modules, tmp_path, "core", ("low", "high"))
    assert indirect == ["core/low/c.py:1 → core.mid.heavy (loads keras)"]  # light.py loads keras only when called

    cycles = import_cycles(imports, modules, tmp_path)
    assert len(cycles) == 2
    assert cycles[0] == ("cycle between app.main, core.high.b, core.low.a: app/main.py:1 → core.high.b; "
                         "core/high/b.py:3 → app.main; core/high/b.py:1 → core.low.a; "
                         "core/low/a.py:4 → core.high.b")
    assert cycles[1] == ("cycle between core.low.d, core.low.e: core/low/d.py:1 → core.low.e; "
                         "core/low/e.py:2 → core.low.d")
