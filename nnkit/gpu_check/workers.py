"""What each worker of `make gpu-check` runs (``python -m nnkit.gpu_check --worker KIND``): it writes its
results as JSON lines on stdout (`emit`) and everything else to its log."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nnkit.gpu_check.records import json_number

_emit_lock = threading.Lock()


def emit(record: dict) -> None:
    with _emit_lock:
        sys.__stdout__.write(json.dumps(record, default=str) + "\n")
        sys.__stdout__.flush()


def quiet_stdout() -> None:
    """Anything a worker prints goes to its log (stderr); stdout carries only `emit`'s JSON lines."""
    sys.stdout = sys.stderr


def worker_reference(args) -> int:
    from nnkit.grading.course import Course
    from nnkit.grading.runner import run_graders

    course = Course(Path(args.course))
    pairs = [(a, d) for a in course.assignments() for d in args.devices.split(",")]

    def one(assignment: str, device: str) -> None:
        started = time.monotonic()
        try:
            run = run_graders(course, assignment, course.root / "solutions" / f"{assignment}.ipynb",
                              device=device, fork_checker=True)
        except Exception as error:
            emit({"assignment": assignment, "device": device, "error": f"{type(error).__name__}: {error}",
                  "seconds": round(time.monotonic() - started, 1)})
            return
        record = {"assignment": assignment, "device": device, "score": run.score, "max_score": run.max_score,
                  "status": str(run.status), "seconds": round(run.seconds, 1), "ran_on": run.device,
                  "grader_errors": list(getattr(run, "grader_errors", []) or []),
                  "cells": {gid: {"score": c.score, "max": c.max_points, "passed": c.passed, "total": c.total,
                                  "messages": c.messages[:3]} for gid, c in run.cells.items()},
                  "notes": run.notes}
        if str(run.status) != "graded" or run.score != run.max_score:
            record["detail_tail"] = run.detail[-2000:]
        emit(record)

    with ThreadPoolExecutor(max(1, args.workers)) as pool:
        for future in [pool.submit(one, a, d) for a, d in pairs]:
            future.result()
    return 0


HOG_SOURCE = """
import torch
HELD = []
try:
    while True:                                   # 1 GiB at a time, until the GPU refuses
        HELD.append(torch.empty(1 << 28, device="cuda"))
except RuntimeError as error:
    REFUSED = str(error).splitlines()[0][:200]


def held():
    return sum(t.numel() * t.element_size() for t in HELD), REFUSED
"""


def worker_hog(args) -> int:
    """A memory hog in a sandboxed probe (capped as every probe on CUDA is), and three honest ps1
    reference runs on CUDA started while it holds its memory."""
    import tempfile

    from nnkit.grading.course import Course
    from nnkit.grading.remote import Probe
    from nnkit.grading.runner import run_graders
    from nnkit.sandbox import Limits, sandbox_argv

    course = Course(Path(args.course))
    limits = Limits(gpu=True)
    with tempfile.TemporaryDirectory(prefix="nnkit-hog-") as tmp:
        hog = Probe(HOG_SOURCE, Path(tmp), default_budget=120,
                    wrap=lambda argv, folder: sandbox_argv(argv, writable=[folder], hidden=[course.root], limits=limits))
        try:
            held, refused = hog.module.held()
            solution = course.root / "solutions" / "ps1_learning_rates.ipynb"
            with ThreadPoolExecutor(3) as pool:
                runs = list(pool.map(lambda _: run_graders(course, "ps1_learning_rates", solution, device="cuda"),
                                     range(3)))
        finally:
            hog.close()
    honest = [f"{r.score:g}/{r.max_score:g}" for r in runs]
    ok = held <= limits.gpu_memory_bytes and all(r.score == r.max_score for r in runs)
    emit({"status": "pass" if ok else "fail", "hog_held_bytes": held, "cap_bytes": limits.gpu_memory_bytes,
          "hog_refused": refused, "honest_scores": honest,
          "what": f"the hog got {held / 2**30:.1f} GiB (cap {limits.gpu_memory_bytes / 2**30:.0f} GiB: '{refused}'); "
                  f"honest ps1 runs beside it: {', '.join(honest)}"})
    return 0


def worker_bank(args) -> int:
    from nnkit.grading.course import Course
    from nnkit.variants import check_all, discover, report

    course = Course(Path(args.course))
    variants = discover(course.variants_dir, None)
    emit({"kind": "plan", "variants": [{"label": v.label, "kind": v.kind} for v in variants]})

    def on_result(r) -> None:
        emit({"variant": r.variant.label, "variant_kind": r.variant.kind, "as_expected": r.as_expected, "caught": r.caught,
              "failed_cells": r.failed_cells, "run_status": str(r.status), "messages": r.messages[:3],
              "grader_errors": list(getattr(r, "grader_errors", []) or [])})

    results = check_all(course, variants, device=args.device, workers=args.workers, on_result=on_result)
    text, ok = report(results)
    emit({"kind": "report", "text": text, "ok": ok})
    return 0


