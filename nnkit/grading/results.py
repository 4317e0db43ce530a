"""Turn per-test grader results into per-cell scores.

A hidden grade cell is all-or-nothing: it earns its points only when every
test marked for it passes (a parametrised test counts once per parameter).
Finer credit comes from more, smaller cells, which keeps "what did I lose
points for?" answerable from the feedback alone.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from nnkit.grading.notebook import grade_id, hidden_grader_cells, nbgrader_meta

MAX_MESSAGES = 8


@dataclass
class CellScore:
    cell: str
    max_points: float
    score: float = 0.0
    passed: int = 0
    total: int = 0
    messages: list[str] = field(default_factory=list)
    grader_errors: list[dict] = field(default_factory=list)   # staff only: the graders' own exceptions

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.passed == self.total


def cell_points(nb) -> dict[str, float]:
    """grade_id -> points for every hidden-grader cell of a notebook."""
    return {grade_id(c): float(nbgrader_meta(c).get("points", 0)) for c in hidden_grader_cells(nb)}


def score_cells(tests: list[dict], points: dict[str, float]) -> dict[str, CellScore]:
    cells = {gid: CellScore(gid, pts) for gid, pts in points.items()}
    for test in tests:
        cell = cells.get(test["cell"])
        if cell is None:
            continue
        cell.total += 1
        if test["outcome"] == "passed":
            cell.passed += 1
        elif test["message"] not in cell.messages:
            cell.messages.append(test["message"])
        if isinstance(test.get("grader_error"), dict):
            cell.grader_errors.append(dict(test["grader_error"], test=str(test.get("nodeid", ""))))
    for cell in cells.values():
        if cell.total == 0:
            cell.messages.append("No hidden grader ran for this cell; tell your instructor.")
        cell.score = cell.max_points if cell.ok else 0.0
        if len(cell.messages) > MAX_MESSAGES:
            cell.messages[MAX_MESSAGES:] = [f"... and {len(cell.messages) - MAX_MESSAGES} more problems"]
    return cells


def grader_errors(cells: dict[str, CellScore]) -> list[dict]:
    """Every grader error of a run, each with its cell: for staff (records, logs, the dashboard)."""
    return [dict(error, cell=cell.cell) for cell in cells.values() for error in cell.grader_errors]


def describe_grader_error(error: dict) -> str:
    """One line for staff: where, what."""
    return (f"[{error.get('cell', '?')}] {error.get('test', '')}: {error.get('type', '?')}: "
            f"{str(error.get('message', ''))[:300]} (at {error.get('file', '?')}:{error.get('line', '?')})")


def summarise(cells: dict[str, CellScore]) -> str:
    width = max([len(c) for c in cells] + [4])
    lines = [f"{'cell':<{width}}  score  tests"]
    for cell in cells.values():
        lines.append(f"{cell.cell:<{width}}  {cell.score:>2g}/{cell.max_points:<2g}  {cell.passed}/{cell.total}")
        lines += [f"{'':<{width}}    - {m}" for m in cell.messages]
    total = sum(c.score for c in cells.values())
    lines.append(f"{'total':<{width}}  {total:g}/{sum(c.max_points for c in cells.values()):g}")
    return "\n".join(lines)
