"""Read what grading left behind into one `StudentResult` per student and assignment.

Scores, late penalties and hand grading come from nbgrader's gradebook; the
hidden graders' messages from the autograded notebook (the outputs
`RunHiddenGraders` wrote into each hidden cell); status and measurements from
the kit's `GradingRecord`; wall time and peak memory from the batch runner's
``.nnkit-run.json`` when there is one, otherwise the graders' own seconds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.notebook import NotebookProblem, grade_id, hidden_grader_cells, is_solution, nbgrader_meta, read_notebook
from nnkit.grading.status import GradingRecord, Status, read_record
from nnkit.report.maths import plain

_HIDDEN_TITLE = re.compile(r"^#\s*Hidden tests\s*\([^)]*\):\s*", re.I)
# Error texts a sandboxed kernel produces when it is refused something it tried to do.
SANDBOX_REFUSALS = ("Read-only file system", "Permission denied", "Operation not permitted",
                    "Network is unreachable", "Temporary failure in name resolution", "Name or service not known",
                    "[Errno 1]", "[Errno 13]", "[Errno 30]", "[Errno 101]")
# ... and when it ran into a resource limit.
RESOURCE_LIMITS = {"can't start new thread": "process limit", "Resource temporarily unavailable": "process limit",
                   "MemoryError": "memory limit", "Cannot allocate memory": "memory limit",
                   "File too large": "file-size limit", "[output cut:": "output cap",
                   "CPU time limit exceeded": "CPU-time limit", "SIGXCPU": "CPU-time limit"}


@dataclass(frozen=True)
class Part:
    """One graded cell of an assignment: a hidden-grader cell or a hand-graded question."""
    cell: str
    kind: str          # "hidden" (scored by the hidden graders) or "written" (graded by hand)
    title: str         # what it checks or asks, in the words the student's notebook uses
    max_points: float

    SHORT = 200

    @property
    def short_title(self) -> str:
        """The title cut at a word before `SHORT` characters, with an ellipsis (pages give the whole
        title on hover and in print)."""
        if len(self.title) <= self.SHORT:
            return self.title
        return self.title[:self.SHORT].rsplit(" ", 1)[0].rstrip(",;:") + " …"


@dataclass
class PartResult:
    part: Part
    score: float | None        # None: not graded yet (a written answer waiting for a TA)
    messages: list[str] = field(default_factory=list)  # the graders' student-facing findings

    @property
    def failed(self) -> bool:
        return self.score is not None and self.score < self.part.max_points


@dataclass
class RunInfo:
    """How long grading one hand-in took and what it used (batch runner, else the graders)."""
    seconds: float | None = None
    peak_memory_mb: float | None = None
    device: str = "?"
    source: str = "graders"    # "batch runner" or "graders"
    limit: str | None = None   # a resource limit it hit, in words


@dataclass
class StudentResult:
    student: str
    assignment: str
    notebook: str
    status: Status
    parts: list[PartResult]
    late_penalty: float = 0.0
    record: GradingRecord | None = None
    run: RunInfo = field(default_factory=RunInfo)
    solution_code: str = ""
    refusals: list[str] = field(default_factory=list)   # sandbox refusals seen in the kernel's errors

    @property
    def score(self) -> float:
        return max(0.0, sum(p.score or 0.0 for p in self.parts) - self.late_penalty)

    @property
    def max_score(self) -> float:
        return sum(p.part.max_points for p in self.parts)

    @property
    def auto_score(self) -> float:
        """Points from the hidden graders."""
        return sum(p.score or 0.0 for p in self.parts if p.part.kind == "hidden")

    @property
    def auto_max(self) -> float:
        return sum(p.part.max_points for p in self.parts if p.part.kind == "hidden")

    @property
    def hand_graded(self) -> list[PartResult]:
        """Written answers a TA has graded so far."""
        return [p for p in self.parts if p.part.kind == "written" and p.score is not None]

    @property
    def pending_points(self) -> float:
        """Points of the written answers still waiting for a TA."""
        return sum(p.part.max_points for p in self.parts if p.score is None)

    @property
    def measurements(self) -> dict:
        return self.record.measurements if self.record else {}

    @property
    def intake_note(self) -> str | None:
        return (self.record.intake or {}).get("message") if self.record else None


@dataclass
class AssignmentResults:
    assignment: str
    notebook: str
    parts: list[Part]
    students: list[StudentResult]


def assignment_parts(source_notebook: Path) -> list[Part]:
    """The graded cells of a source notebook, in order: hidden-grader cells and hand-graded answers."""
    nb = read_notebook(source_notebook)
    hidden = {grade_id(c) for c in hidden_grader_cells(nb)}
    parts = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        points = float(meta.get("points", 0) or 0)
        if points <= 0:
            continue
        gid = grade_id(cell)
        if gid in hidden:
            first = cell.source.splitlines()[0] if cell.source else ""
            parts.append(Part(gid, "hidden", _HIDDEN_TITLE.sub("", first).strip() or gid, points))
        elif meta.get("task") or (meta.get("grade") and meta.get("solution")):
            parts.append(Part(gid, "written", question_text(cell.source) or gid, points))
    return parts


def question_text(markdown: str) -> str:
    """A written question as the student reads it: its first paragraph, whole (a question wraps over
    several source lines), without markdown marks. Never past a blank line or a mark scheme: the
    source notebook keeps the mark scheme in the same cell."""
    lines = []
    for line in markdown.strip().splitlines():
        if not line.strip() or "MARK SCHEME" in line or "BEGIN SOLUTION" in line:
            break
        lines.append(line.strip())
    text = re.sub(r"\$([^$]+)\$", lambda m: plain(m.group(1)), " ".join(lines))
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)             # **bold**, __bold__
    text = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"\1", text)   # *emphasis*, _emphasis_
    return text.replace("`", "")


def hidden_messages(cell) -> list[str]:
    """The findings `RunHiddenGraders` wrote into a hidden cell's outputs ("  - ..." lines)."""
    found = []
    for output in cell.get("outputs", []):
        lines = output.get("traceback", []) if output.get("output_type") == "error" else []
        found += [line.strip()[2:] for line in lines if line.strip().startswith("- ")]
    return found


