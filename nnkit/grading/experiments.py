"""Experiment cells: run by the student, not again at grading.

An assignment's experiment cells (tag ``experiment``: training sweeps, their plots) are where
most of a notebook's run time goes, about nine tenths of the reference hand-in's
(docs/scale-out.md), and no grade depends on them: the hidden graders call the student's
solution cells themselves, in a probe of their own, and a visible check may not use a name an
experiment defines (the authoring lint, `nnkit.authoring.lint`). What a TA reads beside a
written answer is the run the student answered from. So at `nbgrader autograde`

* `KeepExperimentOutputs` (in place of nbgrader's `ClearOutput`) clears every other cell's
  outputs as usual, and keeps an experiment cell's outputs as handed in, reduced to inert
  types (text and PNG/JPEG images: no HTML, JavaScript or SVG, which would run in a TA's
  browser) and to `max_bytes`, under a first line that says they were not re-run;
* `SafeExecute` (nnkit/grading/execute.py) runs every other cell and skips experiment cells.

Only a cell without nbgrader metadata can be an experiment: a solution, given or graded cell
always runs, whatever tags a hand-in gives it. A student who removes the tag only makes their
own grading longer (the cell runs, under the usual time limit); one who adds it to a cell of
their own keeps that cell's outputs as handed in, which grade nothing.
"""
from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearOutput
from traitlets import Integer

EXPERIMENT_TAG = "experiment"
NOT_RE_RUN = "[Output as handed in: experiment cells are not run again at grading.]\n"
_INERT_TYPES = ("text/plain", "image/png", "image/jpeg")


def is_experiment(cell) -> bool:
    """A code cell tagged `experiment` that nbgrader does not track (no solution, given or grade cell)."""
    metadata = cell.get("metadata", {})
    return (cell.get("cell_type") == "code" and EXPERIMENT_TAG in (metadata.get("tags") or [])
            and not metadata.get("nbgrader"))


def inert_outputs(outputs, max_bytes: int) -> list:
    """`outputs` with only text and raster images, at most `max_bytes` of them, in order."""
    kept, used = [], 0
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            text = "".join(text) if isinstance(text, list) else str(text)
            new = new_output("stream", name="stderr" if output.get("name") == "stderr" else "stdout", text=text)
        elif kind in ("display_data", "execute_result"):
            data = {mime: value for mime, value in (output.get("data") or {}).items() if mime in _INERT_TYPES}
            if not data:
                continue
            new = new_output("display_data", data=data)
        elif kind == "error":
            new = new_output("error", ename=str(output.get("ename", "")), evalue=str(output.get("evalue", "")),
                             traceback=[str(line) for line in output.get("traceback", [])][:50])
        else:
            continue
        size = len(str(new).encode())
        if used + size > max_bytes:
            kept.append(new_output("stream", name="stdout",
                                   text=f"[the rest of this output, over {max_bytes // 1000} kB, was left out]\n"))
            break
        kept.append(new)
        used += size
    return kept


class KeepExperimentOutputs(ClearOutput):
    """nbgrader's `ClearOutput`, except that experiment cells keep their handed-in outputs (inert, capped)."""

    max_bytes = Integer(2_000_000, help="Handed-in output kept per experiment cell").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if not is_experiment(cell):
            return super().preprocess_cell(cell, resources, index)
        outputs = inert_outputs(cell.get("outputs"), self.max_bytes)
        cell.outputs = [new_output("stream", name="stdout", text=NOT_RE_RUN)] + outputs
        cell.execution_count = None
        for field in self.remove_metadata_fields:
            cell.metadata.pop(field, None)
        return cell, resources
