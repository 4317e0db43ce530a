"""`nnkit batch`: autograde a whole class on a pool of Dask workers, with progress.

    nnkit batch [ASSIGNMENT ...] [--student ID ...] [--workers k] [--force] [--scheduler tcp://HOST:8786] [--db-url URL]

One job per hand-in (``submitted/<student>/<assignment>/``): plain
``nbgrader autograde ASSIGNMENT --student S --force``, a subprocess of a Dask
worker. Autograde itself is never reimplemented; this module only schedules,
watches and records the jobs.

* **Pool.** A Dask `LocalCluster` (k worker processes, one thread each; default
  k = number of cores), or the cluster behind ``--scheduler`` (for example
  GPU nodes joining under Slurm, see docs/scale-out.md). Workers must see the
  course folder at the same path.
* **Progress.** A tqdm bar over `distributed.as_completed`, with ETA.
* **Records.** Each job writes a `RunRecord` to
  ``autograded/<student>/<assignment>/.nnkit-run.json`` (and the tail of
  nbgrader's log beside it, ``.nnkit-run.log``); `load_runs(course)` reads them all.
* **Skipping.** A hand-in is skipped when its content hash, and the hash of
  what grades it (source notebook, graders, nbgrader_config.py), are those of
  its last finished run and the gradebook still holds its submission;
  ``--force`` grades it again anyway.
The parts: `settings` (time limits, the gradebook URL, hashes), `jobs` (one hand-in's process tree);
what a run leaves behind, `RunRecord`, lives beside `GradingRecord` in `nnkit.grading.status`; this
module plans the jobs and runs them on Dask.

* **Isolation.** Each job runs in its own session with a wall limit
  (`job_time_limit`): every cell may run to its timeout, then the graders to
  theirs, and only then is the job's whole process tree killed. A crashed or
  hung student costs one worker its own time limit; the others go on.

Gradebook concurrency (measured in tests/test_batch.py and benchmarks/batch_scaling.py):
several autograde processes share one gradebook. Before any job starts, the
driver alone writes the rows jobs would otherwise race to create: the schema,
the course, each assignment (added from source/ when missing) and every
student. Each job then writes only its own submission's rows. PostgreSQL
(``--db-url postgresql+psycopg://...``) takes such concurrent writers as they
come and is the choice for several machines. SQLite stays the default: writers
take turns on the file lock, and the driver raises SQLite's busy timeout from
5 s to `SQLITE_BUSY_SECONDS` in the URL it hands to every job, so a writer waits
for the lock instead of failing; a job that still fails with "database is
locked" is run again (`LOCK_RETRIES`).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

# The package's parts, named here too: `from nnkit.batch import RunRecord, run_batch, ...`.
from nnkit.batch.jobs import Job, ProcessOutcome, grade_one, run_process_tree  # noqa: F401
from nnkit.batch.settings import (GradingSettings, _without_password, code_cells, graders_hash,  # noqa: F401
                                  job_time_limit, read_settings, tree_hash, with_busy_timeout)
from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.results import describe_grader_error
from nnkit.grading.status import RUN_FILE, RUN_LOG, RunRecord, Status, read_run, write_run  # noqa: F401

# Dask's own monitoring, tuned for tasks that are subprocesses of tens of seconds. By default
# every worker samples its task's stack 100 times a second (the statistical profiler, which sees
# only `run_process_tree` waiting), and the scheduler and workers check their event loops 50 times
# a second and psutil twice a second: measured with one idle 20 s task, 0.67-0.81 s of CPU in the
# worker and 0.59-0.71 s in the driver, against 0.09 s and 0.14-0.16 s with these settings. On a
# pool with as many workers as cores that time is taken from the jobs.
QUIET_DASK = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.disk": False,
}


def quiet_dask_exports() -> list[str]:
    """`QUIET_DASK` as shell `export` lines, for workers started elsewhere (a Slurm job script's
    prologue): Dask reads ``DASK_A__B__C`` as the setting ``a.b.c``."""
    return [f"export DASK_{key.upper().replace('.', '__').replace('-', '_')}={value}"
            for key, value in QUIET_DASK.items()]

# ---------------------------------------------------------------------------------------------
# The batch, on the driver
# ---------------------------------------------------------------------------------------------

def load_runs(course: Course) -> list[RunRecord]:
    """Every batch run's record in the course, sorted by assignment and student."""
    runs = [read_run(path.parent) for path in (course.root / "autograded").glob(f"*/*/{RUN_FILE}")]
    return sorted((r for r in runs if r is not None), key=lambda r: (r.assignment, r.student))


