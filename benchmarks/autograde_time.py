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


def timed(command: list[str], cwd: Path) -> float:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    start = time.monotonic()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command[:4])} failed in {cwd} (exit {done.returncode}); its output is above.")
    return seconds


def automatic_score(course: Course, assignment: str) -> tuple[float, float]:
    source = read_notebook(course.source_notebook(assignment))
    hidden = [grade_id(c) for c in hidden_grader_cells(source)]
    scores = cell_scores(course, assignment, STUDENT)
    return sum(scores[c] for c in hidden), sum(cell_points(source).values())


def measure(origin: Path, assignments: list[str], graders: bool) -> list[tuple[str, float, float | None, str]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="nnkit-autograde-time-") as tmp:
        course = course_copy(origin, Path(tmp))
        for assignment in assignments:
            # Untimed: registers the assignment (and its cells) in the gradebook, as an instructor does once.
            timed([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"], course.root)
            autograded = hand_in(course, assignment)
            seconds = timed([sys.executable, "-m", "nbgrader", "autograde", assignment, "--create", "--force",
                             "--student", STUDENT], course.root)
            got, out_of = automatic_score(course, assignment)
            grader_seconds = None
            if graders:
                grader_seconds = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                        f"grader_tests/{assignment}", "--submission", str(autograded)], course.root)
            rows.append((assignment, seconds, grader_seconds, f"{got:g}/{out_of:g}"))
            print(f"  {origin.name}: {assignment}: autograde {seconds:.1f} s"
                  + (f", graders {grader_seconds:.1f} s" if grader_seconds is not None else "")
                  + f", score {got:g}/{out_of:g}", flush=True)
    return rows


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
    results = {}
    for origin in courses:
        print(f"{origin}:", flush=True)
        results[origin] = measure(origin, assignments, args.graders)
    print(f"\n{'course':<28}{'assignment':<22}{'autograde s':>12}{'graders s':>11}  score")
    for origin, rows in results.items():
        for assignment, seconds, grader_seconds, score in rows:
            graders_text = f"{grader_seconds:.1f}" if grader_seconds is not None else "-"
            print(f"{origin.name[:27]:<28}{assignment:<22}{seconds:>12.1f}{graders_text:>11}  {score}")
        total = sum(r[1] for r in rows)
        graders_total = sum(r[2] for r in rows if r[2] is not None)
        print(f"{origin.name[:27]:<28}{'TOTAL':<22}{total:>12.1f}{graders_total if args.graders else 0:>11.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
