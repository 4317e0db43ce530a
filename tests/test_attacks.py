"""Issue 4: student code is untrusted. One nbgrader batch of attack submissions on ps1.

Every attack is a notebook built from the release plus the honest reference answers with one
malicious change (`tests/attacks/<name>.py`: solution-cell code, as a student could write it), or
a broken file (the `FILE_ATTACKS` below). ONE `nbgrader autograde --create --force` grades them all
together with two honest students, in a throw-away copy of the course; then generate_feedback,
export, and a second autograde of some students. The tests then check, per attack: the attacker
gains nothing, the honest part of the notebook is scored normally, the feedback says what
happened, the export's `status` column tells the cases apart; and for the batch: honest scores are
exact, the gradebook holds the expected students and no forged credit, no feedback shows the
hidden graders, protected files are untouched, nothing reached the network, and a second run
gives the same grades. The table of attacks and outcomes is in `tests/attacks/README.md`.

To keep the run short on a 2-core machine, the course copy (only) grades with one seed instead of
five (`SEEDS` in ps1_reference.py), every submission runs a 5-run sweep of 30 steps in its (free)
experiment cell, torch uses one thread, and the timeouts are short (`TIMEOUTS`).

`NNKIT_BENCH=1` also times the sandbox's overhead on one reference notebook (`test_sandbox_overhead`).
"""
from __future__ import annotations

import csv
import fnmatch
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from conftest import ROOT, course_copy
from nnkit.demo import filled_release, reference_answers
from nnkit.grading.notebook import grade_id, read_notebook
from nnkit.grading.results import cell_points
from nnkit.variants import parse_variant

ASSIGNMENT = "ps1_learning_rates"
NOTEBOOK = "learning_rates.ipynb"
ATTACK_DIR = Path(__file__).parent / "attacks"
HONEST_WRONG = ROOT / "variants" / ASSIGNMENT / "wrong" / "he_fan_out.py"
# A cell's limit of 20 s: with the experiment cells skipped, an honest ps1 cell takes at most about 2 s
# (check_train, 1.4 s on an idle machine); the hanging attacks burn a core until it.
TIMEOUTS = ["c.SafeExecute.timeout = 20", "c.RunHiddenGraders.per_test_timeout = 15",
            "c.RunHiddenGraders.timeout = 400"]
SECRETS = ("def test_", "grade_cell", "ps1_reference", "from nnkit.grading.checks", "MARK SCHEME", "Mark scheme")
CANARY = "CANARY: instructor-side file, must never change\n"
SOURCE = read_notebook(ROOT / "source" / ASSIGNMENT / NOTEBOOK)
POINTS = cell_points(SOURCE)  # hidden grade_id -> points (16 in all)
MAX_POINTS = {grade_id(c): float(c.metadata.nbgrader.get("points", 0)) for c in SOURCE.cells
              if c.metadata.get("nbgrader", {}).get("grade") or c.metadata.get("nbgrader", {}).get("task")}
REFERENCE = reference_answers(ROOT / "source" / ASSIGNMENT / NOTEBOOK)


# ---------------------------------------------------------------------------------------------
# The attacks
# ---------------------------------------------------------------------------------------------

@dataclass
class Attack:
    name: str
    tries: str                      # one line: what the attack tries
    plain: str                      # its outcome on plain nbgrader 0.9.6 (the issue), or "not probed"
    lost: list[str]                 # hidden cells its honest part does not deserve (the rest: full points)
    status: str                     # expected `status` column of the export
    feedback: list[str]             # phrases the student's feedback must contain (case-insensitive)
    cells: list[tuple[str, str, str]] = field(default_factory=list)  # (grade_id, mode, code)
    build: Callable | None = None   # for broken files: build(course, folder, notebook) writes the submission

    @property
    def expected(self) -> dict[str, float]:
        return {c: (0.0 if c in self.lost else p) for c, p in POINTS.items()}


SECTION = re.compile(r"^# %% (.+?)\s*$", re.M)
HEADER = re.compile(r"^# (plain|lost|status|feedback): ?(.*)$", re.M)


