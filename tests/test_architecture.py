"""The kit's shape, kept so (issue 24): no import cycle among nnkit's modules, and no module over
350 lines without a written reason at its top.

The import graph is read from the source (ast), never by importing: a module -> each nnkit module
it imports.

* Every import counts, wherever it is written: at the top, inside a function or a method, under
  `try`. A function-level import is still a dependency; writing it inside a function only moves
  the moment the cycle bites (a half-initialised module at the first call instead of at import).
* Except under ``if TYPE_CHECKING:``: those never run, they name types for annotations.
* An edge goes to the module named. ``from nnkit.a import b`` goes to ``nnkit.a.b`` when that is
  a module or package of its own, else to ``nnkit.a`` (b is a name defined there). Importing a
  submodule also runs its package's ``__init__`` first, but that is not an edge: a package that
  imports its own submodules is not a cycle unless a submodule imports a name from the package.
* Relative imports are resolved against the importing module.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "nnkit"
MAX_LINES = 350
# A module over MAX_LINES says why in its first lines, e.g. "Over 350 lines: one table per ...".
LENGTH_REASON = re.compile(r"^[ \t]*(?:#[ \t]*|[rRuU]?(?:\"{3}|'{3}))?over 350 lines\b[ \t]*[:(,-]?[ \t]*\S",
                           re.IGNORECASE | re.MULTILINE)
REASON_WITHIN_LINES = 15


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (a package is its ``__init__.py``)."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Every Import / ImportFrom node, at any depth, except those under ``if TYPE_CHECKING:``."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            todo.extend(node.orelse)   # the `else:` branch does run
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (see the module docstring for what counts)."""
    files = module_files(root)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in files else module
                           for alias in node.names]
            for target in targets:
                while target and target not in files:   # `import nnkit.a.b` of a name: its module
                    target = target.rpartition(".")[0]
                if target and target != name and target.split(".")[0] == PACKAGE:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a cycle
    through them, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_through(graph, component) for component in sorted(components)]


def _cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One cycle inside `component`, from its first module back to it: what to read to break it."""
    members, start = set(component), component[0]
    paths = {start: [start]}
    todo = [start]
    while todo:
        node = todo.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                return paths[node] + [start]
            if target not in paths:
                paths[target] = paths[node] + [target]
                todo.append(target)
    return component


def long_modules_without_reason(root: Path = ROOT) -> list[str]:
    found = []
    for name, path in module_files(root).items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES and not LENGTH_REASON.search("\n".join(lines[:REASON_WITHIN_LINES])):
            found.append(f"{path.relative_to(root)}: {len(lines)} lines")
    return found


# ---------------------------------------------------------------- the tests
def test_the_kits_imports_have_no_cycle():
    graph = import_graph()
    assert len(graph) > 50 and sum(map(len, graph.values())) > 100, "the graph was not read (moved files?)"
    found = cycles(graph)
    assert not found, ("import cycles among nnkit's modules (break each: move the shared piece into a module "
                       "both import):\n" + "\n".join(" -> ".join(cycle) for cycle in found))


def test_no_module_over_350_lines_without_a_reason_at_its_top():
    found = long_modules_without_reason()
    assert not found, (f"modules over {MAX_LINES} lines: split each by concept, or say why at its top (within "
                       f"{REASON_WITHIN_LINES} lines, e.g. \"Over 350 lines: ...\"):\n" + "\n".join(found))


# ---------------------------------------------------------------- the checks themselves can fail
def _write(root: Path, name: str, text: str) -> None:
    path = root / PACKAGE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_graph_sees_function_level_relative_and_package_imports(tmp_path):
    _write(tmp_path, "__init__.py", "")
    _write(tmp_path, "a.py", "def f():\n    from nnkit import b\n")
    _write(tmp_path, "b.py", "from .sub import thing\n")
    _write(tmp_path, "sub/__init__.py", "from nnkit.sub.leaf import thing\n")
    _write(tmp_path, "sub/leaf.py", "from ..a import f\nimport nnkit.c.name_in_c\n")
    _write(tmp_path, "c.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nnkit import a\n")
    graph = import_graph(tmp_path)
    assert graph["nnkit.a"] == {"nnkit.b"} and graph["nnkit.b"] == {"nnkit.sub"}
    assert graph["nnkit.sub"] == {"nnkit.sub.leaf"} and graph["nnkit.sub.leaf"] == {"nnkit.a", "nnkit.c"}
    assert graph["nnkit.c"] == set(), "an import for annotations only is no edge"
    assert cycles(graph) == [["nnkit.a", "nnkit.b", "nnkit.sub", "nnkit.sub.leaf", "nnkit.a"]]


def test_a_package_importing_its_own_submodules_is_no_cycle(tmp_path):
    _write(tmp_path, "__init__.py", "")
    _write(tmp_path, "pkg/__init__.py", "from nnkit.pkg.one import run\n")
    _write(tmp_path, "pkg/one.py", "from nnkit.pkg.two import helper\n")
    _write(tmp_path, "pkg/two.py", "")
    assert cycles(import_graph(tmp_path)) == []
    _write(tmp_path, "pkg/two.py", "from nnkit.pkg import run\n")   # a name of the package: a real cycle
    assert cycles(import_graph(tmp_path)) == [["nnkit.pkg", "nnkit.pkg.one", "nnkit.pkg.two", "nnkit.pkg"]]


@pytest.mark.parametrize("top,flagged", [("", True), ('"""Over 350 lines: one table per assignment."""\n', False),
                                         ("# over 350 lines (generated)\n", False), ("# over 350 lines\n", True)])
def test_a_long_module_needs_a_reason_at_its_top(tmp_path, top, flagged):
    _write(tmp_path, "__init__.py", "")
    _write(tmp_path, "long.py", top + "x = 1\n" * (MAX_LINES + 1))
    _write(tmp_path, "short.py", "x = 1\n" * MAX_LINES)
    assert long_modules_without_reason(tmp_path) == ([f"{PACKAGE}/long.py: {len(top.splitlines()) + MAX_LINES + 1} lines"]
                                                     if flagged else [])