def _kernel_errors(nb) -> list[str]:
    """The errors the student's cells raised, and SafeExecute's note on a cell whose output it cut."""
    found = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "error":
                found.append(f"{o.get('ename', '')}: {o.get('evalue', '')}")
            elif o.get("output_type") == "stream" and "[output cut:" in str(o.get("text", ""))[:200]:
                found.append("[output cut:")
    return found


def read_run(folder: Path, record: GradingRecord | None) -> RunInfo:
    """The batch runner's record of this hand-in (`nnkit.batch`) when there is one, else the graders' seconds."""
    from nnkit.batch import read_run as read_batch_run

    info = RunInfo()
    batch = read_batch_run(folder)
    if batch is not None:
        info.source = "batch runner"
        info.seconds = float(batch.wall_seconds)
        info.peak_memory_mb = float(max(batch.peak_rss_mb, batch.peak_tree_rss_mb))
        info.device = str(batch.device)
        if batch.exit_code is None:
            info.limit = f"wall-time limit of {batch.time_limit_seconds:g} s"
    if record:
        graders = record.graders or {}
        if info.seconds is None and isinstance(graders.get("seconds"), (int, float)):
            info.seconds = float(graders["seconds"])
        if info.device == "?":
            info.device = str(graders.get("device", "?"))
    return info


def _limit_hit(texts: list[str], status: Status) -> str | None:
    for text in texts:
        for needle, what in RESOURCE_LIMITS.items():
            if needle in text:
                return what
    return "time limit" if status is Status.TIMED_OUT else None


def collect(course: Course, assignment: str) -> AssignmentResults:
    """Every student of the gradebook (and every autograded folder) for one assignment."""
    source = course.source_notebook(assignment)
    notebook = source.stem
    parts = assignment_parts(source)
    db = course.root / "gradebook.db"
    if not db.is_file():
        raise CourseProblem(f"{db} does not exist: run `nbgrader autograde {assignment}` before `nnkit report`.")
    results = []
    with Gradebook(f"sqlite:///{db}") as gb:
        students = sorted({s.id for s in gb.students})
        for student in students:
            results.append(_student(course, gb, assignment, notebook, parts, student))
    return AssignmentResults(assignment, notebook, parts, results)


def collect_student(course: Course, assignment: str, student: str) -> StudentResult:
    """One student's result (what `collect` gives for them), for a single feedback page."""
    source = course.source_notebook(assignment)
    db = course.root / "gradebook.db"
    if not db.is_file():
        raise CourseProblem(f"{db} does not exist: run `nbgrader autograde {assignment}` before `nnkit report`.")
    with Gradebook(f"sqlite:///{db}") as gb:
        return _student(course, gb, assignment, source.stem, assignment_parts(source), student)


def _student(course: Course, gb: Gradebook, assignment: str, notebook: str, parts: list[Part],
             student: str) -> StudentResult:
    folder = course.root / "autograded" / student / assignment
    try:
        submitted = gb.find_submission(assignment, student)
    except MissingEntry:
        return StudentResult(student, assignment, notebook, Status.NOT_SUBMITTED,
                             [PartResult(p, 0.0) for p in parts])
    grades = {}
    try:
        grades = {g.name: g for g in gb.find_submission_notebook(notebook, assignment, student).grades}
    except MissingEntry:
        pass
    record = read_record(folder)
    status = record.status if record else Status.NOT_GRADED
    nb = None
    try:
        nb = read_notebook(folder / f"{notebook}.ipynb")
    except NotebookProblem:
        pass
    cells = {grade_id(c): c for c in nb.cells} if nb else {}
    results = []
    for part in parts:
        grade = grades.get(part.cell)
        score = None if grade is None or (grade.needs_manual_grade and grade.manual_score is None and part.kind == "written") \
            else float(grade.score)
        if part.kind == "hidden" and score is None:
            score = 0.0
        messages = hidden_messages(cells[part.cell]) if part.kind == "hidden" and part.cell in cells else []
        results.append(PartResult(part, score, messages))
    errors = _kernel_errors(nb) if nb else []
    texts = errors + [m for r in results for m in r.messages]
    if record:
        texts += [str((record.execution or {}).get("detail", ""))]
        texts += [str(n) for n in (record.graders or {}).get("notes", [])]
    refusals = sorted({needle for t in errors for needle in SANDBOX_REFUSALS if needle in t})
    run = read_run(folder, record)
    run.limit = run.limit or _limit_hit(texts, status)
    code = "\n".join(c.source for c in nb.cells if is_solution(c) and c.cell_type == "code") if nb else ""
    return StudentResult(student, assignment, notebook, status, results,
                         float(submitted.late_submission_penalty or 0.0), record, run, code, refusals)
