"""The class views of `nnkit report`: one dashboard per assignment (`reports/<ps>.html`) and the
course page (`reports/index.html`), for staff only."""
from __future__ import annotations

import os
import re
import statistics
from collections import Counter
from pathlib import Path

import jinja2

from nnkit.grading.status import Status
from nnkit.report import similarity
from nnkit.report.collect import AssignmentResults
from nnkit.report.plots import figure, to_svg
from nnkit.report.templating import css, environment

REPORT_PAGE = "report.html"
TOP_FAILURES = 3
# Failure messages that differ only in their numbers ("std 0.3169, expected 0.0316") are one kind.
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def feedback_path(course, student: str, assignment: str) -> Path:
    return course.root / "feedback" / student / assignment / REPORT_PAGE


def grader_errors(student) -> list[dict]:
    """The graders' own exceptions in this hand-in (its record; staff only, never on a feedback page)."""
    errors = ((student.record.graders or {}).get("grader_errors") if student.record else None) or []
    return [e for e in errors if isinstance(e, dict)]


def flags(results: AssignmentResults) -> dict[str, list[str]]:
    """student -> the problems a TA should look at in their hand-in (similar code is listed apart,
    once per pair)."""
    found: dict[str, list[str]] = {}
    for s in results.students:
        reasons = []
        if s.status in (Status.TIMED_OUT, Status.CRASHED, Status.UNREADABLE, Status.WRONG_ASSIGNMENT, Status.NOT_GRADED):
            reasons.append(s.status.value)
        if s.intake_note and not s.status.hand_in_replaced:
            reasons.append("misnamed notebook")
        if s.refusals:
            reasons.append("sandbox refusal (" + ", ".join(s.refusals) + ")")
        if s.run.limit and s.status is not Status.TIMED_OUT:
            reasons.append(f"hit a resource limit ({s.run.limit})")
        broken = sorted({str(e.get("cell")) for e in grader_errors(s)})
        if broken:
            reasons.append(f"grader error in {', '.join(broken)} (a bug of the graders, not the student's: "
                           "fix the grader and regrade)")
        if reasons:
            found[s.student] = reasons
    return found


def part_statistics(results: AssignmentResults) -> list[dict]:
    """Per part: its description, the mean score and the share with full marks (of those graded),
    students who lost points, the most common failure messages, grader errors apart, and written
    answers still waiting for a TA. A part a grader error broke says nothing about that student's
    work: it is left out of the mean, the shares and the messages."""
    rows = []
    handed_in = [s for s in results.students if s.status is not Status.NOT_SUBMITTED]
    for part in results.parts:
        broken = {s.student for s in handed_in if any(e.get("cell") == part.cell for e in grader_errors(s))}
        got = [(s.student, next(p for p in s.parts if p.part.cell == part.cell)) for s in handed_in]
        graded = [p for student, p in got if p.score is not None and student not in broken]
        kinds: Counter = Counter()
        example: dict[str, str] = {}
        for student, p in got:
            if student in broken or not p.failed:
                continue
            for key in {_NUMBER.sub("#", m): m for m in p.messages}.items():
                kinds[key[0]] += 1                      # once per student
                example.setdefault(key[0], key[1])
        rows.append({"part": part, "cell": part.cell, "kind": "hidden graders" if part.kind == "hidden" else "written",
                     "graded": len(graded), "failed": sum(p.failed for p in graded),
                     "mean": statistics.mean(p.score for p in graded) if graded else None,
                     "full": sum(not p.failed for p in graded) / len(graded) if graded else None,
                     "messages": [(example[k], n) for k, n in kinds.most_common(TOP_FAILURES)],
                     "waiting": sum(p.score is None for _, p in got), "grader_errors": len(broken)})
    return rows


def histogram(scores: list[float], max_score: float, salt: str) -> str:
    fig = figure(6.0, 1.6)
    ax = fig.subplots()
    bins = max(1, min(20, int(max_score) or 1))
    ax.hist(scores, bins=bins, range=(0, max_score or 1), color="#2f6f9f", edgecolor="white", label="students")
    ax.set_xlabel("total score")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False, loc="upper right")
    return to_svg(fig, salt)


def write_dashboard(course, results: AssignmentResults, pairs: list[similarity.SimilarPair], out: Path,
                    env: jinja2.Environment | None = None) -> tuple[Path, dict]:
    env = env or environment()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{results.assignment}.html"
    handed_in = [s for s in results.students if s.status is not Status.NOT_SUBMITTED]
    max_score = sum(p.max_points for p in results.parts)
    scores = [s.score for s in handed_in]
    summary = (f"Median {statistics.median(scores):g}, mean {statistics.mean(scores):.1f}, lowest {min(scores):g}, "
               f"highest {max(scores):g} of {max_score:g}." if scores else "No hand-ins yet.")
    links = {}
    for s in results.students:
        page = feedback_path(course, s.student, results.assignment)
        if page.is_file():
            links[s.student] = os.path.relpath(page, out)
    flagged = flags(results)
    slowest = sorted((s for s in handed_in if s.run.seconds is not None), key=lambda s: -s.run.seconds)[:10]
    sources = {s.run.source for s in handed_in}
    html = env.get_template("assignment.html.j2").render(
        a=results, css=css(), students=results.students, submitted=len(handed_in),
        by_status=sorted(Counter(s.status.value for s in results.students).items()),
        histogram=histogram(scores, max_score, f"hist-{results.assignment}"), summary=summary, max_score=max_score,
        parts=part_statistics(results), flagged=sorted(flagged.items()), pairs=pairs, links=links, slowest=slowest,
        # a column only where some hand-in has its data: an empty column reads as a broken page
        show_memory=any(s.run.peak_memory_mb is not None for s in slowest),
        show_limit=any(s.run.limit for s in slowest), show_late=any(s.late_penalty for s in results.students),
        time_source=" and ".join(sorted(f"the {x}" for x in sources)) or "nowhere (no runs recorded)",
        limited=[s.student for s in handed_in if s.run.limit], threshold=similarity.THRESHOLD,
        min_tokens=similarity.MIN_TOKENS)
    path.write_text(html)
    mean = statistics.mean(scores) if scores else None
    return path, {"name": results.assignment, "page": path.name, "submitted": len(handed_in),
                  "students": len(results.students), "mean": mean, "max_score": max_score,
                  "flagged": len(flagged), "similar_pairs": len(pairs)}


def write_course_dashboard(course, all_results: list[AssignmentResults], summaries: list[dict], out: Path,
                           env: jinja2.Environment | None = None) -> Path:
    env = env or environment()
    students = sorted({s.student for a in all_results for s in a.students})
    rows = []
    for student in students:
        cells, total = [], 0.0
        for a in all_results:
            mine = next((s for s in a.students if s.student == student), None)
            page = feedback_path(course, student, a.assignment)
            if mine is None or mine.status is Status.NOT_SUBMITTED:
                cells.append({"text": "not submitted", "link": None})
                continue
            total += mine.score
            cells.append({"text": f"{mine.score:g}" + ("" if mine.status is Status.GRADED else f" ({mine.status.value})"),
                          "link": os.path.relpath(page, out) if page.is_file() else None})
        rows.append({"student": student, "cells": cells, "total": total})
    path = out / "index.html"
    path.write_text(env.get_template("course.html.j2").render(css=css(), course_id=course.course_id,
                                                              assignments=summaries, rows=rows))
    return path
