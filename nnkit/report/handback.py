"""The kit's report, handed back through nbgrader's own exchange.

`nbgrader release_feedback` copies each `feedback/<student>/<ps>/<notebook>.html` to the exchange
under a hash of the submission's secret and the notebook's name, and `nbgrader fetch_feedback`
fetches, for each notebook the student submitted, exactly that one file. A page of another name
(`report.html`) goes out under a hash no student ever asks for. So the report travels *inside*
nbgrader's page: `embed` puts it at the top of `<notebook>.html`, between two marker comments
(written again, never twice, on every run), with its style sheet scoped to the report's section.

`embed_report_hook` does it as part of `nbgrader generate_feedback` (its `post_convert_hook`, set
in nbgrader_config.py), so a regenerated page never goes out without the report; `nnkit report`
does it again for every page it writes. The page surgery itself is `nnkit.report.embed` (which
`nnkit.report.build` uses without importing this hook, which imports it).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

# the page surgery, named here too (`from nnkit.report.handback import embed`)
from nnkit.report.embed import BEGIN, END, SECTION_ID, HandBackProblem, embed, scope_css, section  # noqa: F401


def _log() -> logging.Logger:
    from traitlets.config import Application

    return Application.instance().log if Application.initialized() else logging.getLogger(__name__)


def embed_report_hook(assignment: str, student: str, notebooks: list, **_) -> None:
    """`c.GenerateFeedback.post_convert_hook`: after nbgrader wrote one student's feedback pages, write
    their `report.html` and put it into each page. nbgrader runs the hook in the course folder, once per
    hand-in, but passes the ids of the command line (`*` without `--student`): the hand-in is the
    folder of the notebooks it just converted, `autograded/<student>/<assignment>/`.

    nbgrader logs a failing hook at level INFO and goes on; this says it as an error, so that no
    page leaves without the report unnoticed."""
    from nnkit.grading.course import Course
    from nnkit.report.build import write_feedback
    from nnkit.report.collect import collect_student

    log = _log()
    folders = {Path(nb).resolve().parent for nb in notebooks}
    for folder in sorted(folders):
        student, assignment = folder.parent.name, folder.name
        try:
            course = Course.from_nbgrader(root=Path(os.getcwd()))
            if folder != (course.root / "autograded" / student / assignment).resolve():
                raise HandBackProblem(f"{folder} is not autograded/<student>/<assignment> in {course.root}")
            page = write_feedback(course, collect_student(course, assignment, student))
        except Exception as error:  # noqa: BLE001 (said as an error, then nbgrader goes on)
            log.error("No nnkit report in %s's feedback for %s: %s: %s. Run `nnkit report --assignment %s` before "
                      "`nbgrader release_feedback`.", student, assignment, type(error).__name__, error, assignment)
            continue
        if not (page.parent / "submission_secret.txt").is_file():
            log.warning("%s's hand-in of %s was not collected through nbgrader's exchange (no submission_secret.txt): "
                        "`nbgrader release_feedback` will stop at it. Collect with `nbgrader collect`.",
                        student, assignment)
