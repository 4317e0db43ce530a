"""The kit's report put into nbgrader's feedback page, the one file nbgrader's hand-back delivers
(why: `nnkit.report.handback`). `embed` puts the report's body at the top of `<notebook>.html`,
between two marker comments (written again, never twice, on every run), with its style sheet scoped
to the report's section; makes the page fit a 1280 px window; draws its maths without MathJax's CDN
(`nnkit.report.maths`); and marks written answers that wait for a TA as such, not as 0 points.
"""
from __future__ import annotations

import re
import stat
from pathlib import Path

from nnkit.report.maths import render_page_maths

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
            f"</style>\n{body.group(1).strip()}\n</section>\n<style>{PAGE_FIT_CSS}</style>\n{END}\n")


# nbgrader's page, made to fit a 1280 px window: its code and outputs keep their long lines and
# figures their natural width (a 5-panel figure is 1800 px), so the page scrolled sideways.
PAGE_FIT_CSS = ("img,svg,video{max-width:100%;height:auto}"
                "pre{white-space:pre-wrap;overflow-wrap:anywhere;word-break:normal}"
                ".output_area,.output_subarea,.input_area,.rendered_html{max-width:100%;min-width:0;overflow-wrap:anywhere}"
                "table{max-width:100%}.rendered_html table{display:block;overflow-x:auto}"
                "img.math{max-width:100%;height:auto;display:inline;margin:0}")
_PENDING_NOTE = re.compile(r'<span class="nnkit-pending">.*?</span>', re.S)
_NOTEBOOK_SCORE = re.compile(r"(<h4>[^<]*\(Score: [\d.]+ / [\d.]+)(\)</h4>)")


def _mark_pending(page: str, pending: dict[str, float]) -> str:
    """nbgrader shows a written answer no TA has graded yet as "Score: 0.0 / 2.0", in its contents
    and over the cell: say "to be graded by hand" there, and how many points wait, by the total."""
    page = _PENDING_NOTE.sub("", page)
    for cell in pending:
        name = re.escape(cell)
        page = re.sub(rf'(<a href="#{name}">[^<]*</a> )\(Score: 0(?:\.0)? / ([\d.]+)\)',
                      r'\1(<span class="nnkit-hand">to be graded by hand</span> / \2)', page)
        page = re.sub(rf'(<a name="(?:comment-)?{name}"></a>(?:(?!<a name=).){{0,600}}?)Score: 0(?:\.0)? / ([\d.]+)',
                      r'\1<span class="nnkit-hand">To be graded by hand</span> / \2', page, count=1, flags=re.S)
    if pending:
        waiting = f"{sum(pending.values()):g}"
        page = _NOTEBOOK_SCORE.sub(rf'\1<span class="nnkit-pending"> · {waiting} to be graded by hand</span>\2', page,
                                   count=1)
    return page


def embed(nbgrader_page: Path, report_html: str, pending: dict[str, float] | None = None) -> None:
    """Put the report at the top of nbgrader's feedback page, replacing the one put there before; make
    the page fit a 1280 px window and draw its maths without MathJax's CDN (`maths`); mark the
    written answers that await hand grading (`pending`: grade id -> points) as such."""
    page = _OLD.sub("", nbgrader_page.read_text(encoding="utf-8"))
    where = _NOTEBOOK.search(page) or _BODY_TAG.search(page)
    if where is None:
        raise HandBackProblem(f"{nbgrader_page} has no <body> (not one of nbgrader's feedback pages?)")
    at = where.start() if where.re is _NOTEBOOK else where.end()
    page = page[:at] + section(report_html) + page[at:]
    page = _mark_pending(render_page_maths(page), pending or {})
    mode = nbgrader_page.stat().st_mode
    if not mode & stat.S_IWUSR:          # nbgrader makes its output read-only where so configured
        nbgrader_page.chmod(mode | stat.S_IWUSR)
    try:
        nbgrader_page.write_text(page, encoding="utf-8")
    finally:
        if not mode & stat.S_IWUSR:
            nbgrader_page.chmod(mode)
