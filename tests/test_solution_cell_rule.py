"""What a failing solution cell costs (every notebook's introduction states it): only the points of
the names it should define. A cell that raises is left out of the graded module at load; a cell
that never finishes is left out after its load budget (`remote.Probe._await_ready`)."""
from conftest import COURSE
from nnkit.grading.devices import EMULATED
from nnkit.grading.results import summarise
from nnkit.grading.runner import run_graders


def test_a_raising_cell_and_an_endless_cell_cost_only_their_own_names(tmp_path):
    """ps1 with `while True: pass` at the end of the `model` cell and a NameError in the `diagnose`
    cell: the probe leaves the endless cell out after its load budget, the raising one at once, and
    grades the rest; the status says "timed out" and a note names the endless cell."""
    import nbformat

    from nnkit.grading.notebook import grade_id, is_solution, read_notebook
    from nnkit.grading.status import Status

    source = COURSE.source_notebook("ps1_learning_rates")
    nb = read_notebook(source)
    [cell] = [c for c in nb.cells if is_solution(c) and grade_id(c) == "model"]
    cell.source += "\nwhile True:\n    pass\n"
    [raising] = [c for c in nb.cells if is_solution(c) and grade_id(c) == "diagnose"]
    raising.source = "undefined_name_in_the_students_cell\n" + raising.source
    path = tmp_path / source.name
    nbformat.write(nb, str(path))
    run = run_graders(COURSE, "ps1_learning_rates", path, device=EMULATED, cell_load_seconds=5)
    assert run.status is Status.TIMED_OUT, run.detail
    lost = {gid for gid, c in run.cells.items() if not c.ok}
    assert lost == {"hidden_model", "hidden_diagnose"}, summarise(run.cells)
    assert any("'model'" in note and "hung" in note for note in run.notes), run.notes
    assert run.seconds < 120
