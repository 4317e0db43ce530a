"""The throughput part of `make gpu-check`: `nnkit batch` (`nnkit.batch.run_batch`, what the command
runs: a Dask LocalCluster, one `nbgrader autograde` job per hand-in) over N copies of the first
assignment's reference hand-in (students s01, s02, ...) in a copy of the course with a gradebook of
its own, W workers, graders on CUDA where there is one; then hand-ins per minute and the class's
projected time at that rate.

The worker (``--worker throughput``) writes a "hand-in" record for each hand-in as its job ends (its
run record, and its score from the gradebook) and a "result" record at the end; `summarise_throughput`
writes its section of summary.md."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from nnkit.gpu_check.records import NOT_REACHED

CLASS_STUDENTS, CLASS_ASSIGNMENTS = 300, 4
TARGET_MINUTES = 30                      # issue 23: 300 x 4 hand-ins in 30 min on a 16-core node
MIN_SECONDS = 90                         # not started with less of the deadline left
# Core-seconds of one plain `nbgrader autograde` per assignment, reference hand-in, on the 2-core
# development machine (docs/scale-out.md, "One hand-in, profiled", 2026-12-05 07:14 UTC, 74db081: the
# reference cache warm, as for every hand-in of a class after the first). The projection scales ps1's
# measured rate by them: a student's four hand-ins cost 65.9 / 14.1 = 4.67 ps1 hand-ins, not 4.
CORE_SECONDS = {"ps1_learning_rates": 14.1, "ps2_regularization": 21.5, "ps3_normalization": 10.3,
                "ps4_learning_curves": 20.0}
CORE_SECONDS_SOURCE = "docs/scale-out.md, 2026-12-05 (2-core machine, graders on the CPU)"


def student_ids(copies: int) -> list[str]:
    return [f"s{i:02d}" for i in range(1, copies + 1)]


def projection(per_minute: float, assignment: str) -> dict:
    """The class (300 students x 4 assignments) at `per_minute` hand-ins of `assignment` a minute:
    scaled by the assignments' core-seconds (`CORE_SECONDS`), and, for comparison, with the measured
    assignment standing for the average one."""
    if per_minute <= 0:
        return {}
    hand_ins = CLASS_STUDENTS * CLASS_ASSIGNMENTS
    found = {"class": f"{CLASS_STUDENTS} students x {CLASS_ASSIGNMENTS} assignments", "target_minutes": TARGET_MINUTES,
             "minutes_as_average": round(hand_ins / per_minute, 1)}
    if assignment in CORE_SECONDS and len(CORE_SECONDS) == CLASS_ASSIGNMENTS:
        factor = sum(CORE_SECONDS.values()) / CORE_SECONDS[assignment]
        found.update({"per_student": round(factor, 2), "minutes_scaled": round(CLASS_STUDENTS * factor / per_minute, 1),
                      "scaled_by": CORE_SECONDS_SOURCE})
    return found


def describe_projection(found: dict, assignment: str) -> str:
    if not found:
        return "no projection: no hand-in was graded"
    naive = (f"{found['minutes_as_average']:.0f} min if {assignment} stood for the average assignment "
             f"({CLASS_STUDENTS * CLASS_ASSIGNMENTS} hand-ins)")
    if "minutes_scaled" not in found:
        return f"{found['class']}: {naive}"
    return (f"{found['class']}: **{found['minutes_scaled']:.0f} min** scaled by the assignments' core-seconds "
            f"(a student's four hand-ins = {found['per_student']:.2f} {assignment} hand-ins, {found['scaled_by']}); "
            f"{naive}; target {TARGET_MINUTES} min")


def make_course(original: Path, root: Path, assignment: str, students: list[str]):
    """A copy of the course at `root` (no gradebook, nothing graded) with the reference hand-in of
    `assignment` in submitted/<student>/ for each of `students`."""
    import nbformat

    from nnkit.demo import filled_release, reference_answers
    from nnkit.grading.course import Course

    root.mkdir(parents=True)
    shutil.copy2(original / "nbgrader_config.py", root)
    for folder in ("source", "release", "grader_tests"):
        shutil.copytree(original / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    course = Course(root)
    source = course.source_notebook(assignment)
    notebook = filled_release(root / "release" / assignment / source.name, reference_answers(source, markers=False))
    for student in students:
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, str(folder / source.name))
        (folder / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")
    return course


def _score(db_url: str, course_id: str, assignment: str, student: str) -> tuple[float | None, float | None, float]:
    """The hand-in's autograded points and their maximum, as the gradebook holds them, and the points
    left to manual grading (ps1's written answers: no autograde gives them)."""
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(db_url, course_id) as gb:
            grades = [g for nb in gb.find_submission(assignment, student).notebooks for g in nb.grades]
            auto = [g for g in grades if g.auto_score is not None]
            return (float(sum(g.auto_score for g in auto)), float(sum(g.max_score for g in auto)),
                    float(sum(g.max_score for g in grades if g.auto_score is None)))
    except MissingEntry:
        return None, None, 0.0


def hand_in_record(run, score, max_score, manual: float, device: str) -> dict:
    problems = []
    if str(run.status) != "graded":
        problems.append(str(run.status))
    if score is None:
        problems.append("no submission in the gradebook")
    elif not max_score or score != max_score:
        problems.append(f"{score:g} of {max_score:g}")
    if run.grader_errors:
        problems.append(f"{len(run.grader_errors)} grader errors")
    if device == "cuda" and not str(run.device).startswith("cuda"):
        problems.append(f"graders on {run.device}, not CUDA")
    return {"kind": "hand-in", "student": run.student, "assignment": run.assignment,
            "status": "fail" if problems else "pass", "run_status": str(run.status), "score": score,
            "max_score": max_score, "manual_points": manual, "wall_seconds": run.wall_seconds,
            "cpu_seconds": run.cpu_seconds,
            "ran_on": run.device, "dask_worker": run.worker, "peak_tree_rss_mb": run.peak_tree_rss_mb,
            "problems": problems, "grader_errors": run.grader_errors[:3],
            **({"detail_tail": run.detail[-1500:]} if run.detail else {})}


def describe_record(record: dict) -> str:
    if record.get("kind") != "hand-in":
        return f"{record.get('status')}: {record.get('detail', record.get('why', ''))}"
    score = "-" if record["score"] is None else f"{record['score']:g}/{record['max_score']:g}"
    return (f"{record['student']} {record['run_status']}, {score} in {record['wall_seconds']:.0f} s, graders on "
            f"{record['ran_on']}" + ("" if record["status"] == "pass" else f": FAIL ({'; '.join(record['problems'])})"))


def worker_throughput(args) -> int:
    # Records go to a copy of stdout; fd 1 itself goes to the log, so that nothing the Dask processes
    # (which inherit it) print can be taken for a record.
    records = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    lock = threading.Lock()

    def emit(record: dict) -> None:
        with lock:
            records.write(json.dumps(record, default=str) + "\n")
            records.flush()

    from nnkit.batch import read_run, read_settings, run_batch, summary, with_busy_timeout

    started = time.monotonic()
    assignment, students = args.assignment, student_ids(args.copies)
    nbgrader_args = (f"--RunHiddenGraders.device={args.device}",)          # nnkit batch --device DEVICE
    base = {"assignment": assignment, "copies": args.copies, "workers": args.workers, "device": args.device}
    with tempfile.TemporaryDirectory(prefix="course-", dir=args.report_dir) as tmp:     # the check removes it
        course = make_course(Path(args.course), Path(tmp) / "course", assignment, students)
        settings = read_settings(course)
        db_url = with_busy_timeout(settings.db_url)
        seen: dict[str, dict] = {}
        stop = threading.Event()

        def sweep() -> None:
            for student in students:
                run = None if student in seen else read_run(course.root / "autograded" / student / assignment)
                if run is not None:
                    try:
                        score, top, manual = _score(db_url, settings.course_id, assignment, student)
                    except Exception as error:  # noqa: BLE001 (recorded, judged as a failure)
                        print(f"throughput: cannot read {student}'s score: {error}", file=sys.stderr)
                        score, top, manual = None, None, 0.0
                    seen[student] = hand_in_record(run, score, top, manual, args.device)
                    emit(seen[student])

        def watch() -> None:
            while not stop.wait(2):
                sweep()

        watcher = threading.Thread(target=watch, name="throughput-watch", daemon=True)
        watcher.start()
        set_up = time.monotonic() - started
        try:
            result = run_batch(course, [assignment], workers=args.workers, force=True, nbgrader_args=nbgrader_args,
                               progress=False)
        except Exception as error:  # noqa: BLE001 (the part fails; the check goes on)
            stop.set()
            watcher.join()
            emit({"kind": "result", **base, "status": "fail", "detail": f"nnkit batch failed: {type(error).__name__}: {error}",
                  "seconds": round(time.monotonic() - started, 1)})
            return 0
        stop.set()
        watcher.join()
        sweep()
        print(summary(result), file=sys.stderr)
    wall = time.monotonic() - started
    hand_ins = [seen[s] for s in students if s in seen]
    full = [h for h in hand_ins if h["status"] == "pass"]
    statuses: dict[str, int] = {}
    for h in hand_ins:
        statuses[h["run_status"]] = statuses.get(h["run_status"], 0) + 1
    core_seconds = sum(h["cpu_seconds"] for h in hand_ins)
    found = projection(result.per_minute, assignment)
    ok = len(full) == args.copies and result.per_minute > 0 and not result.problems
    emit({"kind": "result", **base, "status": "pass" if ok else "fail", "hand_ins": len(hand_ins),
          "graded_full_marks": len(full), "statuses": statuses, "per_minute": round(result.per_minute, 2),
          "batch_seconds": round(result.seconds, 1), "seconds": round(wall, 1), "set_up_seconds": round(set_up, 1),
          "per_minute_with_start": round(60 * len(hand_ins) / wall, 2) if wall else 0.0,
          "core_seconds": round(core_seconds, 1),
          "core_seconds_per_hand_in": round(core_seconds / len(hand_ins), 1) if hand_ins else None,
          "cores_busy": round(core_seconds / result.seconds, 2) if result.seconds else None,
          "job_seconds_max": max((h["wall_seconds"] for h in hand_ins), default=None),
          "job_seconds_median": sorted(h["wall_seconds"] for h in hand_ins)[len(hand_ins) // 2] if hand_ins else None,
          "projection": found, "problems": result.problems, "cluster": result.cluster,
          "detail": (f"{len(hand_ins)} hand-ins in {result.seconds:.0f} s on {args.workers} workers: "
                     f"{result.per_minute:.2f} per minute ({wall:.0f} s with the course copy, the gradebook "
                     f"and the cluster's start); {len(full)}/{args.copies} graded with full marks")})
    return 0


def summarise_throughput(check) -> tuple[list[str], list[str], list[str], list[dict]]:
    """summary.md's section for the throughput part: lines, failures, what was not reached, and the
    record for it when no worker reported (see `summary.summarise`)."""
    plan = check.throughput_plan
    lines, failures, unreached, late = [], [], [], []
    lines += ["", f"## Throughput: `nnkit batch` over {plan['copies']} copies of {plan['assignment']}'s reference "
                  f"hand-in, {plan['workers']} workers, graders on {plan['device']}", ""]
    if plan.get("not_started"):
        unreached.append("throughput (not started)")
        lines.append(f"{NOT_REACHED}: {plan['not_started']}")
        return lines, failures, unreached, late
    records = check.results.of("throughput")
    hand_ins = [r for r in records if r.get("kind") == "hand-in"]
    result = next((r for r in reversed(records) if r.get("kind") == "result"), None)
    if result is not None:
        lines.append(f"{result['status']}: {result['detail']}.")
        if "per_minute" in result:
            lines.append(f"Job time median {result['job_seconds_median']} s, longest {result['job_seconds_max']} s; "
                         f"{result['core_seconds_per_hand_in']} core-s a hand-in, {result['cores_busy']} cores busy "
                         f"on average.")
            lines.append(f"Projected: {describe_projection(result.get('projection') or {}, plan['assignment'])}.")
        if result["status"] != "pass":
            failures.append(f"throughput: {result['detail']}")
    else:
        unreached.append(f"throughput ({len(hand_ins)} of {plan['copies']} hand-ins graded before the deadline)")
        late.append({"part": "throughput", "hand_ins_done": len(hand_ins), "copies": plan["copies"]})
        lines.append(f"{NOT_REACHED}: {len(hand_ins)} of {plan['copies']} hand-ins had been graded.")
    if hand_ins:
        manual = max(h.get("manual_points") or 0 for h in hand_ins)
        lines += ["", "Score: the autograded points" + (f" ({manual:g} more are left to manual grading)." if manual else ".")]
        lines += ["", "| student | status | score | wall s | core-s | graders on | verdict |", "|---|---|---|---|---|---|---|"]
        for h in hand_ins:
            score = "-" if h["score"] is None else f"{h['score']:g}/{h['max_score']:g}"
            verdict = "pass" if h["status"] == "pass" else "FAIL: " + "; ".join(h["problems"])
            lines.append(f"| {h['student']} | {h['run_status']} | {score} | {h['wall_seconds']:.0f} | "
                         f"{h['cpu_seconds']:.0f} | {h['ran_on']} | {verdict} |")
    return lines, failures, unreached, late
