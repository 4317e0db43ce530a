"""Issue 9: attacks on the probe/checker split, each shown to gain nothing.

Each `tests/attacks/probe/<name>.py` is a ps1 submission (the reference answers with one malicious
change, in the mutant bank's `# %% <grade_id>` format; `# %% <grade_id> +` appends to the reference
answer) with `# key: value` lines: the hidden cells to grade, those its honest part does not
deserve, the expected status and phrases the feedback must contain. Each is graded by the real
runner (`nnkit.grading.runner.run_graders`, probe sandboxed) in a throw-away course copy that uses
one seed, and must:

* score exactly its honest part (the attacked cells 0, the others full);
* end with the expected status and say what happened;
* leave no trace in the checker's world: no file created by a payload, no grader source in a message.

The slower, whole-batch attacks (through `nbgrader autograde`, kernel included) are
`tests/test_attacks.py`; the table of both is `tests/attacks/README.md`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from conftest import course_copy
from nnkit.grading.runner import WHOLE_RUN_FAILED, run_graders
from nnkit.grading.status import Status
from nnkit.variants import apply_variant

ASSIGNMENT = "ps1_learning_rates"
PROBE_ATTACKS = Path(__file__).parent / "attacks" / "probe"
SECRETS = ("def test_", "grade_cell", "ps1_reference", "reference_train", "LEAKED")
HEADER = re.compile(r"^# (cells|lost|status|feedback): ?(.*)$", re.M)
SECTION = re.compile(r"^# %% (\S+)( \+)?\s*$", re.M)


@dataclass
class ProbeAttack:
    name: str
    tries: str
    cells: list[str]
    lost: list[str]
    status: Status
    feedback: list[str]
    code: dict[str, tuple[str, bool]]  # grade_id -> (code, appended to the reference answer?)


def parse(path: Path) -> ProbeAttack:
    text = path.read_text()
    tries = re.match(r'\s*"""(.+?)"""', text, re.S).group(1).strip()
    head = dict(HEADER.findall(text.split("\n# %%")[0]))
    pieces = SECTION.split(text)
    code = {pieces[i]: (pieces[i + 2].strip() + "\n", bool(pieces[i + 1])) for i in range(1, len(pieces), 3)}
    split = lambda value: [c.strip() for c in value.split(",") if c.strip() not in ("", "-")]  # noqa: E731
    return ProbeAttack(path.stem, tries, split(head["cells"]), split(head.get("lost", "-")), Status(head["status"]),
                       [f.strip() for f in head.get("feedback", "").split("|") if f.strip()], code)


ATTACKS = {p.stem: parse(p) for p in sorted(PROBE_ATTACKS.glob("*.py"))}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = course_copy(tmp_path_factory.mktemp("probe-attack-course"), with_release=False)
    reference = course.root / "grader_tests" / ASSIGNMENT / "ps1_reference.py"
    reference.write_text(reference.read_text().replace("SEEDS = range(5)", "SEEDS = range(1)"))
    return course


def submission(course, attack: ProbeAttack, folder: Path) -> Path:
    source = course.source_notebook(ASSIGNMENT)
    answers = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell.source
               for cell in nbformat.read(source, as_version=4).cells}
    cells = {}
    for gid, (code, append) in attack.code.items():
        code = code.replace("@COURSE@", str(course.root))
        cells[gid] = (answers[gid].rstrip() + "\n\n\n" + code) if append else code
    path = folder / source.name
    nbformat.write(apply_variant(source, cells), str(path))
    return path


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_probe_attack_gains_nothing(course, tmp_path, name):
    attack = ATTACKS[name]
    run = run_graders(course, ASSIGNMENT, submission(course, attack, tmp_path), only_cells=attack.cells,
                      per_test_timeout=20, timeout=600, sandbox=True)
    scores = {gid: cell.score for gid, cell in run.cells.items() if gid in attack.cells}
    expected = {gid: (0.0 if gid in attack.lost else run.cells[gid].max_points) for gid in attack.cells}
    messages = " ".join(m for cell in run.cells.values() for m in cell.messages)
    assert scores == expected, f"{name}: {scores} != {expected}\n{messages[:3000]}\n{run.detail[-2000:]}"
    assert run.status is attack.status, (run.status, messages[:2000])
    for phrase in attack.feedback:
        assert phrase.lower() in messages.lower(), f"{name}: '{phrase}' not in {messages[:2000]}"
    for secret in SECRETS:
        assert secret not in messages, f"{name}: '{secret}' reached the student's messages"
    assert not list(course.root.glob("pwned*")), f"{name}: a payload ran in the checker"
    assert not (course.root / "report.json").exists()


def test_every_probe_attack_is_documented():
    table = (Path(__file__).parent / "attacks" / "README.md").read_text()
    assert len(ATTACKS) >= 7
    for name, attack in ATTACKS.items():
        assert attack.tries and attack.cells and set(attack.lost) <= set(attack.cells), name
        assert f"`{name}`" in table, f"tests/attacks/README.md has no row for the probe attack {name}"


# ---------------------------------------------------------------------------------------------
# The forked checker (nnkit.grading.forked_checker, what the mutant bank uses): same verdicts,
# same wall limit as a checker started as a new process
# ---------------------------------------------------------------------------------------------

def test_a_forked_checker_gives_the_verdicts_of_a_new_process(course, tmp_path):
    from nnkit.variants import discover

    wrong = next(v for v in discover(course.variants_dir, [ASSIGNMENT]) if v.kind == "wrong" and v.fails)
    path = tmp_path / course.source_notebook(ASSIGNMENT).name
    nbformat.write(apply_variant(course.source_notebook(ASSIGNMENT), wrong.cells), str(path))
    runs = [run_graders(course, ASSIGNMENT, path, only_cells=["hidden_dataset", "hidden_broadcast", "hidden_he"],
                        per_test_timeout=60, fork_checker=fork) for fork in (False, True)]
    verdicts = [{gid: (cell.score, cell.messages) for gid, cell in run.cells.items()} for run in runs]
    assert verdicts[0] == verdicts[1]
    assert runs[0].status is runs[1].status is Status.GRADED, runs[1].detail
    assert any(score < cell.max_points for score, cell in zip((v[0] for v in verdicts[1].values()),
                                                              runs[1].cells.values())), "the variant must lose points"


def test_a_forked_checker_past_its_wall_limit_is_killed_with_its_probe(course, tmp_path):
    import time
    import uuid

    import psutil

    token = f"# run {uuid.uuid4().hex}"
    attack = ATTACKS["sleeping_probe"]
    path = submission(course, attack, tmp_path)
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train").source += "\n" + token
    nbformat.write(nb, str(path))

    def probes_of_this_run() -> list:
        found = []
        for process in psutil.process_iter(["cmdline"]):
            args = process.info["cmdline"] or []
            if "nnkit.grading.probe" in args:
                source = Path(args[-1]) / "submission.py"
                if source.is_file() and token in source.read_text():
                    found.append(process.pid)
        return found

    import threading

    seen, done = set(), threading.Event()

    def watch():   # the probe must be visible while it sleeps, or the last check could not fail
        while not done.wait(0.5):
            seen.update(probes_of_this_run())

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.monotonic()
    run = run_graders(course, ASSIGNMENT, path, only_cells=["hidden_lr_regimes"], per_test_timeout=300,
                      timeout=25, fork_checker=True)
    done.set()
    watcher.join()
    assert run.status is Status.TIMED_OUT and time.monotonic() - start < 60
    assert seen, "the sleeping probe was never seen running"
    assert len(run.notes) == 1 and "Timed out" in run.notes[0]          # said once, for the whole hand-in
    assert all(cell.messages == [WHOLE_RUN_FAILED] for cell in run.cells.values())
    deadline = time.monotonic() + 10
    while probes_of_this_run() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not probes_of_this_run(), "the probe outlived its killed checker"