def hand_ins(course: Course, assignment: str) -> list[str]:
    """Students with a folder submitted/<student>/<assignment>/ (nbgrader's layout)."""
    submitted = course.root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir()
                  if not p.name.startswith(".") and (p / assignment).is_dir())


def prepare_gradebook(course: Course, db_url: str, course_id: str, assignments: list[str],
                      students: set[str]) -> dict[str, set[str]]:
    """Write, alone and before any job starts, the gradebook rows that concurrent jobs
    would race to create: schema, course, assignments, students. Returns, per
    assignment, the students whose submission the gradebook already holds."""
    from nbgrader.api import Gradebook, MissingEntry

    # nbgrader stamps a new gradebook by running the `alembic` command: find it beside this
    # Python even when the virtual environment is not activated (`.venv/bin/nnkit batch`).
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    with Gradebook(db_url, course_id) as gb:
        missing = []
        for assignment in assignments:
            try:
                if not gb.find_assignment(assignment).notebooks:
                    missing.append(assignment)
            except MissingEntry:
                missing.append(assignment)
    for assignment in missing:
        _add_assignment(course, assignment, db_url)
    with Gradebook(db_url, course_id) as gb:
        known = {s.id for s in gb.students}
        for student in sorted(students - known):
            gb.update_or_create_student(student)
        return {a: {s.student.id for s in gb.find_assignment(a).submissions} for a in assignments}


