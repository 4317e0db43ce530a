"""`nnkit` command line: the kit's jobs for instructors and its own checks.

    nnkit demo         release, three submissions, autograde, feedback, export, score table
    nnkit grade NB     run the hidden graders on one notebook (as autograde does)
    nnkit mutants      kill rate of the mutant bank, false failures of the correct variants
    nnkit calibrate    measure every behavioural claim over N seeds -> calibration/<device>.md
    nnkit solutions    execute the reference solutions -> solutions/<assignment>.ipynb
    nnkit report       feedback pages, class dashboards (reports/) and the LMS CSV, after generate_feedback
    nnkit batch        autograde every hand-in on a Dask pool, with progress and a record per hand-in
    nnkit author       authoring/<ps>/<notebook>.py <-> source/<ps>/<notebook>.ipynb (build, pull, check)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nnkit.data import MnistNotFound
from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.devices import DEVICE_CHOICES
from nnkit.grading.notebook import NotebookProblem, check_notebook_is, read_notebook
from nnkit.grading.status import Status
from nnkit.threads import GRADING_THREADS, use_grading_threads


def _course(args) -> Course:
    return Course.from_nbgrader(root=args.course or Path.cwd())


def _assignments(course: Course, args) -> list[str]:
    return args.assignment or course.assignments()


# What staff can do about a notebook `nnkit grade` refuses (NotebookProblem.kind); the
# problem's own advice is worded for the student, as autograde's feedback shows it.
_STAFF_ADVICE = {
    "missing": "Check the path (hand-ins are under submitted/<student>/<assignment>/).",
    "empty": "Ask the student to open their notebook in Jupyter, save it and hand it in again.",
    "not-json": "The file is damaged (truncated, or edited outside Jupyter); ask the student to open their "
                "notebook in Jupyter, save it and hand it in again.",
    "not-notebook": "Check that this is the file the student meant to hand in; if it is, ask them to hand in "
                    "their notebook (.ipynb) as saved by Jupyter.",
    "unreadable": "Check the file's permissions.",
}


def refused_status(problem: NotebookProblem) -> str:
    """The status `nnkit grade` gives a notebook it refuses, in the words of `Status` (the export's column):
    "not submitted" (no file), "wrong assignment: this looks like <other>", else "unreadable"."""
    if problem.kind == "missing":
        return Status.NOT_SUBMITTED.value
    if problem.kind == "other-assignment":
        return f"{Status.WRONG_ASSIGNMENT.value}: this looks like {problem.looks_like}"
    return Status.UNREADABLE.value


def _refuse(label: str, problem: NotebookProblem, advice: str) -> int:
    # stdout: the status, where a graded notebook's "<assignment>: graded ..." goes; stderr: what and why, for staff
    print(f"{label}: {refused_status(problem)}")
    print(f"nnkit grade: {problem.path}: {problem.reason}. {advice} No graders were run.", file=sys.stderr)
    return 2


def cmd_grade(args) -> int:
    from nnkit.grading.results import describe_grader_error, summarise
    from nnkit.grading.runner import run_graders

    course = _course(args)
    notebook = Path(args.notebook)
    try:
        nb = read_notebook(notebook)
    except NotebookProblem as problem:
        try:   # the status line names the assignment where the path tells it
            label = args.assignment[0] if args.assignment else course.infer_assignment(notebook)
        except CourseProblem:
            label = str(notebook)
        return _refuse(label, problem, _STAFF_ADVICE.get(problem.kind, ""))
    assignment = args.assignment[0] if args.assignment else course.infer_assignment(notebook)
    sources = {assignment: read_notebook(course.source_notebook(assignment))}
    for other in set(course.assignments()) - {assignment}:
        try:
            sources[other] = read_notebook(course.source_notebook(other))
        except (CourseProblem, NotebookProblem):
            continue  # another assignment's broken folder does not stop this one
    try:
        check_notebook_is(nb, notebook, assignment, sources)
    except NotebookProblem as problem:
        other = problem.looks_like
        return _refuse(assignment, problem, f"If it is a {other} hand-in, grade it with `nnkit grade {notebook} --assignment "
                                f"{other}`; otherwise ask the student for their {assignment} notebook.")
    run = run_graders(course, assignment, notebook, device=args.device, sandbox=True)
    print(f"{assignment}: {run.status} in {run.seconds:.1f} s on {run.device}")
    for note in run.notes:
        print(f"Note: {note}")
    print(summarise(run.cells))
    for error in run.grader_errors:   # staff run this command: they see the graders' own exceptions
        print(f"GRADER ERROR {describe_grader_error(error)}")
    return 3 if run.grader_errors else 0


def cmd_mutants(args) -> int:
    from nnkit.variants import check_all, discover, report

    course = _course(args)
    variants = [v for v in discover(course.variants_dir, args.assignment)
                if not args.variant or any(name in v.label for name in args.variant)]
    text, ok = report(check_all(course, variants, args.device, args.workers, args.exact))
    print(text)
    return 0 if ok else 1


def cmd_calibrate(args) -> int:
    from nnkit.calibration import calibrate, write_report
    from nnkit.grading.devices import pick_device  # imports torch, whose thread count is set below
    from nnkit.grading.precision import use_ieee_float32

    course = _course(args)
    device = pick_device(args.device)
    use_grading_threads(args.threads)
    use_ieee_float32()   # the claims are measured as the graders compute (nnkit.grading.precision)
    results = calibrate(course, _assignments(course, args), args.seeds, device)
    path = write_report(results, course.root / "calibration", device)
    print(path.read_text())
    broken = [r for r in results if not r.holds]
    for r in broken:
        print(f"CLAIM DOES NOT HOLD: {r.assignment}: {r.claim} ({r.holds_on}/{r.seeds} seeds)")
    return 1 if broken else 0


def cmd_solutions(args) -> int:
    from nnkit.solutions import execute_solutions

    course = _course(args)
    for assignment in _assignments(course, args):
        path, seconds = execute_solutions(course, assignment)
        print(f"{assignment}: ran in {seconds:.1f} s -> {path}")
    return 0


def cmd_author(args) -> int:
    from nnkit.authoring import authored_assignments, generate_release

    problems, authored_list = [], authored_assignments(_course(args), args.assignment)
    for authored in authored_list:
        if args.action in ("build", "release"):
            print(f"{authored.notebook.relative_to(authored.course.root)}: "
                  f"{'written' if authored.build(force=args.force) else 'up to date'}")
        elif args.action == "pull":
            authored.pull()
            print(f"{authored.percent_file.relative_to(authored.course.root)}: written from the notebook")
        else:
            problems += authored.problems()
    if args.action == "release":
        generate_release(_course(args), [a.assignment for a in authored_list])
        print("release/ regenerated with nbgrader")
    if args.action == "check":
        print("\n".join(problems) or "authoring/ and source/ are in sync")
    return 1 if problems else 0


def cmd_batch(args) -> int:
    from nnkit.batch import run_batch, summary

    course = _course(args)
    extra = ("--RunHiddenGraders.device=" + args.device,) if args.device else ()
    result = run_batch(course, _assignments(course, args), workers=args.workers, force=args.force,
                       scheduler=args.scheduler, db_url=args.db_url, job_timeout=args.job_timeout,
                       nbgrader_args=extra, gpu=args.gpu, students=args.student)
    print(summary(result))
    return 1 if result.problems or any(not r.finished for r in result.records) else 0


def cmd_report(args) -> int:
    from nnkit.report.build import write_reports

    paths = write_reports(_course(args), args.assignment, students=args.student)
    print(f"Feedback: {len(paths.feedback)} pages (feedback/<student>/<assignment>/report.html)"
          + (f" for {', '.join(args.student)}" if args.student else ""))
    for path in paths.dashboards + [paths.course, paths.csv]:
        print(f"Wrote {path}")
    return 0


def cmd_demo(args) -> int:
    from nnkit.demo import run_demo

    return run_demo(_course(args), assignment=(args.assignment or ["ps1_learning_rates"])[0])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="nnkit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    course_help = ("course folder (default: the current folder); it must hold nbgrader_config.py and "
                   "grader_tests/: no parent folder is searched")
    mnist_help = "folder with the MNIST IDX files (sets $MNIST_ROOT)"
    parser.add_argument("--course", help=course_help)
    parser.add_argument("--mnist-root", help=mnist_help)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="run the hidden graders on one notebook")
    p.add_argument("notebook")
    p.add_argument("--assignment", action="append")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                   help="auto (CUDA when present), cpu, cuda, or emulated-cuda (CUDA's placement rules on the CPU)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("mutants", help="kill rate of the mutant bank")
    p.add_argument("--assignment", action="append")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                   help="auto (CUDA when present), cpu, cuda, or emulated-cuda (CUDA's placement rules on the CPU)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--variant", action="append", help="only variants whose label contains this")
    p.add_argument("--exact", action="store_true",
                   help="run every grader on each wrong variant and check its `# fails:` list exactly")
    p.set_defaults(func=cmd_mutants)

    p = sub.add_parser("calibrate", help="measure the behavioural claims")
    p.add_argument("--assignment", action="append")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--threads", type=int, default=GRADING_THREADS, help="torch CPU threads (1 is fastest for these small models)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto (CUDA when present), cpu or cuda: the claims are measured on a real device")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("solutions", help="execute the reference solutions into solutions/")
    p.add_argument("--assignment", action="append")
    p.set_defaults(func=cmd_solutions)

    p = sub.add_parser("author", help="build source/ from authoring/ (or pull a notebook edited in Jupyter back)")
    p.add_argument("action", choices=["build", "pull", "check", "release"])
    p.add_argument("--assignment", action="append")
    p.add_argument("--force", action="store_true", help="build: overwrite a notebook edited after its authoring file")
    p.set_defaults(func=cmd_author)

    p = sub.add_parser("batch", help="autograde every hand-in on a pool of Dask workers, with progress")
    p.add_argument("assignment", nargs="*", help="assignments to grade (default: all)")
    p.add_argument("--workers", type=int, help="LocalCluster worker processes (default: number of cores)")
    p.add_argument("--force", action="store_true", help="grade hand-ins unchanged since their last run too")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (tcp://HOST:8786) instead of a LocalCluster")
    p.add_argument("--db-url", help="gradebook URL, e.g. postgresql+psycopg://USER@HOST/DB (default: nbgrader's)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the hidden graders run (default: as configured)")
    p.add_argument("--job-timeout", type=float, help="seconds before a job is killed (default: from the cell and grader timeouts)")
    p.add_argument("--gpu", action="store_true", help="each job takes one 'gpu' resource of its worker (see docs/scale-out.md)")
    p.add_argument("--student", action="append", metavar="ID",
                   help="grade only this student's hand-ins (repeat for several); with --force, a regrade of them")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("report", help="feedback pages, class dashboards and the LMS CSV (after generate_feedback)")
    p.add_argument("--assignment", action="append")
    p.add_argument("--student", action="append", metavar="ID",
                   help="write only this student's feedback pages (repeat for several); the class dashboards "
                        "and the CSV are rebuilt whole")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="the whole nbgrader pipeline on three submissions")
    p.add_argument("--assignment", action="append")
    p.set_defaults(func=cmd_demo)

    for command in sub.choices.values():   # also after the command: `nnkit grade NB --mnist-root DIR`
        # SUPPRESS: left out after the command, the value given before it (or None) stays.
        command.add_argument("--course", default=argparse.SUPPRESS, help=course_help)
        command.add_argument("--mnist-root", default=argparse.SUPPRESS, help=mnist_help)

    args = parser.parse_args(argv)
    if args.mnist_root:
        os.environ["MNIST_ROOT"] = str(Path(args.mnist_root).resolve())
    try:
        return args.func(args)
    except (CourseProblem, NotebookProblem, MnistNotFound) as problem:
        print(f"nnkit: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
