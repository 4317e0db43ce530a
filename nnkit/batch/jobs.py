"""One batch job: `nbgrader autograde` of one hand-in in a session of its own, its process tree
watched (memory, CPU) and killed at its time limit, and the `RunRecord` it leaves."""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from glob import escape as glob_escape
from pathlib import Path

from nnkit.processes import kill_group, log_tail
from nnkit.grading.status import STATUS_FILE, RunRecord, Status, read_record, write_run

LOG_TAIL_BYTES = 20_000
DETAIL_TAIL_CHARS = 2_000
LOCK_RETRIES = 2
POLL_SECONDS = 0.5
SAMPLE_SECONDS = 1.0

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
