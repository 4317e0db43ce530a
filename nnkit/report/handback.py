"""The kit's report, handed back through nbgrader's own exchange.

`nbgrader release_feedback` copies each `feedback/<student>/<ps>/<notebook>.html` to the exchange
under a hash of the submission's secret and the notebook's name, and `nbgrader fetch_feedback`
fetches, for each notebook the student submitted, exactly that one file. A page of another name
(`report.html`) goes out under a hash no student ever asks for. So the report travels *inside*
nbgrader's page: `embed` puts it at the top of `<notebook>.html`, between two marker comments
(written again, never twice, on every run), with its style sheet scoped to the report's section.

`embed_report_hook` does it as part of `nbgrader generate_feedback` (its `post_convert_hook`, set
in nbgrader_config.py), so a regenerated page never goes out without the report; `nnkit report`
does it again for every page it writes.
"""
from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

BEGIN = "<!-- nnkit report: begin -->"
END = "<!-- nnkit report: end -->"
SECTION_ID = "nnkit-report"
SCOPE = f"#{SECTION_ID}"
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_OLD = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.S)
# In nbgrader's feedback template the notebook itself starts here; the report goes just above it.
_NOTEBOOK = re.compile(r'<div id="notebook"', re.I)
_BODY_TAG = re.compile(r"<body[^>]*>", re.I)


class HandBackProblem(Exception):
    """nbgrader's feedback page is not one the report can be put into; the message says why."""


def _scope_selector(selector: str, scope: str) -> str:
    selector = selector.strip()
    if selector in ("html", "body", ":root"):
        return scope
    for top in ("html ", "body "):
        if selector.startswith(top):
            return f"{scope} {selector[len(top):].strip()}"
    return f"{scope} {selector}"


def scope_css(css: str, scope: str = SCOPE) -> str:
    """`css` with every rule limited to the elements under `scope` (`body` becomes `scope` itself),
    so that the report's style changes nothing in nbgrader's page around it. Handles plain rules
    and `@media` blocks, which is all the report's style sheet has. Sizes in `rem` become `em`:
    nbgrader's page sets the root font to 10 px (Bootstrap 3), the report's own font is 14 px."""
    out, i = [], 0
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"(\d*\.?\d+)rem\b", r"\1em", css)
    while i < len(css):
        brace = css.find("{", i)
        if brace < 0:
            break
        head = css[i:brace].strip()
        depth, j = 1, brace + 1
        while j < len(css) and depth:
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
        inner = css[brace + 1:j - 1]
        if head.startswith("@media") or head.startswith("@supports"):
            out.append(f"{head}{{{scope_css(inner, scope)}}}")
        elif head.startswith("@"):
            out.append(f"{head}{{{inner}}}")
        elif head:
            out.append(",".join(_scope_selector(s, scope) for s in head.split(",")) + f"{{{inner.strip()}}}")
        i = j
    return "\n".join(out)


def section(report_html: str) -> str:
    """The report page as one section for nbgrader's page: its body, its style sheet scoped to it."""
    body = _BODY.search(report_html)
    if body is None:
        raise HandBackProblem("the report has no <body>")
    css = "\n".join(m.group(1) for m in _STYLE.finditer(report_html))
    return (f'{BEGIN}\n<section id="{SECTION_ID}">'
            f"<style>{scope_css(css)}\n{SCOPE}{{border-bottom:2px solid #dde3e7;margin-bottom:1.5rem;padding-bottom:1rem}}"
            f"</style>\n{body.group(1).strip()}\n</section>\n{END}\n")


def embed(nbgrader_page: Path, report_html: str) -> None:
    """Put the report at the top of nbgrader's feedback page, replacing the one put there before."""
    page = _OLD.sub("", nbgrader_page.read_text(encoding="utf-8"))
    where = _NOTEBOOK.search(page) or _BODY_TAG.search(page)
    if where is None:
        raise HandBackProblem(f"{nbgrader_page} has no <body> (not one of nbgrader's feedback pages?)")
    at = where.start() if where.re is _NOTEBOOK else where.end()
    page = page[:at] + section(report_html) + page[at:]
    mode = nbgrader_page.stat().st_mode
    if not mode & stat.S_IWUSR:          # nbgrader makes its output read-only where so configured
        nbgrader_page.chmod(mode | stat.S_IWUSR)
    try:
        nbgrader_page.write_text(page, encoding="utf-8")
    finally:
        if not mode & stat.S_IWUSR:
            nbgrader_page.chmod(mode)


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