def parse_attack(path: Path) -> Attack:
    """`tests/attacks/<name>.py`: a docstring, `# key: value` lines, then `# %% <section>` blocks:
    `# %% <grade_id>` replaces a solution cell, `# %% <grade_id> +` appends to the reference answer,
    `# %% +after <grade_id>` inserts a free code cell of the student's own after that cell."""
    text = path.read_text()
    tries = re.match(r'\s*"""(.+?)"""', text, re.S).group(1).strip()
    head = dict(HEADER.findall(SECTION.split(text)[0]))
    lost = head.get("lost", "-").strip()
    lost = list(POINTS) if lost == "all" else [c.strip() for c in lost.split(",") if c.strip() not in ("", "-")]
    pieces = SECTION.split(text)
    cells = []
    for title, code in zip(pieces[1::2], pieces[2::2]):
        words = title.split()
        if words[0] == "+after":
            cells.append((words[1], "insert", code.strip() + "\n"))
        else:
            cells.append((words[0], "append" if words[1:] == ["+"] else "replace", code.strip() + "\n"))
    return Attack(path.stem, tries, head.get("plain", "not probed").strip(), lost, head.get("status", "graded").strip(),
                  [f.strip() for f in head.get("feedback", "").split("|") if f.strip()], cells)


def _damaged_cells(course, folder, nb):
    """Deletes the train solution cell and its hidden cell, pastes diagnose and its hidden cell twice
    (a wrong second copy), sets hidden_he to 100 points, makes check_model worth 50 and hidden_glorot
    a markdown cell, and saves the notebook under an R kernel."""
    by_id = {grade_id(c): c for c in nb.cells if grade_id(c)}
    nb.cells = [c for c in nb.cells if grade_id(c) not in ("train", "hidden_train")]
    copy_diagnose = nbformat.from_dict(json.loads(json.dumps(by_id["diagnose"])))
    copy_diagnose.source = "def diagnose(losses):\n    return 'learning'\n"
    copy_hidden = nbformat.from_dict(json.loads(json.dumps(by_id["hidden_diagnose"])))
    nb.cells += [copy_diagnose, copy_hidden]
    by_id["hidden_he"].metadata.nbgrader["points"] = 100
    by_id["check_model"].metadata.nbgrader["points"] = 50
    glorot = by_id["hidden_glorot"]
    glorot.cell_type = "markdown"
    glorot.pop("outputs", None), glorot.pop("execution_count", None)
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    nbformat.write(nb, str(folder / NOTEBOOK))


def _invalid_json(course, folder, nb):
    """Hands in a truncated file that is not JSON."""
    (folder / NOTEBOOK).write_text(nbformat.writes(nb)[:5000])


def _missing_notebook(course, folder, nb):
    """Hands in a folder with no notebook in it."""


def _wrong_file_name(course, folder, nb):
    """Hands in the notebook as `learning_rates (1).ipynb`, as a browser download names it."""
    nbformat.write(nb, str(folder / "learning_rates (1).ipynb"))


FILE_ATTACKS = [
    Attack("damaged_cells", _damaged_cells.__doc__.split("\n")[0] + " ...",
           "deleted/duplicated cells crash autograde or score the wrong copy; retagged cells change the points; "
           "a tampered schema stops the batch", ["hidden_train", "hidden_lr_regimes"], "graded",
           ["was missing from your submission"], build=_damaged_cells),
    Attack("invalid_json", _invalid_json.__doc__, "nbgrader stops on the notebook; no feedback", list(POINTS),
           "unreadable", ["could not be read", "not a valid notebook", "nothing you wrote was graded"],
           build=_invalid_json),
    Attack("missing_notebook", _missing_notebook.__doc__, "zero scores (autograde reports an error)", list(POINTS),
           "not submitted", [], build=_missing_notebook),
    Attack("wrong_file_name", _wrong_file_name.__doc__, "'Skipping unknown notebook': nothing graded, no feedback",
           [], "graded", ["file name this assignment expects is learning_rates.ipynb"], build=_wrong_file_name),
]
ATTACKS = [parse_attack(p) for p in sorted(ATTACK_DIR.glob("*.py"))] + FILE_ATTACKS
BY_NAME = {a.name: a for a in ATTACKS}
HONEST_WRONG_VARIANT = parse_variant(HONEST_WRONG, ASSIGNMENT, "wrong")
HONEST = {
    "ok_reference": Attack("ok_reference", "the reference answers", "16/16", [], "graded", []),
    "ok_wrong": Attack("ok_wrong", f"honest but wrong: {HONEST_WRONG_VARIANT.description}", "-",
                       HONEST_WRONG_VARIANT.fails, "graded", []),
}
STUDENTS = {**HONEST, **BY_NAME}
RERUN = ["ok_*", "gradebook_forgery"]  # student globs graded a second time

