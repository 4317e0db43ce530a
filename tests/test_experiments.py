"""Experiment cells keep their handed-in outputs and are not run again at grading (nnkit/grading/experiments.py)."""
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from conftest import COURSE
from nnkit.authoring import lint
from nnkit.grading.execute import SafeExecute
from nnkit.grading.experiments import NOT_RE_RUN, KeepExperimentOutputs, is_experiment
from nnkit.grading.notebook import read_notebook

pytestmark = pytest.mark.check

HTML = new_output("display_data", data={"text/html": "<script>steal()</script>", "text/plain": "<Figure>"})
SVG_ONLY = new_output("display_data", data={"image/svg+xml": "<svg onload='steal()'/>"})
PNG = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480>"})
JS = new_output("display_data", data={"application/javascript": "steal()"})


def experiment(source="x = 1", outputs=(), **metadata):
    cell = new_code_cell(source, metadata={"tags": ["experiment"], **metadata})
    cell.outputs = list(outputs)
    return cell


def test_only_untracked_code_cells_tagged_experiment_are_experiments():
    assert is_experiment(experiment())
    assert not is_experiment(new_code_cell("x = 1"))
    assert not is_experiment(experiment(nbgrader={"grade_id": "train", "solution": True}))   # always runs


def test_handed_in_outputs_are_kept_inert_and_marked_and_other_cells_cleared():
    printed = new_output("stream", name="stdout", text="final loss 0.18\n")
    ordinary = new_code_cell("y = 2")
    ordinary.outputs = [printed]
    ordinary.execution_count = 3
    kept = experiment(outputs=[printed, HTML, SVG_ONLY, PNG, JS])
    kept.execution_count = 7
    nb = new_notebook(cells=[kept, ordinary])
    KeepExperimentOutputs().preprocess(nb, {})
    assert ordinary.outputs == [] and ordinary.execution_count is None
    assert kept.execution_count is None
    assert kept.outputs[0].text == NOT_RE_RUN
    assert [o.output_type for o in kept.outputs[1:]] == ["stream", "display_data", "display_data"]
    assert kept.outputs[1].text == "final loss 0.18\n"
    assert kept.outputs[2].data == {"text/plain": "<Figure>"}           # the HTML is gone
    assert kept.outputs[3].data == PNG.data
    assert "steal" not in str(kept.outputs)
    nbformat.validate(nb)


def test_handed_in_outputs_are_capped():
    flood = [new_output("stream", name="stdout", text="x" * 10_000) for _ in range(20)]
    cell = experiment(outputs=flood)
    KeepExperimentOutputs(max_bytes=50_000).preprocess(new_notebook(cells=[cell]), {})
    assert sum(len(o.get("text", "")) for o in cell.outputs) < 60_000
    assert "left out" in cell.outputs[-1].text


def test_grading_skips_experiment_cells_and_runs_the_rest(tmp_path):
    """A plain kernel: the experiment would raise, and would write a file; neither happens."""
    marker = tmp_path / "ran"
    nb = new_notebook(cells=[
        new_code_cell("value = 41"),
        experiment(f"open({str(marker)!r}, 'w').write('x'); raise RuntimeError('experiment ran')",
                   outputs=[new_output("stream", name="stdout", text="as handed in\n")]),
        new_code_cell("print(value + 1)"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    KeepExperimentOutputs().preprocess(nb, {})
    nb, resources = SafeExecute(kernel_name="python3", timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert not marker.exists()
    assert nb.cells[2].outputs[0].text == "42\n"
    assert [o.get("text") for o in nb.cells[1].outputs] == [NOT_RE_RUN, "as handed in\n"]
    assert resources["nnkit"]["execution"]["status"].value == "graded"


def test_lint_refuses_a_cell_that_needs_a_skipped_experiment():
    nb = new_notebook(cells=[experiment("history = [1, 2]"), new_code_cell("print(history[-1])")])
    problems = lint(nb, "nb")
    assert any("history" in p and "experiment" in p for p in problems), problems
    nb.cells[1].metadata["tags"] = ["experiment"]
    assert lint(nb, "nb") == []
    nb.cells[0].metadata["nbgrader"] = {"grade_id": "given", "locked": True}
    assert any("no nbgrader metadata" in p for p in lint(nb, "nb"))


@pytest.mark.parametrize("assignment", COURSE.assignments())
def test_every_assignment_marks_its_experiments(assignment):
    """The long cells are experiments: each assignment has some, and its lint is clean with them."""
    nb = read_notebook(COURSE.source_notebook(assignment))
    assert any(is_experiment(c) for c in nb.cells)
    assert lint(nb, assignment) == []
