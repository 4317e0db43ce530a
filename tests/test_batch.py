"""`nnkit batch`: jobs killed whole at their limit, records, skipping, and a real batch.

The end-to-end test grades ps1 for four students on a Dask LocalCluster with 2
workers and a PostgreSQL gradebook, one of them hung, and compares the grades
with a serial `nbgrader autograde` of the same hand-ins on SQLite.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import course_copy
from nnkit.batch import (QUIET_DASK, RUN_FILE, GradingSettings, RunRecord, job_time_limit, load_runs,
                         local_cluster, plan_batch, quiet_dask_exports, read_run, read_settings, run_batch,
                         run_process_tree, tree_hash, with_busy_timeout, write_run)
from nnkit.grading.status import Status

ASSIGNMENT = "ps1_learning_rates"


def record(student: str, assignment: str = ASSIGNMENT, **changes) -> RunRecord:
    values = dict(student=student, assignment=assignment, status=Status.GRADED, wall_seconds=12.5,
                  peak_rss_mb=300.0, peak_tree_rss_mb=900.0, device="cpu", worker="tcp://127.0.0.1:1",
                  host="h", hand_in_hash="a" * 64, graders_hash="b" * 64, exit_code=0, time_limit_seconds=99.0)
    return RunRecord(**{**values, **changes})


# ---------------------------------------------------------------------------------------------
# Units (the `check` tier)
# ---------------------------------------------------------------------------------------------

@pytest.mark.check
def test_a_hung_job_is_killed_with_everything_it_started(tmp_path):
    """A job past its limit dies whole, even a child that left for a session of its own."""
    pids = tmp_path / "pids"
    script = (f"setsid sleep 300 & echo $! >> {pids}\n"   # like the kernel: a new session
              f"sleep 300 & echo $! >> {pids}\n"
              "python3 -c 'x = bytearray(200 << 20); import time; time.sleep(300)' &\n"
              "python3 -c 'while True: pass' &\n"
              "wait\n")
    start = time.monotonic()
    outcome = run_process_tree(["bash", "-c", script], tmp_path, dict(os.environ), 3.0, tmp_path / "log")
    assert outcome.exit_code is None
    assert 3.0 <= outcome.seconds < 3.0 + 10 and time.monotonic() - start < 15
    assert outcome.peak_tree_rss_mb > 200, "the sampled memory should see the 200 MB child"
    assert outcome.cpu_seconds > 1, "the sampled CPU time should see the busy child"
    time.sleep(0.5)
    for pid in map(int, pids.read_text().split()):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid


@pytest.mark.check
def test_a_finished_job_reports_its_exit_code_and_output(tmp_path):
    log = tmp_path / "log"
    outcome = run_process_tree([sys.executable, "-c", "print('hello'); raise SystemExit(3)"], tmp_path,
                               dict(os.environ), 60, log)
    assert outcome.exit_code == 3 and outcome.seconds < 60
    assert "hello" in log.read_text()


@pytest.mark.check
def test_the_job_limit_follows_the_configured_timeouts(tmp_path):
    course = course_copy(tmp_path, with_release=False)
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write("\nc.SafeExecute.timeout = 7\nc.RunHiddenGraders.timeout = 50\n")
    settings = read_settings(course)
    assert (settings.cell_timeout, settings.grader_timeout) == (7, 50)
    assert settings.course_id == "nn-best-practices"
    assert settings.db_url == f"sqlite:///{course.root / 'gradebook.db'}"
    shorter = job_time_limit(settings, 20)
    longer = job_time_limit(GradingSettings(settings.db_url, "x", 14, settings.kernel_startup_timeout, 50), 20)
    assert longer - shorter == 20 * 7, "each code cell may run to its timeout"
    assert job_time_limit(GradingSettings("", "", None, 60, 50), 20, fallback=1234) == 1234


@pytest.mark.check
def test_sqlite_gets_a_busy_timeout_and_other_databases_are_left_alone():
    assert with_busy_timeout("sqlite:////course/gradebook.db") == "sqlite:////course/gradebook.db?timeout=120"
    assert with_busy_timeout("sqlite:////c/g.db?timeout=9") == "sqlite:////c/g.db?timeout=9"
    url = "postgresql+psycopg://grader:secret@db.example:5432/gradebook"
    assert with_busy_timeout(url) == url


@pytest.mark.check
def test_the_hand_in_hash_sees_content_and_names_only(tmp_path):
    folder = tmp_path / "hand-in"
    folder.mkdir()
    (folder / "nb.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2026-11-25")
    first = tree_hash(folder)
    os.utime(folder / "nb.ipynb", (0, 0))
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"junk")
    assert tree_hash(folder) == first, "times and caches do not count"
    (folder / "timestamp.txt").write_text("2026-11-26")
    assert tree_hash(folder) != first, "a new timestamp is a new hand-in"
    (folder / "timestamp.txt").write_text("2026-11-25")
    (folder / "nb.ipynb").rename(folder / "other.ipynb")
    assert tree_hash(folder) != first, "a renamed file is a different hand-in"


@pytest.mark.check
def test_records_round_trip_and_load_runs_reads_them_all(tmp_path):
    from nnkit.grading.course import Course

    course = Course(tmp_path)
    mine = [record("bob", detail="x"), record("alice", status=Status.TIMED_OUT, exit_code=None),
            record("alice", "ps2_regularization")]
    for r in mine:
        write_run(tmp_path / "autograded" / r.student / r.assignment, r, "log tail")
    damaged = tmp_path / "autograded" / "eve" / ASSIGNMENT
    damaged.mkdir(parents=True)
    (damaged / RUN_FILE).write_text("{not json")
    runs = load_runs(course)
    assert [(r.assignment, r.student) for r in runs] == [(ASSIGNMENT, "alice"), (ASSIGNMENT, "bob"),
                                                         ("ps2_regularization", "alice")]
    assert runs[0] == mine[1] and runs[0].status is Status.TIMED_OUT and not runs[0].finished
    assert json.loads((tmp_path / "autograded" / "bob" / ASSIGNMENT / RUN_FILE).read_text())["status"] == "graded"


@pytest.mark.check
def test_a_planted_link_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "instructor.txt"
    outside.write_text("keep")
    folder = tmp_path / "autograded" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / RUN_FILE).symlink_to(outside)
    assert read_run(folder) is None
    write_run(folder, record("mallory"))
    assert outside.read_text() == "keep"
    assert read_run(folder) == record("mallory")


@pytest.mark.check
def test_the_slurm_example_gives_each_worker_one_gpu_offered_to_dask():
    """docs/slurm_batch.py's cluster, as sbatch would get it (nothing is submitted)."""
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "docs"))
    try:
        from slurm_batch import gpu_cluster
    finally:
        sys.path.remove(str(ROOT / "docs"))
    cluster = gpu_cluster(Path("/shared/course/.venv"), Path("/shared/mnist"), partition="gpu")
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH --gres=gpu:1" in script and "#SBATCH -p gpu" in script
    assert "--resources gpu=1" in script
    assert "source /shared/course/.venv/bin/activate" in script and "MNIST_ROOT=/shared/mnist" in script
    # The workers start with Dask's monitoring turned down, as on a LocalCluster; the lines, run
    # by a shell, give a fresh Python exactly those settings.
    exports = [line for line in script.splitlines() if line.startswith("export DASK_")]
    assert exports == quiet_dask_exports()
    read_back = subprocess.run(["bash", "-c", "\n".join(exports) + f"\nexec {sys.executable} -c '"
                                "import dask, distributed, json, sys; "
                                "print(json.dumps({k: dask.config.get(k) for k in json.loads(sys.argv[1])}))' "
                                f"'{json.dumps(list(QUIET_DASK))}'"], capture_output=True, text=True, check=True)
    assert json.loads(read_back.stdout) == QUIET_DASK


