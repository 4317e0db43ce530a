"""`nnkit batch`: autograde a whole class on a pool of Dask workers, with progress.

    nnkit batch [ASSIGNMENT ...] [--workers k] [--force] [--scheduler tcp://HOST:8786] [--db-url URL]

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

import atexit
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from glob import escape as glob_escape
from pathlib import Path

from nnkit.grading.course import Course, CourseProblem
from nnkit.grading.results import describe_grader_error
from nnkit.processes import kill_group, log_tail
from nnkit.grading.status import STATUS_FILE, Status, read_record, write_private

RUN_FILE = ".nnkit-run.json"
RUN_LOG = ".nnkit-run.log"
LOG_TAIL_BYTES = 20_000
DETAIL_TAIL_CHARS = 2_000
SQLITE_BUSY_SECONDS = 120
LOCK_RETRIES = 2
# Seconds for what autograde does besides running cells and graders: starting
# Python and nbgrader, the kernel (its own startup timeout comes on top), the
# gradebook writes and the copy of the notebook.
STARTUP_ALLOWANCE = 120
POLL_SECONDS = 0.5
SAMPLE_SECONDS = 1.0
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
# What a run leaves behind
# ---------------------------------------------------------------------------------------------

@dataclass
class RunRecord:
    """One autograde job: a student's hand-in of one assignment, as the batch ran it.

    Kept as JSON in ``autograded/<student>/<assignment>/.nnkit-run.json``; read them
    all with `load_runs`. Fields:

    student, assignment    whose hand-in, of which assignment
    status                 `Status` of the hand-in: the GradingRecord autograde wrote
                           (graded, crashed, timed out, unreadable); "timed out" when the
                           job was killed at its wall limit; "not graded" when nbgrader
                           failed and saved no result
    wall_seconds           the autograde process, start to exit (or kill), all attempts
    peak_rss_mb            largest resident memory of any one process of the job (nbgrader,
                           the student's kernel, a grader process), in MiB
    peak_tree_rss_mb       largest total resident memory of the job's process tree, in MiB,
                           sampled every `SAMPLE_SECONDS`
    device                 where the hidden graders ran ("cpu", "cuda", ...; "?" unknown)
    worker                 the Dask worker's address ("local" outside Dask)
    host                   the worker's host name
    hand_in_hash           sha256 over the names and bytes of submitted/<student>/<assignment>/
    graders_hash           sha256 of what grades it: source/<assignment>/, grader_tests/<assignment>/,
                           grader_tests/*.py and nbgrader_config.py
    exit_code              nbgrader's exit status; None when the job was killed at its limit
    time_limit_seconds     the job's wall limit (`job_time_limit`)
    attempts               autograde runs (more than 1 after a "database is locked" retry)
    started_at             ISO 8601 UTC time the job started
    detail                 when nbgrader failed or the job was killed: what happened, and the
                           tail of nbgrader's log (the whole tail is in .nnkit-run.log)
    cpu_seconds            CPU time (user + system) of the job's process tree, from the same
                           samples (a process's last second may be missed); with wall_seconds it
                           says how many cores a job keeps busy
    grader_errors          the graders' own exceptions (type, message, grader file and line, cell):
                           bugs of the graders, for staff; the student only reads that the part
                           could not be checked
    """
    student: str
    assignment: str
    status: Status
    wall_seconds: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    device: str
    worker: str
    host: str
    hand_in_hash: str
    graders_hash: str
    exit_code: int | None
    time_limit_seconds: float
    attempts: int = 1
    started_at: str = ""
    detail: str = ""
    cpu_seconds: float = 0.0
    grader_errors: list = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """nbgrader ran to its end and saved its grades (whatever the student's code did)."""
        return self.exit_code == 0

    def to_json(self) -> str:
        data = asdict(self)
        data["status"] = self.status.value
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "RunRecord":
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        data["status"] = Status(data["status"])
        return cls(**data)


def write_run(folder: Path, record: RunRecord, log_tail: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_private(folder / RUN_FILE, record.to_json())
    write_private(folder / RUN_LOG, log_tail)


def read_run(folder: Path) -> RunRecord | None:
    """The record in `folder`, or None when there is none (or it is damaged)."""
    target = folder / RUN_FILE
    if target.is_symlink():
        return None
    try:
        return RunRecord.from_json(target.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_runs(course: Course) -> list[RunRecord]:
    """Every batch run's record in the course, sorted by assignment and student."""
    runs = [read_run(path.parent) for path in (course.root / "autograded").glob(f"*/*/{RUN_FILE}")]
    return sorted((r for r in runs if r is not None), key=lambda r: (r.assignment, r.student))


# ---------------------------------------------------------------------------------------------
# What the course's nbgrader configuration says
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GradingSettings:
    """The parts of nbgrader_config.py the batch needs (loaded as nbgrader loads it)."""
    db_url: str
    course_id: str
    cell_timeout: float | None      # seconds a notebook cell may run (None: no limit)
    kernel_startup_timeout: float
    grader_timeout: float           # seconds the hidden graders may take on one notebook


def read_settings(course: Course) -> GradingSettings:
    """Load ``nbgrader_config.py`` with traitlets, as nbgrader does, and read the
    gradebook URL, the course id and the timeouts of the configured preprocessors."""
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    path = course.root / "nbgrader_config.py"
    try:
        config = PyFileConfigLoader(path.name, path=str(course.root)).load_config()
    except Exception as error:  # noqa: BLE001 (any error in the instructor's file)
        raise CourseProblem(f"{path} could not be loaded ({type(error).__name__}: {error}); fix it and retry.")
    coursedir = CourseDirectory(config=config, root=str(course.root))
    steps = config.Autograde.autograde_preprocessors if "autograde_preprocessors" in config.Autograde \
        else Autograde.autograde_preprocessors.default_value
    steps = [_import(s) if isinstance(s, str) else s for s in steps]
    execute = next((s(config=config) for s in steps if issubclass(s, Execute)), Execute(config=config))
    graders = next((s(config=config) for s in steps if hasattr(s, "per_test_timeout")), None)
    cell_timeout = execute.timeout if isinstance(execute.timeout, (int, float)) and execute.timeout > 0 else None
    return GradingSettings(db_url=coursedir.db_url, course_id=coursedir.course_id, cell_timeout=cell_timeout,
                           kernel_startup_timeout=float(execute.startup_timeout),
                           grader_timeout=float(graders.timeout) if graders is not None else 0.0)


def _import(dotted: str):
    from importlib import import_module

    module, _, name = dotted.rpartition(".")
    return getattr(import_module(module), name)


def code_cells(course: Course, assignment: str) -> int:
    from nnkit.grading.notebook import read_notebook

    return sum(c.cell_type == "code" for c in read_notebook(course.source_notebook(assignment)).cells)


def job_time_limit(settings: GradingSettings, n_code_cells: int, fallback: float = 6 * 3600) -> float:
    """Wall limit of one autograde job: what the configured limits allow, and no more.

        limit = STARTUP_ALLOWANCE + kernel startup timeout + n_code_cells * cell timeout + grader timeout

    A job inside it is never cut short: every cell may run to its own timeout and
    the graders to theirs. Past it, something no timeout covers has hung
    (nbgrader, a kernel that will not die), and the job's process tree is
    killed. Shorter cell and grader timeouts shorten it. With no cell timeout
    configured there is nothing to derive it from: `fallback`.
    """
    if settings.cell_timeout is None:
        return fallback
    return (STARTUP_ALLOWANCE + settings.kernel_startup_timeout + n_code_cells * settings.cell_timeout
            + settings.grader_timeout)


def with_busy_timeout(db_url: str, seconds: int = SQLITE_BUSY_SECONDS) -> str:
    """`db_url` with SQLite's busy timeout raised to `seconds` (other databases unchanged):
    a writer then waits for the file lock instead of failing after pysqlite's 5 s."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or "timeout" in url.query:
        return db_url
    return url.update_query_dict({"timeout": str(seconds)}).render_as_string(hide_password=False)


def _without_password(db_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)


# ---------------------------------------------------------------------------------------------
# Content hashes
# ---------------------------------------------------------------------------------------------

def tree_hash(*roots: Path) -> str:
    """sha256 over the relative names and bytes of every file under `roots` (links by
    their target's name, never followed; caches skipped)."""
    digest = hashlib.sha256()
    for root in roots:
        paths = [root] if root.is_file() or root.is_symlink() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in paths:
            if "__pycache__" in path.parts or path.suffix == ".pyc" or path.name == ".ipynb_checkpoints":
                continue
            name = path.name if path == root else str(path.relative_to(root))
            if path.is_symlink():
                digest.update(f"L {name} -> {os.readlink(path)}\n".encode())
            elif path.is_file():
                digest.update(f"F {name} {path.stat().st_size}\n".encode())
                with open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
    return digest.hexdigest()


def graders_hash(course: Course, assignment: str) -> str:
    root = course.root
    return tree_hash(root / "source" / assignment, root / "grader_tests" / assignment,
                     *sorted((root / "grader_tests").glob("*.py")), root / "nbgrader_config.py")


# ---------------------------------------------------------------------------------------------
# One job, on a worker
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Job:
    """Everything a worker needs to autograde one hand-in (plain data: it travels to the worker)."""
    course_root: str
    student: str
    assignment: str
    db_url: str | None          # passed as --db when set; else nbgrader's configured default
    time_limit: float
    hand_in_hash: str
    graders_hash: str
    nbgrader_args: tuple[str, ...] = ()

    def command(self) -> list[str]:
        argv = [sys.executable, "-m", "nbgrader", "autograde", self.assignment,
                "--student", glob_escape(self.student), "--force"]
        if self.db_url:
            argv += ["--db", self.db_url]
        return argv + list(self.nbgrader_args)


@dataclass
class ProcessOutcome:
    exit_code: int | None       # None: killed at the time limit
    seconds: float
    peak_rss_mb: float
    peak_tree_rss_mb: float
    cpu_seconds: float = 0.0     # CPU time of the process tree, sampled


_RUNNING: set[int] = set()  # process groups this process started and has not reaped


def _kill_tree(pid: int) -> None:
    """SIGKILL the job's process group and every descendant, including those that
    started sessions of their own (the kernel, the grader processes)."""
    import psutil

    for _ in range(2):  # a second pass for anything forked while the first was killing
        try:
            family = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        kill_group(pid)
        for process in family:
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass


@atexit.register
def _kill_orphans() -> None:
    """A worker that is shut down mid-job takes its jobs with it."""
    for pid in list(_RUNNING):
        _kill_tree(pid)


def _sample_tree(pid: int, cpu: dict[int, float]) -> tuple[int, int]:
    """(total, largest) resident bytes of `pid` and its descendants, now; records each
    process's CPU seconds so far into `cpu` (pid -> seconds)."""
    import psutil

    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    sizes = []
    for process in family:
        try:
            with process.oneshot():
                sizes.append(process.memory_info().rss)
                times = process.cpu_times()
                cpu[process.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return sum(sizes), max(sizes, default=0)


def run_process_tree(argv: list[str], cwd: Path, env: dict, time_limit: float, log: Path) -> ProcessOutcome:
    """Run `argv` in a session of its own with its output in `log`; kill its whole tree
    at `time_limit` seconds.

    Memory is sampled over the process tree every `SAMPLE_SECONDS` (largest process,
    largest total), and the largest process is also taken from wait4's ru_maxrss:
    that covers only descendants their parents reaped, and a sandboxed kernel is
    not reaped by nbgrader, so neither source alone is enough."""
    pdeathsig = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []  # dies with this worker
    start = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(pdeathsig + argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    _RUNNING.add(proc.pid)
    peak_tree, peak_one, next_sample, killed, reaped, cpu = 0, 0, start, False, False, {}
    try:
        while not reaped:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.monotonic()
            if now >= next_sample:
                tree, largest = _sample_tree(proc.pid, cpu)
                peak_tree, peak_one, next_sample = max(peak_tree, tree), max(peak_one, largest), now + SAMPLE_SECONDS
            if now - start > time_limit:
                killed = True
                _kill_tree(proc.pid)
                _, wait_status, usage = os.wait4(proc.pid, 0)
                reaped = True
            else:
                time.sleep(POLL_SECONDS)
    except BaseException:
        _kill_tree(proc.pid)  # interrupted: leave nothing running
        raise
    finally:
        _RUNNING.discard(proc.pid)
    proc.returncode = os.waitstatus_to_exitcode(wait_status)  # reaped here, not by Popen
    seconds = time.monotonic() - start
    peak_one = max(peak_one, usage.ru_maxrss * 1024)  # ru_maxrss is in KiB on Linux
    return ProcessOutcome(None if killed else proc.returncode, seconds, peak_one / (1 << 20),
                          max(peak_tree, peak_one) / (1 << 20), sum(cpu.values()))


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def grade_one(job: Job) -> RunRecord:
    """Autograde one hand-in (runs on a Dask worker), record how it went, return the record."""
    course = Path(job.course_root)
    folder = course / "autograded" / job.student / job.assignment
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    started = datetime.now(timezone.utc)
    began = time.time()
    total = ProcessOutcome(None, 0.0, 0.0, 0.0)
    with tempfile.TemporaryDirectory(prefix="nnkit-batch-") as tmp:
        log = Path(tmp) / "autograde.log"
        for attempt in range(1, LOCK_RETRIES + 2):
            outcome = run_process_tree(job.command(), course, env, job.time_limit - total.seconds, log)
            total = ProcessOutcome(outcome.exit_code, total.seconds + outcome.seconds,
                                   max(total.peak_rss_mb, outcome.peak_rss_mb),
                                   max(total.peak_tree_rss_mb, outcome.peak_tree_rss_mb),
                                   total.cpu_seconds + outcome.cpu_seconds)
            if outcome.exit_code in (0, None) or "database is locked" not in log_tail(log, LOG_TAIL_BYTES):
                break
        tail = log_tail(log, LOG_TAIL_BYTES)
    grading = read_record(folder)
    if grading is not None and (folder / STATUS_FILE).stat().st_mtime < began:
        grading = None  # left by an earlier run
    if total.exit_code is None:
        status = Status.TIMED_OUT
        detail = (f"killed after {total.seconds:.0f} s, the job's limit ({job.time_limit:.0f} s: every cell "
                  f"and the graders at their timeouts); nbgrader saved nothing. Log tail:\n")
    elif total.exit_code != 0:
        status = Status.NOT_GRADED
        detail = f"nbgrader autograde exited {total.exit_code}. Log tail:\n"
    else:
        status = grading.status if grading is not None else Status.NOT_GRADED
        detail = "" if grading is not None else "nbgrader finished but wrote no grading record. Log tail:\n"
    if detail:
        detail += tail[-DETAIL_TAIL_CHARS:]
    record = RunRecord(
        student=job.student, assignment=job.assignment, status=status,
        wall_seconds=round(total.seconds, 2), peak_rss_mb=round(total.peak_rss_mb, 1),
        peak_tree_rss_mb=round(total.peak_tree_rss_mb, 1), cpu_seconds=round(total.cpu_seconds, 1),
        device=str((grading.graders.get("device") if grading else None) or "?"),
        worker=_worker_name(), host=socket.gethostname(), hand_in_hash=job.hand_in_hash,
        graders_hash=job.graders_hash, exit_code=total.exit_code, time_limit_seconds=round(job.time_limit, 1),
        attempts=attempt, started_at=started.isoformat(timespec="seconds"), detail=detail,
        grader_errors=list((grading.graders.get("grader_errors") if grading else None) or []))
    write_run(folder, record, tail)
    return record


# ---------------------------------------------------------------------------------------------
# The batch, on the driver
# ---------------------------------------------------------------------------------------------

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
               job_timeout: float | None = None, nbgrader_args: tuple[str, ...] = ()) -> Plan:
    """The jobs to run: every hand-in of `assignments`, less those unchanged since their
    last finished run (unless `force`). Prepares the gradebook (see `prepare_gradebook`)."""
    known = course.assignments()
    unknown = [a for a in assignments if a not in known]
    if unknown:
        raise CourseProblem(f"no assignment {', '.join(unknown)} in {course.root / 'source'} "
                            f"(the course has: {', '.join(known)}).")
    settings = read_settings(course)
    url = with_busy_timeout(db_url or settings.db_url)
    students = {a: hand_ins(course, a) for a in assignments}
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
              gpu: bool = False, progress: bool = True) -> BatchResult:
    """Autograde every hand-in of `assignments` (default: all) on a Dask pool.

    `workers` LocalCluster processes of one thread each (default: the number of
    cores), or the cluster at `scheduler`. With `gpu`, each job asks its worker for
    one ``gpu`` resource (workers started with ``--resources gpu=1``).
    """
    from distributed import Client, as_completed
    from tqdm.auto import tqdm

    plan = plan_batch(course, assignments or course.assignments(), force=force, db_url=db_url,
                      job_timeout=job_timeout, nbgrader_args=nbgrader_args)
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
