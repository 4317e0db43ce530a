"""Students per minute of `nnkit batch` at 1 and 2 workers on the same batch, and the scaling efficiency.

    python benchmarks/batch_scaling.py [--assignment ps1_learning_rates] [--students 6] [--workers 1 2] [--rounds 1]

For each worker count (and each round), a fresh copy of the course (nbgrader_config.py, source/,
release/, grader_tests/, the mutant bank) gets `nbgrader generate_assignment` (untimed) and the
same N hand-ins: the reference solution, then alternately correct and wrong variants from
variants/<assignment>/. `nnkit.batch.run_batch` then grades them on a Dask LocalCluster
with k workers (SQLite gradebook, as by default). Timed: from the first job's submission to the
last result (cluster start-up is printed apart). It prints, per run, students per minute, the
mean job time (it grows when workers fight over the cores) and its CPU time (CPU/wall: the cores one
job keeps busy), how many cores the whole machine kept busy (from /proc/stat) and the load
average, then

    speedup = (students/min at k workers) / (students/min at 1 worker),  efficiency = speedup / k,

and roughly the most the extra workers can give: a run at 1 worker already keeps more than one
core busy (the checker's sandboxed probe starts while the checker collects its tests, and Dask and
the driver run beside the job), so with c cores the speedup at k workers is about
min(k, c) / (cores busy at 1 worker) at most. (The driver's share does not grow with k, so a run
can pass this figure slightly.)

The grades must be the same at every k; the script says so, or stops. The machine must be
otherwise idle for the figures to mean anything: the load average is printed for that reason.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnkit.batch import run_batch  # noqa: E402
from nnkit.demo import cell_scores, filled_release, nbgrader, reference_answers  # noqa: E402
from nnkit.grading.course import Course  # noqa: E402
from nnkit.variants import discover  # noqa: E402

COPIED = ("source", "release", "grader_tests", "variants")


def course_copy(destination: Path) -> Course:
    for name in COPIED:
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", destination / "nbgrader_config.py")
    return Course(destination)


def class_of(course: Course, assignment: str, n: int) -> dict[str, dict[str, str]]:
    """N students' answers: the reference, then correct and wrong variants in turn."""
    reference = reference_answers(course.source_notebook(assignment))
    variants = discover(course.variants_dir, [assignment])
    correct = [v for v in variants if v.kind == "correct"]
    wrong = [v for v in variants if v.kind == "wrong"]
    students = {"reference": reference}
    for i in range(n - 1):
        pool = correct if i % 2 == 0 and correct else wrong
        variant = pool[(i // 2) % len(pool)]
        students[f"{variant.kind}_{variant.name}"[:60]] = {**reference, **variant.cells}
    return students


def hand_in(course: Course, assignment: str, students: dict[str, dict[str, str]]) -> None:
    source = course.source_notebook(assignment)
    for student, answers in students.items():
        folder = course.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(filled_release(course.root / "release" / assignment / source.name, answers),
                       str(folder / source.name))
        (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")


def busy_core_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (user, nice, system, irq, softirq;
    /proc/stat counts in 1/100 s): the difference over a run, divided by its wall time, is how many
    cores were busy on average."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def one_run(tmp: Path, assignment: str, n: int, workers: int, label: str) -> dict:
    course = course_copy(tmp / label)
    nbgrader(course, "generate_assignment", assignment, "--force")
    students = class_of(course, assignment, n)
    hand_in(course, assignment, students)
    load_before = os.getloadavg()[0]
    start, busy_before = time.monotonic(), busy_core_seconds()
    result = run_batch(course, [assignment], workers=workers, force=True)
    total = time.monotonic() - start
    busy_cores = (busy_core_seconds() - busy_before) / total
    grades = {s: cell_scores(course, assignment, s) for s in students}
    bad = [r for r in result.records if not r.finished]
    if bad:
        raise SystemExit(f"{label}: {len(bad)} job(s) did not finish: " + "; ".join(f"{r.student}: {r.detail[:300]}" for r in bad))
    mean_job = sum(r.wall_seconds for r in result.records) / len(result.records)
    mean_cpu = sum(r.cpu_seconds for r in result.records) / len(result.records)
    run = dict(label=label, workers=workers, seconds=result.seconds, total=total, per_minute=result.per_minute,
               mean_job=mean_job, busy_cores=busy_cores, load=(load_before, os.getloadavg()[0]), grades=grades,
               statuses={r.student: str(r.status) for r in result.records})
    print(f"  {label}: {n} students in {result.seconds:.1f} s (+{total - result.seconds:.1f} s cluster start/stop) "
          f"= {result.per_minute:.2f} students/min; mean job {mean_job:.1f} s (CPU {mean_cpu:.1f} s); "
          f"machine busy {busy_cores:.2f} of {os.cpu_count()} cores; "
          f"load average {run['load'][0]:.1f} -> {run['load'][1]:.1f}", flush=True)
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="ps1_learning_rates")
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1, help="repeat the worker counts in turn (a busy spell then hits all)")
    args = parser.parse_args()
    if not os.environ.get("MNIST_ROOT"):
        raise SystemExit("Set MNIST_ROOT to a folder with the four MNIST IDX files (the graders never download).")
    print(f"{args.students} students of {args.assignment}, workers {args.workers}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="nnkit-batch-scaling-") as tmp:
        for round_ in range(args.rounds):
            for k in args.workers:
                runs.append(one_run(Path(tmp), args.assignment, args.students, k, f"round{round_ + 1}-{k}w"))
    reference = runs[0]
    for run in runs[1:]:
        if run["grades"] != reference["grades"]:
            raise SystemExit(f"grades differ between {reference['label']} and {run['label']}")
    print(f"grades identical in all {len(runs)} runs; statuses: {sorted(set(reference['statuses'].values()))}")
    rate = {k: sum(r["per_minute"] for r in runs if r["workers"] == k) / args.rounds for k in args.workers}
    base = min(args.workers)
    print(f"\n{'workers':>8}{'students/min':>14}{'speedup':>9}{'efficiency':>12}")
    for k in args.workers:
        speedup = rate[k] / rate[base]
        print(f"{k:>8}{rate[k]:>14.2f}{speedup:>9.2f}{speedup / (k / base):>12.2f}")
    if base == 1:
        busy = sum(r["busy_cores"] for r in runs if r["workers"] == 1) / args.rounds
        cores = os.cpu_count() or 1
        print(f"\nAt 1 worker the machine kept {busy:.2f} cores busy; roughly the most k workers can give on "
              f"{cores} cores: " + ", ".join(f"{min(k, cores) / busy:.2f}x at {k}" for k in args.workers if k > 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