@pytest.mark.check
def test_a_local_cluster_runs_its_scheduler_and_workers_with_dask_monitoring_turned_down():
    import dask
    from distributed import Client

    def intervals(server) -> dict:   # milliseconds between runs of the server's periodic checks
        return {name: server.periodic_callbacks[name].callback_time for name in ("tick", "monitor")}

    with local_cluster(1) as cluster, Client(cluster) as client:
        settings = client.run(lambda keys: {k: dask.config.get(k) for k in keys}, list(QUIET_DASK))
        on_workers = client.run(lambda dask_worker: intervals(dask_worker))
        on_scheduler = client.run_on_scheduler(lambda dask_scheduler: intervals(dask_scheduler))
    assert list(settings.values()) == [QUIET_DASK]
    # The event loop checked every second (not every 20 ms), psutil every 2 s (not every 0.5 s).
    assert list(on_workers.values()) == [{"tick": 1000, "monitor": 2000}]
    assert on_scheduler == {"tick": 1000, "monitor": 2000}


# ---------------------------------------------------------------------------------------------
# A real batch: LocalCluster with 2 workers, PostgreSQL, one hung student
# ---------------------------------------------------------------------------------------------

HUNG = "hung"
# Far above an honest ps1 job (10.5-15.9 s of plain autograde on an idle 2-core machine since the
# experiment cells are no longer re-run, 2026-12-05; 24-51 s inside `make test` before that), below the
# cell timeout (300 s): only the hung job reaches it, and nbgrader's own limits never stop it. The worker
# that holds the hung job idles until then.
JOB_TIMEOUT = 110