# Mechanism gaps this suite found: (check, attack) -> why it fails today. Each is a strict xfail,
# so the test starts failing (XPASS) the day the gap is closed, and the mark must then go.
# None open: `forge_report` and `patch_grader_helpers` were closed by the probe/checker split (issue 9).
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def cases(check: str, names=None):
    names = list(names or BY_NAME)
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[check, n]))
            if (check, n) in KNOWN_GAPS else n for n in names]


# ---------------------------------------------------------------------------------------------
# Building the submissions and running the batch
# ---------------------------------------------------------------------------------------------

def lighten(nb) -> None:
    """A short experiment sweep (a free cell, the student's own): 5 runs of 30 steps."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "LEARNING_RATES = [" in cell.source:
            cell.source = (cell.source.replace("SEEDS = range(5)", "SEEDS = range(1)")
                           .replace("train(Model(), x, y, lr)", "train(Model(), x, y, lr, steps=30)"))


def attack_notebook(course, attack: Attack, fill: dict[str, str]) -> nbformat.NotebookNode:
    answers = dict(REFERENCE)
    inserts = []
    for gid, mode, code in attack.cells:
        code = code.replace("@COURSE@", str(course.root)).replace("@PORT@", str(fill["port"])).replace("@OTHER@", "ok_reference")
        if mode == "replace":
            answers[gid] = code
        elif mode == "append":
            answers[gid] = REFERENCE[gid].rstrip() + "\n\n\n# ---- the student's addition ----\n" + code
        else:
            inserts.append((gid, code))
    nb = filled_release(course.root / "release" / ASSIGNMENT / NOTEBOOK, answers)
    for gid, code in inserts:
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    lighten(nb)
    return nb


def run_nbgrader(course, *args: str, timeout: float = 3000) -> subprocess.CompletedProcess:
    """nbgrader in the course folder; unlike `nnkit.demo.nbgrader`, a non-zero exit is recorded, not fatal."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course.root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def tree_hashes(*roots: Path) -> dict[str, str]:
    found = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Listener:
    """A TCP server on 127.0.0.1 that records whatever connects (nothing should)."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.5)
        self.port, self.received, self.stop = self.server.getsockname()[1], [], False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop:
            try:
                conn, peer = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append((peer, conn.recv(100)))
                except OSError:
                    self.received.append((peer, b""))


def grades_of(course) -> dict[str, dict[str, dict]]:
    """student -> grade name -> {score, auto, manual, extra, max} from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    result = {}
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission_notebook(NOTEBOOK[:-6], ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            result[student.id] = {g.name: {"score": g.score, "auto": g.auto_score, "manual": g.manual_score,
                                           "extra": g.extra_credit, "max": g.max_score} for g in sub.grades}
    return result


def student_ids(course) -> set[str]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:
        return {s.id for s in gb.students}


@dataclass
class Batch:
    course: object
    run1: subprocess.CompletedProcess
    grades1: dict
    grades2: dict
    feedback_run: subprocess.CompletedProcess
    export: dict
    hashes_before: dict
    hashes_after: dict
    listener: Listener
    seconds: dict

    def feedback(self, student: str) -> str | None:
        path = self.course.root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
        return path.read_text(errors="replace") if path.exists() else None

    def report(self, student: str) -> str | None:
        """The kit's own feedback page (`nnkit report`, issue 11)."""
        path = self.course.root / "feedback" / student / ASSIGNMENT / "report.html"
        return path.read_text(errors="replace") if path.exists() else None

    def status_file(self, student: str) -> dict:
        path = self.course.root / "autograded" / student / ASSIGNMENT / ".nnkit-status.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def hidden_scores(self, student: str, grades=None) -> dict[str, float]:
        got = (grades or self.grades1).get(student, {})
        return {c: float(got[c]["score"]) if c in got else 0.0 for c in POINTS}


def protected(course) -> list[Path]:
    root = course.root
    return [root / "source", root / "release", root / "grader_tests", root / "nbgrader_config.py",
            root / "submitted", root / "canary_status.txt", root / "canary_notebook.txt"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Batch:
    seconds = {}
    start = time.monotonic()
    course = course_copy(tmp_path_factory.mktemp("attack-course"))
    reference = course.root / "grader_tests" / ASSIGNMENT / "ps1_reference.py"
    reference.write_text(reference.read_text().replace("SEEDS = range(5)", "SEEDS = range(1)"))
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write("\n# tests/test_attacks.py: short timeouts for the slow-by-design attacks\n" + "\n".join(TIMEOUTS) + "\n")
    for name in ("canary_status.txt", "canary_notebook.txt"):
        (course.root / name).write_text(CANARY)
    done = run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    listener = Listener()
    fill = {"port": listener.port}
    for student, attack in STUDENTS.items():
        folder = course.root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2026-11-25 12:00:00.000000 UTC")
        if student == "ok_wrong":
            nb = filled_release(course.root / "release" / ASSIGNMENT / NOTEBOOK, {**REFERENCE, **HONEST_WRONG_VARIANT.cells})
            lighten(nb)
        else:
            nb = attack_notebook(course, attack, fill)
        if attack.build:
            attack.build(course, folder, nb)
        else:
            nbformat.write(nb, str(folder / NOTEBOOK))
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}") as gb:  # the class roster, as an instructor has it
        for student in STUDENTS:
            gb.update_or_create_student(student)
    hashes_before = tree_hashes(*protected(course))
    seconds["setup"] = time.monotonic() - start

    start = time.monotonic()
    run1 = run_nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")
    seconds["autograde"] = time.monotonic() - start
    (course.root / "autograde-run1.log").write_text(run1.stdout + run1.stderr)
    grades1 = grades_of(course)
    hashes_after = tree_hashes(*protected(course))

    start = time.monotonic()
    feedback_run = run_nbgrader(course, "generate_feedback", ASSIGNMENT, "--force")
    from nnkit.report.build import write_reports
    write_reports(course, [ASSIGNMENT])  # the kit's feedback pages and dashboard, leak-checked below
    exported = run_nbgrader(course, "export")
    assert exported.returncode == 0, exported.stdout[-3000:] + exported.stderr[-3000:]
    with open(course.root / "grades.csv") as handle:
        export = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == ASSIGNMENT}
    seconds["feedback+export"] = time.monotonic() - start

    start = time.monotonic()
    reruns = [run_nbgrader(course, "autograde", ASSIGNMENT, "--force", "--student", pattern) for pattern in RERUN]
    (course.root / "autograde-run2.log").write_text("".join(r.stdout + r.stderr for r in reruns))
    grades2 = grades_of(course)
    seconds["second autograde"] = time.monotonic() - start
    listener.stop = True
    print(f"\nattack batch: {len(STUDENTS)} students; " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    return Batch(course, run1, grades1, grades2, feedback_run, export, hashes_before, hashes_after, listener, seconds)


# ---------------------------------------------------------------------------------------------
# The batch as a whole
# ---------------------------------------------------------------------------------------------

def test_every_attack_is_documented():
    assert len(ATTACKS) >= 15
    for attack in ATTACKS:
        assert attack.tries and attack.plain and attack.status, attack.name
        assert set(attack.lost) <= set(POINTS), attack.name
    table = (ATTACK_DIR / "README.md").read_text()
    for attack in ATTACKS:
        assert f"`{attack.name}`" in table, f"tests/attacks/README.md has no row for {attack.name}"


def test_gradebook_has_exactly_the_students(batch):
    assert student_ids(batch.course) == set(STUDENTS)
    assert set(batch.export) == set(STUDENTS)


def test_honest_students_score_exactly(batch):
    assert batch.hidden_scores("ok_reference") == POINTS
    assert sum(POINTS.values()) == 16
    assert batch.hidden_scores("ok_wrong") == HONEST["ok_wrong"].expected
    for student in HONEST:
        assert batch.export[student]["status"] == "graded"


def test_no_forged_extra_credit_or_manual_scores(batch):
    for grades in (batch.grades1, batch.grades2):
        for student, cells in grades.items():
            for name, grade in cells.items():
                assert not grade["extra"], (student, name, grade)
                assert grade["manual"] is None, (student, name, grade)
                assert grade["max"] == MAX_POINTS[name], (student, name, grade)
    for student, row in batch.export.items():
        assert float(row["score"]) <= 16 and float(row["max_score"]) == 23, row


def test_instructor_files_unchanged(batch):
    """source/, release/, grader_tests/, the config and every submitted/ folder are as they were."""
    changed = {p for p in set(batch.hashes_before) | set(batch.hashes_after)
               if batch.hashes_before.get(p) != batch.hashes_after.get(p) and "canary" not in p}
    assert not changed
    assert not any(p.name == "PWNED" or p.read_bytes() == b"PWNED"
                   for p in batch.course.root.rglob("*") if p.is_file() and p.stat().st_size < 10)


@pytest.mark.parametrize("canary", cases("canary", ["canary_status.txt", "canary_notebook.txt"]))
def test_symlinks_in_autograded_folder_do_not_write_outside_it(batch, canary):
    """symlink_escape links its .nnkit-status.json and notebook to these course-root files."""
    assert (batch.course.root / canary).read_text() == CANARY


def test_nothing_reached_the_network(batch):
    assert batch.listener.received == []


def test_second_autograde_gives_the_same_grades(batch):
    rerun = [s for s in STUDENTS if any(fnmatch.fnmatch(s, p) for p in RERUN)]
    assert len(rerun) >= 3
    log = (batch.course.root / "autograde-run2.log").read_text()
    assert all(f"Autograding {batch.course.root}/autograded/{s}/" in log or f"autograded/{s}/" in log for s in rerun), log[-3000:]
    for student in rerun:
        assert batch.grades2[student] == batch.grades1[student], student
    assert batch.grades2 == batch.grades1


def test_feedback_never_shows_the_graders_of_honest_students(batch):
    for student in HONEST:
        html, report = batch.feedback(student), batch.report(student)
        assert html is not None and report is not None
        for secret in SECRETS:
            assert secret not in html + report, (student, secret)
    dashboard = (batch.course.root / "reports" / f"{ASSIGNMENT}.html").read_text()
    assert not [s for s in SECRETS if s in dashboard]


# ---------------------------------------------------------------------------------------------
# Per attack
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", cases("gains"))
def test_attacker_gains_nothing(batch, name):
    """No hidden cell scores more than the honest part of the notebook deserves."""
    attack, got = BY_NAME[name], batch.hidden_scores(name)
    assert all(got[c] <= attack.expected[c] for c in POINTS), {c: (got[c], attack.expected[c]) for c in POINTS}
    assert sum(got.values()) <= sum(attack.expected.values())
    if name in batch.export:
        assert float(batch.export[name]["score"]) <= sum(attack.expected.values())


@pytest.mark.parametrize("name", cases("honest part"))
def test_honest_part_is_scored_normally(batch, name):
    """An attack in one cell costs that cell; the other cells get what they deserve."""
    assert batch.hidden_scores(name) == BY_NAME[name].expected


@pytest.mark.parametrize("name", cases("feedback"))
def test_feedback_says_what_happened(batch, name):
    attack = BY_NAME[name]
    if not attack.feedback:
        pytest.skip("nothing to report: the attack changes nothing the student would see")
    html = batch.feedback(name)
    assert html is not None, f"no feedback for {name}"
    text = re.sub(r"<[^>]+>", "", html).lower()
    for phrase in attack.feedback:
        assert phrase.lower() in text, phrase


@pytest.mark.parametrize("name", cases("secrets"))
def test_feedback_never_shows_the_graders(batch, name):
    html = (batch.feedback(name) or "") + (batch.report(name) or "")
    assert not [s for s in SECRETS if s in html]


@pytest.mark.parametrize("name", cases("status"))
def test_export_status_column(batch, name):
    assert batch.export[name]["status"] == BY_NAME[name].status


@pytest.mark.parametrize("name", cases("device", ["fake_cuda"]))
def test_faked_cuda_does_not_move_the_graders(batch, name):
    honest = batch.status_file("ok_reference")["graders"]["device"]
    assert batch.status_file(name)["graders"]["device"] == honest


# ---------------------------------------------------------------------------------------------
# Benchmark (not a test of behaviour): NNKIT_BENCH=1
# ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get("NNKIT_BENCH"), reason="benchmark: set NNKIT_BENCH=1")
def test_sandbox_overhead(tmp_path):
    """Autograde the reference once with the course config as is and once with the sandbox off."""
    times = {}
    for mode in ("sandboxed", "plain"):
        course = course_copy(tmp_path / mode)
        if mode == "plain":
            with open(course.root / "nbgrader_config.py", "a") as config:
                config.write('\nc.SafeExecute.kernel_name = "python3"\nc.KernelManager.transport = "tcp"\n'
                             "c.RunHiddenGraders.sandbox = False\n")
        assert run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force").returncode == 0
        folder = course.root / "submitted" / "reference" / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(filled_release(course.root / "release" / ASSIGNMENT / NOTEBOOK, REFERENCE), str(folder / NOTEBOOK))
        start = time.monotonic()
        done = run_nbgrader(course, "autograde", ASSIGNMENT, "--create", "--force")
        times[mode] = time.monotonic() - start
        assert done.returncode == 0, done.stderr[-3000:]
    print(f"\nautograde of the reference notebook: sandboxed {times['sandboxed']:.1f} s, "
          f"sandbox off {times['plain']:.1f} s, ratio {times['sandboxed'] / times['plain']:.2f}")