def _add_assignment(course: Course, assignment: str, db_url: str) -> None:
    """Put an assignment the gradebook lacks into it, as `nbgrader generate_assignment`
    does, writing the release into a scratch folder (release/ stays as it is)."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with tempfile.TemporaryDirectory(prefix="nnkit-release-") as scratch:
        done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                               "--db", db_url, f"--CourseDirectory.release_directory={scratch}"],
                              cwd=course.root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CourseProblem(f"the gradebook ({_without_password(db_url)}) has no assignment '{assignment}', and "
                            f"adding it from source/ failed:\n{(done.stdout + done.stderr)[-3000:]}")


@dataclass
class Plan:
    jobs: list[Job]
    skipped: list[RunRecord]      # unchanged since their last finished run
    settings: GradingSettings
    db_url: str


def plan_batch(course: Course, assignments: list[str], *, force: bool = False, db_url: str | None = None,
               job_timeout: float | None = None, nbgrader_args: tuple[str, ...] = (),
               only_students: list[str] | None = None) -> Plan:
    """The jobs to run: every hand-in of `assignments` (of `only_students` alone, when given), less
    those unchanged since their last finished run (unless `force`). Prepares the gradebook (see
    `prepare_gradebook`)."""
    known = course.assignments()
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise CourseProblem(f"no assignment {', '.join(unknown)} in {course.root / 'source'} "
                            f"(the course has: {', '.join(known)}).")
    settings = read_settings(course)
    url = with_busy_timeout(db_url or settings.db_url)
    students = {a: hand_ins(course, a) for a in assignments}
    if only_students:
        students = _only(course, students, only_students)
    if not any(students.values()):
        raise CourseProblem(f"no hand-ins for {', '.join(assignments)} under {course.root / 'submitted'} "
                            "(expected submitted/<student>/<assignment>/<notebook>.ipynb; `nbgrader collect` "
                            "or `nbgrader zip_collect` put them there).")
    in_gradebook = prepare_gradebook(course, url, settings.course_id, assignments,
                                     {s for names in students.values() for s in names})
    jobs, skipped = [], []
    for assignment in assignments:
        limit = job_timeout or job_time_limit(settings, code_cells(course, assignment))
        graders = graders_hash(course, assignment)
        for student in students[assignment]:
            hand_in = tree_hash(course.root / "submitted" / student / assignment)
            last = read_run(course.root / "autograded" / student / assignment)
            if (not force and last is not None and last.finished and last.hand_in_hash == hand_in
                    and last.graders_hash == graders and student in in_gradebook[assignment]):
                skipped.append(last)
                continue
            # One core per job: the pool runs k jobs at once, so the graders wait for the kernel.
            jobs.append(Job(str(course.root), student, assignment, url, limit, hand_in, graders,
                            ("--StartHiddenGraders.enabled=False", *nbgrader_args)))
    return Plan(jobs, skipped, settings, url)


def _only(course: Course, students: dict[str, list[str]], wanted: list[str]) -> dict[str, list[str]]:
    """`students` (assignment -> hand-ins) cut down to `wanted`; a wanted student with no hand-in of
    any of these assignments is a mistake to say, not a batch of nothing."""
    handed_in = {s for names in students.values() for s in names}
    missing = sorted(set(wanted) - handed_in)
    if missing:
        raise CourseProblem(f"no hand-in by {', '.join(missing)} for {', '.join(students)} under "
                            f"{course.root / 'submitted'} (students with hand-ins: {', '.join(sorted(handed_in)) or 'none'}); "
                            "check the id, or collect their hand-in first (`nbgrader collect`).")
    return {a: [s for s in names if s in wanted] for a, names in students.items()}


def _expected_seconds(job: Job, history: dict[str, list[float]]) -> float:
    times = history.get(job.assignment) or [0.0]
    return sorted(times)[len(times) // 2]


@dataclass
class BatchResult:
    records: list[RunRecord]
    skipped: list[RunRecord]
    seconds: float                  # from the first job's submission to the last result
    workers: int
    db_url: str = ""
    cluster: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def per_minute(self) -> float:
        return 60 * len(self.records) / self.seconds if self.records and self.seconds else 0.0


def local_cluster(workers: int):
    """A Dask `LocalCluster` of `workers` processes of one thread each, with `QUIET_DASK`."""
    import logging

    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET_DASK):   # read as the scheduler and the workers start
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, silence_logs=logging.ERROR)


def run_batch(course: Course, assignments: list[str] | None = None, *, workers: int | None = None,
              force: bool = False, scheduler: str | None = None, db_url: str | None = None,
              job_timeout: float | None = None, nbgrader_args: tuple[str, ...] = (),
              gpu: bool = False, progress: bool = True, students: list[str] | None = None) -> BatchResult:
    """Autograde every hand-in of `assignments` (default: all) on a Dask pool.

    `workers` LocalCluster processes of one thread each (default: the number of
    cores), or the cluster at `scheduler`. With `gpu`, each job asks its worker for
    one ``gpu`` resource (workers started with ``--resources gpu=1``). With `students`, only
    their hand-ins (a regrade of a few).
    """
    from distributed import Client, as_completed
    from tqdm.auto import tqdm

    plan = plan_batch(course, assignments or course.assignments(), force=force, db_url=db_url,
                      job_timeout=job_timeout, nbgrader_args=nbgrader_args, only_students=students)
    if scheduler and plan.db_url.startswith("sqlite"):
        print("nnkit batch: warning: workers on several machines cannot share a SQLite gradebook safely; "
              "pass --db-url postgresql+psycopg://... (see docs/scale-out.md)", file=sys.stderr)
    if plan.skipped:
        print(f"{len(plan.skipped)} hand-in(s) unchanged since last graded: skipped (--force grades them again)")
    if not plan.jobs:
        return BatchResult([], plan.skipped, 0.0, 0, plan.db_url)
    history: dict[str, list[float]] = {}
    for run in load_runs(course):
        if run.finished:
            history.setdefault(run.assignment, []).append(run.wall_seconds)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        workers = workers or os.cpu_count() or 1
        cluster = local_cluster(workers)
        client = Client(cluster)
    records, problems = [], []
    try:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"]) if scheduler else workers
        start = time.monotonic()
        # Longest expected first (from earlier runs), so that a long job does not start last.
        futures = {client.submit(grade_one, job, key=f"autograde-{job.assignment}-{job.student}-{time.time_ns()}",
                                 pure=False, retries=0, priority=int(_expected_seconds(job, history)),
                                 resources={"gpu": 1} if gpu else None): job
                   for job in plan.jobs}
        bar = tqdm(as_completed(futures), total=len(futures), unit="hand-in", desc="autograde",
                   disable=not progress, dynamic_ncols=True)
        for future in bar:
            job = futures[future]
            try:
                record = future.result()
            except Exception as error:  # noqa: BLE001 (a worker died: record it, go on)
                record = _lost(job, error)
                problems.append(f"{job.student}/{job.assignment}: {record.detail}")
                write_run(course.root / "autograded" / job.student / job.assignment, record)
            records.append(record)
            bar.set_postfix_str(f"{record.student}/{record.assignment}: {record.status}", refresh=False)
        seconds = time.monotonic() - start
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return BatchResult(records, plan.skipped, seconds, n_workers, plan.db_url,
                       scheduler or f"LocalCluster({workers} workers)", problems)


def _lost(job: Job, error: BaseException) -> RunRecord:
    return RunRecord(student=job.student, assignment=job.assignment, status=Status.NOT_GRADED, wall_seconds=0.0,
                     peak_rss_mb=0.0, peak_tree_rss_mb=0.0, device="?", worker="?", host="?",
                     hand_in_hash=job.hand_in_hash, graders_hash=job.graders_hash, exit_code=None,
                     time_limit_seconds=job.time_limit, attempts=0,
                     started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     detail=f"the job was lost ({type(error).__name__}: {error}); run the batch again")


def summary(result: BatchResult) -> str:
    """A few lines for the instructor: throughput, statuses, what needs a look."""
    lines = []
    if result.records:
        counts: dict[str, int] = {}
        for r in result.records:
            counts[str(r.status)] = counts.get(str(r.status), 0) + 1
        slowest = max(result.records, key=lambda r: r.wall_seconds)
        heaviest = max(result.records, key=lambda r: r.peak_tree_rss_mb)
        lines.append(f"graded {len(result.records)} hand-in(s) in {result.seconds:.0f} s on {result.cluster} "
                     f"({result.per_minute:.2f} per minute); gradebook {_without_password(result.db_url)}")
        lines.append("status: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        lines.append(f"slowest: {slowest.student}/{slowest.assignment} {slowest.wall_seconds:.0f} s; "
                     f"most memory: {heaviest.student}/{heaviest.assignment} {heaviest.peak_tree_rss_mb:.0f} MiB")
    broken = [r for r in result.records if r.grader_errors]
    if broken:
        cells = sorted({str(e.get("cell")) for r in broken for e in r.grader_errors})
        lines.append(f"GRADER ERROR in {len(broken)} hand-in(s), cells {', '.join(cells)}: a bug of the graders, "
                     f"not the students' (first: {describe_grader_error(broken[0].grader_errors[0])})")
    for r in result.records:
        if r.status.needs_attention or not r.finished:
            first = r.detail.splitlines()[0] if r.detail else ""
            lines.append(f"  look at {r.student}/{r.assignment}: {r.status}" + (f" ({first})" if first else ""))
    if result.skipped:
        lines.append(f"skipped {len(result.skipped)} unchanged hand-in(s)")
    lines.append(f"records: autograded/<student>/<assignment>/{RUN_FILE}")
    return "\n".join(lines)