def hand_in_class(course) -> list[str]:
    """The demo's three students, and one whose first solution cell never ends."""
    import nbformat

    from nnkit.demo import filled_release, make_submissions, reference_answers
    from nnkit.grading.notebook import grade_id, is_solution, read_notebook

    students = list(make_submissions(course, ASSIGNMENT))
    source = course.source_notebook(ASSIGNMENT)
    answers = reference_answers(source)
    first = next(grade_id(c) for c in read_notebook(source).cells if is_solution(c))
    answers[first] += "\n\nimport time\ntime.sleep(100_000)  # hangs: only the job's limit stops it\n"
    folder = course.root / "submitted" / HUNG / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(filled_release(course.root / "release" / ASSIGNMENT / source.name, answers),
                   str(folder / source.name))
    (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
    return students


def grades(db_url: str, students: list[str]) -> dict[str, dict[str, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, "nn-best-practices") as gb:
        return {s: {g.name: g.score for g in gb.find_submission_notebook("learning_rates", ASSIGNMENT, s).grades}
                for s in students}


def processes_mentioning(text: str) -> list[str]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if text in cmdline and process.pid != os.getpid():
            found.append(f"{process.pid}: {cmdline[:200]}")
    return found


def processes_left(text: str, grace: float = 20.0) -> list[str]:
    """`processes_mentioning(text)` once the grace is over: a finished job's helpers (the checkers'
    forkserver ends when its nbgrader process has gone) take a moment to notice and exit."""
    deadline = time.monotonic() + grace
    while (found := processes_mentioning(text)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


@pytest.mark.slow
def test_batch_on_a_local_cluster_with_postgres_matches_the_serial_run(tmp_path_factory, postgres_url, capsys):
    # Serial: plain nbgrader, one student after another, SQLite.
    serial = course_copy(tmp_path_factory.mktemp("serial"))
    students = hand_in_class(serial)
    import shutil
    shutil.rmtree(serial.root / "submitted" / HUNG)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for args in (["generate_assignment", ASSIGNMENT, "--force"], ["autograde", ASSIGNMENT, "--create", "--force"]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=serial.root, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    expected = grades(f"sqlite:///{serial.root / 'gradebook.db'}", students)

    # Parallel: nnkit batch on 2 LocalCluster workers, PostgreSQL, plus the hung student.
    course = course_copy(tmp_path_factory.mktemp("parallel"))
    hand_in_class(course)
    start = time.monotonic()
    result = run_batch(course, [ASSIGNMENT], workers=2, db_url=postgres_url, job_timeout=JOB_TIMEOUT)
    wall = time.monotonic() - start
    runs = {r.student: r for r in result.records}
    with capsys.disabled():
        print(f"\nbatch: {len(runs)} hand-ins on {result.cluster} with PostgreSQL in {wall:.0f} s; " + "; ".join(
            f"{r.student} {r.status} {r.wall_seconds:.0f} s {r.peak_tree_rss_mb:.0f} MiB on {r.worker}"
            for r in runs.values()))

    assert grades(postgres_url, students) == expected
    assert sorted(runs) == sorted(students + [HUNG])
    hung = runs[HUNG]
    assert hung.status is Status.TIMED_OUT and hung.exit_code is None
    assert JOB_TIMEOUT <= hung.wall_seconds < JOB_TIMEOUT + 20
    assert not processes_left(str(course.root)), "the hung job left processes running"
    for student in students:
        run = runs[student]
        assert run.finished and run.status is Status.GRADED, run.detail
        assert run.device == "cpu" and run.peak_rss_mb > 50 and run.worker.startswith("tcp://")
    # The hung student held one worker; the other graded the rest meanwhile.
    assert len({runs[s].worker for s in runs}) == 2
    assert wall < JOB_TIMEOUT + max(runs[s].wall_seconds for s in students) + 60
    assert load_runs(course) == sorted(runs.values(), key=lambda r: r.student)

    # Nothing changed: only the unfinished hand-in is planned again; --force plans them all.
    plan = plan_batch(course, [ASSIGNMENT], db_url=postgres_url)
    assert [j.student for j in plan.jobs] == [HUNG] and sorted(r.student for r in plan.skipped) == sorted(students)
    notebook = next((course.root / "submitted" / "untouched" / ASSIGNMENT).glob("*.ipynb"))
    notebook.write_text(notebook.read_text() + "\n")  # saved again: new bytes
    plan = plan_batch(course, [ASSIGNMENT], db_url=postgres_url)
    assert sorted(j.student for j in plan.jobs) == [HUNG, "untouched"]
    assert len(plan_batch(course, [ASSIGNMENT], db_url=postgres_url, force=True).jobs) == len(runs)
