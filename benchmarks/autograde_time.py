"""Seconds to autograde one student's full hand-in, per assignment, and to run the hidden graders alone.

    python benchmarks/autograde_time.py [--course DIR ...] [--assignment A ...] [--no-graders]

For each course folder (default: this checkout; give several, e.g. an older revision exported with
`git archive`, to compare them in one run on the same machine), the script copies what an instructor
has (nbgrader_config.py, source/, release/, grader_tests/) into a temporary folder, hands in the
reference solutions as one student ("reference": the release notebook with every solution cell
answered from source/), and times, per assignment:

* `nbgrader autograde <assignment> --student reference`, exactly as configured (sandboxed kernel,
  the out-of-kernel graders), i.e. executing the whole notebook, experiments included;
* `pytest grader_tests/<assignment> --submission <autograded notebook>`: the hidden graders alone.

It prints the automatic score next to each time, so that a faster run that lost points shows.
Only figures from one run are comparable (the machine is shared and noisy): compare rows, not runs.
Beside the wall time it gives the CPU time of the whole process tree (nbgrader, the sandboxed kernel,
the grader processes), which a busy machine disturbs far less: each command runs in a cgroup of its
own under the cgroup-v1 `cpuacct` hierarchy, which every descendant inherits, and the cgroup's
`cpuacct.usage` is read when it ends. Where that hierarchy is not writable the column shows "-".
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnkit.demo import cell_scores, filled_release, reference_answers  # noqa: E402
from nnkit.grading.course import Course  # noqa: E402
from nnkit.grading.notebook import grade_id, hidden_grader_cells, read_notebook  # noqa: E402
from nnkit.grading.results import cell_points  # noqa: E402

STUDENT = "reference"
COPIED = ("source", "release", "grader_tests")


def course_copy(origin: Path, destination: Path) -> Course:
    """What an instructor has, without generated state (gradebook, autograded/, ...)."""
    destination.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(origin / name, destination / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(origin / "nbgrader_config.py", destination / "nbgrader_config.py")
    return Course(destination)


def hand_in(course: Course, assignment: str) -> Path:
    source = course.source_notebook(assignment)
    release = course.root / "release" / assignment / source.name
    folder = course.root / "submitted" / STUDENT / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(filled_release(release, reference_answers(source)), str(folder / source.name))
    (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
    return course.root / "autograded" / STUDENT / assignment / source.name


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuAccount:
    """A fresh cpuacct cgroup: a process that joins it (before exec) takes all its descendants with it,
    so `seconds()` is the CPU time of the whole tree, sandboxed kernels and graders included."""

    def __init__(self):
        self.path = CPUACCT / f"nnkit-autograde-time-{os.getpid()}-{time.monotonic_ns()}"
        try:
            self.path.mkdir()
        except OSError:
            self.path = None

    def join(self) -> None:  # runs in the child, between fork and exec
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def seconds(self) -> float:
        if self.path is None:
            return float("nan")
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass  # a straggling process still in it: the kernel drops the empty group later


def timed(command: list[str], cwd: Path, ok_codes=(0,)) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the command's whole process tree); stops unless it exits in `ok_codes`."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    account = CpuAccount()
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, preexec_fn=account.join)
        seconds, cpu = time.monotonic() - start, account.seconds()
    finally:
        account.remove()
    if done.returncode not in ok_codes:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command[:4])} failed in {cwd} (exit {done.returncode}); its output is above.")
    return seconds, cpu


def automatic_score(course: Course, assignment: str) -> tuple[float, float]:
    source = read_notebook(course.source_notebook(assignment))
    hidden = [grade_id(c) for c in hidden_grader_cells(source)]
    scores = cell_scores(course, assignment, STUDENT)
    return sum(scores[c] for c in hidden), sum(cell_points(source).values())


Row = tuple  # (assignment, (wall, cpu) of autograde, (wall, cpu) of the graders or None, score)


def measure(course: Course, assignment: str, graders: bool) -> Row:
    # Untimed: registers the assignment (and its cells) in the gradebook, as an instructor does once.
    timed([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], course.root)
    autograded = hand_in(course, assignment)
    autograde = timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--create", "--force",
                       "--student", STUDENT], course.root)
    got, out_of = automatic_score(course, assignment)
    grader = None
    if graders:
        # Exit 1 (a test failed) is a result, not a breakdown: the score table of the autograde says which.
        grader = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"grader_tests/{assignment}", "--submission", str(autograded)], course.root, ok_codes=(0, 1))
    print(f"  {course.root.name}: {assignment}: autograde {autograde[0]:.1f} s (CPU {autograde[1]:.1f} s)"
          + (f", graders {grader[0]:.1f} s (CPU {grader[1]:.1f} s)" if grader else "")
          + f", score {got:g}/{out_of:g}", flush=True)
    return assignment, autograde, grader, f"{got:g}/{out_of:g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--course", action="append", type=Path,
                        help="a course folder (repeat to compare several in one run; default: this checkout)")
    parser.add_argument("--assignment", action="append", help="default: every assignment of the first course")
    parser.add_argument("--no-graders", dest="graders", action="store_false",
                        help="skip timing `pytest grader_tests --submission` on its own")
    args = parser.parse_args()
    if not os.environ.get("MNIST_ROOT"):
        raise SystemExit("Set MNIST_ROOT to a folder with the four MNIST IDX files (the graders never download).")
    courses = [c.resolve() for c in (args.course or [ROOT])]
    assignments = args.assignment or Course(courses[0]).assignments()
    results: dict[Path, list[Row]] = {origin: [] for origin in courses}
    with tempfile.TemporaryDirectory(prefix="nnkit-autograde-time-") as tmp:
        copies = {origin: course_copy(origin, Path(tmp) / f"{i}-{origin.name}") for i, origin in enumerate(courses)}
        for assignment in assignments:  # courses interleaved per assignment: a busy spell hits both alike
            for origin, course in copies.items():
                results[origin].append(measure(course, assignment, args.graders))
    print(f"\n{'course':<24}{'assignment':<22}{'autograde s':>12}{'(CPU s)':>9}{'graders s':>11}{'(CPU s)':>9}  score")

    def line(name, assignment, autograde, grader, score=""):
        def number(x, width):
            return f"{x:>{width}.1f}" if x == x else f"{'-':>{width}}"  # nan: no CPU account here
        grader_text = f"{number(grader[0], 11)}{number(grader[1], 9)}" if grader else f"{'-':>11}{'-':>9}"
        print(f"{name[:23]:<24}{assignment:<22}{number(autograde[0], 12)}{number(autograde[1], 9)}{grader_text}  {score}")

    for origin, rows in results.items():
        for assignment, autograde, grader, score in rows:
            line(origin.name, assignment, autograde, grader, score)
        total = tuple(sum(r[1][i] for r in rows) for i in (0, 1))
        graders_total = tuple(sum(r[2][i] for r in rows) for i in (0, 1)) if args.graders else None
        line(origin.name, "TOTAL", total, graders_total)
    if len(results) > 1:
        first, *others = results
        base = sum(r[1][0] for r in results[first]), sum(r[1][1] for r in results[first])
        for origin in others:
            now = sum(r[1][0] for r in results[origin]), sum(r[1][1] for r in results[origin])
            print(f"{origin.name} / {first.name}: autograde wall {now[0] / base[0]:.2f}x, CPU {now[1] / base[1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
