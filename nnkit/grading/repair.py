"""nbgrader sanitize step: make a damaged submission gradable before anything runs.

Students delete cells, paste them twice, or edit their metadata (by accident or
not). Plain nbgrader then crashes on the notebook, or on a tampered
`schema_version` stops the whole batch. `RepairCells` runs first and, guided by
the source notebook,

* keeps only the first cell of each known `grade_id` and strips nbgrader
  metadata from duplicates and from ids the source does not know;
* gives every known cell the source's metadata (a retagged cell is restored);
* re-inserts each missing nbgrader cell from the source after its predecessor
  (a missing solution cell comes back as the release's empty stub), and notes it
  in the cell so the TA and the student see what happened.

The student's own free cells (answers, experiments) are kept in their order.
"""
from __future__ import annotations

import copy

from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor

from nnkit.grading.course import Course
from nnkit.grading.notebook import grade_id, is_solution, nbgrader_meta, read_notebook

RESTORED_NOTE = "This cell was missing from your submission; the kit put back the original."


def _released(cell):
    """A source solution cell as the release shows it (solution region cleared)."""
    cell = copy.deepcopy(cell)
    if is_solution(cell):
        cell, _ = ClearSolutions().preprocess_cell(cell, {"language": "python"}, 0)
    return cell


ROLE_KEYS = ("grade_id", "grade", "solution", "locked", "task", "points", "schema_version")


def _role(meta: dict) -> tuple:
    """What nbgrader does with a cell (its checksum and the like aside)."""
    return tuple(meta.get(key) for key in ROLE_KEYS)


def repair(nb, source_nb, log=None):
    """Repair `nb` in place against `source_nb`; return the list of changes made."""
    source_ids = [grade_id(c) for c in source_nb.cells if nbgrader_meta(c)]
    source_by_id = {grade_id(c): c for c in source_nb.cells if nbgrader_meta(c)}
    changes, seen = [], set()
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if "nbgrader" in meta:
            gid = grade_id(cell)
            if gid not in source_by_id or gid in seen:
                changes.append(f"removed grading metadata from a {'copy of' if gid in seen else 'cell with unknown id'} '{gid}'")
                del meta["nbgrader"]
            else:
                seen.add(gid)
                original = source_by_id[gid]
                if _role(meta["nbgrader"]) != _role(original.metadata["nbgrader"]) or cell.cell_type != original.cell_type:
                    changes.append(f"restored the metadata of cell '{gid}'")
                    meta["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
                    cell.cell_type = original.cell_type
                    if cell.cell_type == "markdown":
                        cell.pop("outputs", None)
                        cell.pop("execution_count", None)
                    elif "outputs" not in cell:
                        cell.outputs, cell.execution_count = [], None
    for position, gid in enumerate(source_ids):
        if gid in seen:
            continue
        restored = _released(source_by_id[gid])
        if restored.cell_type == "code":
            restored.source = f"# {RESTORED_NOTE}\n{restored.source}"
        else:
            restored.source = f"*{RESTORED_NOTE}*\n\n{restored.source}"
        before = next((i for i, c in enumerate(nb.cells)
                       if nbgrader_meta(c) and grade_id(c) in source_ids[:position][-1:]), None)
        index = 0 if position == 0 or before is None else before + 1
        if position and before is None:
            # The predecessor is gone too: place after the nearest earlier cell that exists.
            earlier = [i for i, c in enumerate(nb.cells) if nbgrader_meta(c) and grade_id(c) in source_ids[:position]]
            index = earlier[-1] + 1 if earlier else 0
        nb.cells.insert(index, restored)
        seen.add(gid)
        changes.append(f"restored missing cell '{gid}'")
    if log:
        for change in changes:
            log.warning("RepairCells: %s", change)
    return changes


class RepairCells(NbGraderPreprocessor):
    """Restore deleted, duplicated or retagged nbgrader cells from the source notebook."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        course = Course.from_nbgrader(self.config)
        source = read_notebook(course.source_notebook(info["assignment"]))
        resources.setdefault("nnkit", {})["repairs"] = repair(nb, source, self.log)
        return nb, resources
