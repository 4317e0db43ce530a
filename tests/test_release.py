"""The student release: generated from source by nbgrader, and free of anything hidden."""

import nbformat
import pytest

from conftest import COURSE, ROOT
from nnkit.grading.notebook import is_solution

ASSIGNMENTS = COURSE.assignments()
HIDDEN_MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN MARK SCHEME", "END MARK SCHEME",
                  "BEGIN HIDDEN TESTS", "grade_cell", "reference_train"]


def public_lines(source_nb):
    """Lines the source shows students on purpose: everything outside solution and mark-scheme regions."""
    lines, inside = set(), False
    for cell in source_nb.cells:
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line or "BEGIN MARK SCHEME" in line:
                inside = True
            elif "END SOLUTION" in line or "END MARK SCHEME" in line:
                inside = False
            elif not inside:
                lines.add(line.strip())
    return lines


def solution_lines(source_nb):
    """Substantial code lines inside the source's solution regions."""
    lines = set()
    for cell in source_nb.cells:
        if not is_solution(cell):
            continue
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN SOLUTION" in line or "BEGIN MARK SCHEME" in line:
                inside = True
            elif "END SOLUTION" in line or "END MARK SCHEME" in line:
                inside = False
            elif inside and len(line.strip()) > 24:
                lines.add(line.strip())
    return lines


def test_every_assignment_is_released():
    assert ASSIGNMENTS, "no assignments under source/"
    for assignment in ASSIGNMENTS:
        assert (ROOT / "release" / assignment).is_dir(), f"release/{assignment} missing: run `make release`"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solutions_hidden_tests_or_mark_schemes(assignment):
    release = ROOT / "release" / assignment
    files = sorted(p.name for p in release.iterdir())
    assert files == [COURSE.source_notebook(assignment).name], f"release/{assignment} should hold only the notebook: {files}"
    text = (release / files[0]).read_text()
    for marker in HIDDEN_MARKERS:
        assert marker not in text, f"release/{assignment} contains '{marker}'"
    released_code = "\n".join(c.source for c in nbformat.read(str(release / files[0]), 4).cells)
    source = nbformat.read(str(COURSE.source_notebook(assignment)), 4)
    public = "\n".join(public_lines(source))
    leaked = [line for line in solution_lines(source) if line in released_code and line not in public]
    assert not leaked, f"solution code leaked into release/{assignment}: {leaked[:3]}"
    for grader in (ROOT / "grader_tests" / assignment).glob("*.py"):
        for line in grader.read_text().splitlines():
            if (len(line.strip()) > 40 and not line.strip().startswith(("import", "from", "#"))
                    and line.strip() not in public):
                assert line.strip() not in released_code, f"grader code from {grader.name} found in the release"


# That release/ is what nbgrader makes of source/ (and source/ what authoring/ builds), byte for byte:
# tests/test_authoring.py::test_make_release_on_an_unchanged_course_changes_nothing.