def worker_calibrate(args) -> int:
    """Measure the claims of the units "ASSIGNMENT SEED" read from stdin, one line each, as
    `nnkit calibrate` would (nnkit.cli.cmd_calibrate); "unit-done" after each asks for the next."""
    from nnkit.calibration import load_claims
    from nnkit.grading.course import Course
    from nnkit.grading.devices import pick_device
    from nnkit.grading.precision import use_ieee_float32
    from nnkit.threads import GRADING_THREADS, use_grading_threads

    course = Course(Path(args.course))
    device = pick_device(args.device)
    use_grading_threads(GRADING_THREADS)
    use_ieee_float32()
    loaded: dict[str, list] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        assignment, seed = line.split()[0], int(line.split()[1])
        if assignment not in loaded:
            loaded[assignment] = load_claims(course, assignment)
            sys.path.insert(0, str(course.grader_dir(assignment)))   # the claims import their reference lazily
            emit({"kind": "plan", "assignment": assignment,
                  "claims": [{"claim": c.name, "statistic": c.statistic, "op": c.op, "threshold": c.threshold}
                             for c in loaded[assignment]]})
        for index, claim in enumerate(loaded[assignment]):
            try:
                value = claim.measure(seed, device)
            except Exception as error:
                emit({"assignment": assignment, "index": index, "seed": seed, "claim": claim.name,
                      "error": f"{type(error).__name__}: {error}"})
                continue
            emit({"assignment": assignment, "index": index, "seed": seed, "claim": claim.name,
                  "value": json_number(value)})
        emit({"kind": "unit-done", "assignment": assignment, "seed": seed})
    return 0


def worker_calibration_report(args) -> int:
    from nnkit.calibration import summarise as summarise_claim, write_report
    from nnkit.grading.devices import pick_device

    payload = json.loads(Path(args.input).read_text())
    results = []
    for row in payload["claims"]:
        result = summarise_claim(row["assignment"], row["claim"], row["statistic"], row["op"], row["threshold"],
                                 [float(v) for v in row["values"]])
        results.append(result)
        emit({"assignment": result.assignment, "claim": result.claim, "holds": result.holds,
              "holds_on": result.holds_on, "seeds": result.seeds, "margin": json_number(result.margin),
              "minimum": json_number(result.minimum), "median": json_number(result.median), "maximum": json_number(result.maximum)})
    path = write_report(results, Path(args.report_dir), pick_device(args.device),
                        not_reached=payload["not_reached"], keep_earlier=False)
    emit({"kind": "written", "path": str(path)})
    return 0


def worker_autograde(args) -> int:
    """One `nbgrader autograde` of the reference hand-in, in a copy of the course (its own gradebook)."""
    import nbformat

    from nnkit.demo import filled_release, reference_answers
    from nnkit.grading.course import Course
    from nnkit.grading.notebook import grade_id, hidden_grader_cells, read_notebook
    from nnkit.grading.results import cell_points
    from nnkit.grading.status import read_record

    original = Course(Path(args.course))
    assignment = args.assignment
    keep = Path(args.out) / "autograde" / assignment
    keep.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"nnkit-gpu-check-{assignment}-") as tmp:
        root = Path(tmp) / "course"
        root.mkdir()
        shutil.copy2(original.root / "nbgrader_config.py", root)
        for folder in ("source", "release", "grader_tests"):
            shutil.copytree(original.root / folder, root / folder,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        course = Course(root)
        source = course.source_notebook(assignment)
        handin = root / "submitted" / "reference" / assignment
        handin.mkdir(parents=True)
        nbformat.write(filled_release(root / "release" / assignment / source.name, reference_answers(source)),
                       str(handin / source.name))
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        log = open(keep / "nbgrader.log", "w")
        steps = [["generate_assignment", assignment, "--force", f"--CourseDirectory.release_directory={tmp}/release"],
                 ["autograde", assignment, "--student", "reference", "--force",
                  f"--RunHiddenGraders.device={args.device}"]]
        for step in steps:
            log.write(f"$ nbgrader {' '.join(step)}\n")
            log.flush()
            done = subprocess.run([sys.executable, "-m", "nbgrader", *step], cwd=root, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if done.returncode != 0:
                log.close()
                emit({"assignment": assignment, "status": "fail", "seconds": round(time.monotonic() - started, 1),
                      "detail": f"nbgrader {step[0]} exited with status {done.returncode} (log: {keep / 'nbgrader.log'})"})
                return 0
        log.close()
        folder = root / "autograded" / "reference" / assignment
        record = read_record(folder)
        for name in (source.name, ".nnkit-status.json"):
            if (folder / name).is_file():
                shutil.copy2(folder / name, keep / name.lstrip("."))
        hidden = [grade_id(c) for c in hidden_grader_cells(read_notebook(source))]
        points = cell_points(read_notebook(source))
        from nnkit.demo import cell_scores

        scores = cell_scores(course, assignment, "reference")
        got, top = sum(scores.get(c, 0) for c in hidden), sum(points.get(c, 0) for c in hidden)
    graders = (record.graders if record else {}) or {}
    device = str(graders.get("device", "?"))
    status = str(record.status) if record else "no record"
    ok = (record is not None and status == "graded" and str(graders.get("status")) == "graded" and got == top
          and (device.startswith("cuda") if args.device == "cuda" else True) and not graders.get("grader_errors"))
    emit({"assignment": assignment, "status": "pass" if ok else "fail", "seconds": round(time.monotonic() - started, 1),
          "hidden_score": got, "hidden_max": top, "record_status": status, "graders": graders,
          "detail": f"{status}, {got:g}/{top:g} hidden points, graders {graders.get('status', '?')} on {device} "
                    f"in {graders.get('seconds', '?')} s; whole autograde {time.monotonic() - started:.0f} s"})
    return 0


def worker_throughput(args) -> int:
    from nnkit.gpu_check.throughput import worker_throughput as run

    return run(args)


WORKERS = {"reference": worker_reference, "hog": worker_hog, "bank": worker_bank, "calibrate": worker_calibrate,
           "calibration-report": worker_calibration_report, "autograde": worker_autograde,
           "throughput": worker_throughput}
