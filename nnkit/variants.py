"""The mutant bank: plausible wrong answers and alternative right ones, per assignment.

    tests/variants/<assignment>/wrong/<name>.py     each must be caught by some hidden grader
    tests/variants/<assignment>/correct/<name>.py   each must pass every hidden grader

A variant file replaces solution cells of the source notebook. Its docstring says
what it gets wrong (or how it differs); each `# %% <grade_id>` line starts the code
of one solution cell. A wrong variant may list, on a line `# fails: a, b`, the
hidden grade cells it must fail, exactly; `make test` holds it to that list.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nnkit.grading.notebook import grade_id, is_solution, read_notebook

CELL_MARK = re.compile(r"^# %% (\S+)\s*$", re.M)
FAILS_MARK = re.compile(r"^# fails: (.+)$", re.M)


@dataclass
class Variant:
    assignment: str
    name: str
    kind: str  # "wrong" or "correct"
    description: str
    cells: dict[str, str]
    fails: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.assignment}/{self.kind}/{self.name}"


def parse_variant(path: Path, assignment: str, kind: str) -> Variant:
    text = path.read_text()
    description = (ast.get_docstring(ast.parse(text)) or "").strip().splitlines()
    pieces = CELL_MARK.split(text)
    cells = {pieces[i]: pieces[i + 1].strip() + "\n" for i in range(1, len(pieces), 2)}
    if not cells:
        raise ValueError(f"{path}: no '# %% <grade_id>' cell in this variant")
    fails = FAILS_MARK.search(text)
    return Variant(assignment, path.stem, kind, description[0] if description else "", cells,
                   [c.strip() for c in fails.group(1).split(",")] if fails else [], path)


def discover(root: Path, assignments: list[str] | None = None) -> list[Variant]:
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if assignments and folder.name not in assignments:
            continue
        for kind in ("wrong", "correct"):
            for path in sorted((folder / kind).glob("*.py")):
                found.append(parse_variant(path, folder.name, kind))
    return found


def apply_variant(source_notebook: Path, cells: dict[str, str]) -> nbformat.NotebookNode:
    """The source notebook (the reference solution) with the given solution cells replaced."""
    nb = read_notebook(source_notebook)
    known = {grade_id(c) for c in nb.cells if is_solution(c)}
    unknown = set(cells) - known
    if unknown:
        raise ValueError(f"{source_notebook}: no solution cell named {', '.join(sorted(unknown))}")
    for cell in nb.cells:
        if is_solution(cell) and grade_id(cell) in cells:
            cell.source = cells[grade_id(cell)]
    return nb
