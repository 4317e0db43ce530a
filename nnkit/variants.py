"""The mutant bank: plausible wrong answers and alternative right ones, per assignment.

    variants/<assignment>/wrong/<name>.py     each must be caught by some hidden grader
    variants/<assignment>/correct/<name>.py   each must pass every hidden grader

A variant file replaces solution cells of the source notebook. Its docstring says
what it gets wrong (or how it differs); each `# %% <grade_id>` line starts the code
of one solution cell. A wrong variant may list, on a line `# fails: a, b`, the
hidden grade cells it must fail, exactly; `make test` holds it to that list.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from nnkit.grading.notebook import with_solutions
from nnkit.grading.results import describe_grader_error
from nnkit.grading.status import Status

CELL_MARK = re.compile(r"^# %% (\S+)\s*$", re.M)
FAILS_MARK = re.compile(r"^# fails: (.+)$", re.M)


@dataclass
class Variant:
    assignment: str
    name: str
    kind: str  # "wrong" or "correct"
    description: str
    cells: dict[str, str]
    fails: list[str] = field(default_factory=list)
    path: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.assignment}/{self.kind}/{self.name}"


def parse_variant(path: Path, assignment: str, kind: str) -> Variant:
    text = path.read_text()
    description = (ast.get_docstring(ast.parse(text)) or "").strip().splitlines()
    pieces = CELL_MARK.split(text)
    cells = {pieces[i]: pieces[i + 1].strip() + "\n" for i in range(1, len(pieces), 2)}
    if not cells:
        raise ValueError(f"{path}: no '# %% <grade_id>' cell in this variant")
    fails = FAILS_MARK.search(text)
    return Variant(assignment, path.stem, kind, description[0] if description else "", cells,
                   [c.strip() for c in fails.group(1).split(",")] if fails else [], path)


def discover(root: Path, assignments: list[str] | None = None) -> list[Variant]:
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if assignments and folder.name not in assignments:
            continue
        for kind in ("wrong", "correct"):
            for path in sorted((folder / kind).glob("*.py")):
                found.append(parse_variant(path, folder.name, kind))
    return found


def apply_variant(source_notebook: Path, cells: dict[str, str]) -> nbformat.NotebookNode:
    """The source notebook (the reference solution) with the given solution cells replaced."""
    return with_solutions(source_notebook, cells, strict=True)


@dataclass
class VariantResult:
    variant: Variant
    failed_cells: list[str]
    status: str
    messages: list[str]

    @property
    def caught(self) -> bool:
        """Failed in a cell whose graders judged it: a cell that failed only because a grader raised
        (`grader_errors`) catches nothing."""
        judged = set(self.failed_cells) - {e.get("cell") for e in self.grader_errors}
        return bool(judged)

    exact: bool = False
    grader_errors: list = field(default_factory=list)   # the graders' own exceptions (bugs of the graders)

    @property
    def as_expected(self) -> bool:
        if self.variant.kind == "correct":
            return not self.failed_cells and not self.grader_errors and self.status is Status.GRADED
        if not self.variant.fails:
            return self.caught
        if self.exact:
            return sorted(self.failed_cells) == sorted(self.variant.fails) and not self.grader_errors
        # Stopped at the first failure: that failure must be one the variant declares.
        return self.caught and set(self.failed_cells) <= set(self.variant.fails)


def check_variant(course, variant: Variant, device: str = "auto", exact: bool = False,
                  probe_zygote: str = "") -> VariantResult:
    """Grade one variant. A wrong one runs only the tests of the cells its `# fails:` line
    names, up to the first failure, unless `exact`, which runs every grader and compares
    the failed cells with that list. `probe_zygote`: a `ProbeZygote`'s socket to fork the
    probes from (see `check_all`)."""
    import tempfile

    from nnkit.grading.runner import run_graders

    nb = apply_variant(course.source_notebook(variant.assignment), variant.cells)
    with tempfile.TemporaryDirectory(prefix="nnkit-variant-") as tmp:
        path = Path(tmp) / course.source_notebook(variant.assignment).name
        nbformat.write(nb, str(path))
        quick = variant.kind == "wrong" and not exact
        # Quick mode: only the tests of the cells the variant says it fails, up to the first failure.
        # A quick run is mostly start-up, and the bank makes hundreds of them: the checkers fork
        # from one warm server (nnkit.grading.forked_checker), the probes from a warm zygote.
        run = run_graders(course, variant.assignment, path, device=device, timeout=600, per_test_timeout=120,
                          first_failure_only=quick, only_cells=variant.fails if quick else None, fork_checker=True,
                          probe_zygote=probe_zygote)
    # Under -x the cells whose tests never ran are "not ok" too; only count real failures.
    failed = sorted(gid for gid, cell in run.cells.items() if cell.total and not cell.ok)
    messages = [m for cell in run.cells.values() for m in cell.messages]
    return VariantResult(variant, failed, run.status, messages, exact, run.grader_errors)


def check_all(course, variants: list[Variant], device: str = "auto", workers: int = 2,
              exact: bool = False, warm_probes: bool = True, on_result=None) -> list[VariantResult]:
    """Grade `variants` on `workers` threads. `warm_probes`: fork each probe from a sandboxed
    zygote (one per worker, `nnkit.grading.probe_zygote`) instead of starting a fresh sandboxed
    Python: the variants are the instructor's own code, never a student's. `on_result`: called
    with each `VariantResult` as soon as it is known (from a worker thread)."""
    import queue
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    from nnkit.grading.probe_zygote import ProbeZygote

    from nnkit.grading.devices import probe_device

    gpu = probe_device(device) == "cuda"
    zygotes = [ProbeZygote(course.root, gpu=gpu) for _ in range(min(workers, len(variants)))] if warm_probes else []
    free: queue.Queue = queue.Queue()
    for zygote in zygotes:
        free.put(str(zygote.socket_path))

    def check(variant: Variant) -> VariantResult:
        socket_path = free.get() if zygotes else ""
        try:
            result = check_variant(course, variant, device, exact, probe_zygote=socket_path)
        finally:
            if zygotes:
                free.put(socket_path)
        if on_result is not None:
            on_result(result)
        return result

    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(check, v) for v in variants]
            return [f.result() for f in tqdm(futures, desc="variants", unit="variant")]
    finally:
        for zygote in zygotes:
            zygote.close()


def report(results: list[VariantResult]) -> tuple[str, bool]:
    wrong = [r for r in results if r.variant.kind == "wrong"]
    correct = [r for r in results if r.variant.kind == "correct"]
    killed = sum(r.caught for r in wrong)
    false_failures = sum(not r.as_expected for r in correct)
    lines = []
    for r in results:
        mark = "ok " if r.as_expected else "BAD"
        detail = ("fails " + ", ".join(r.failed_cells)) if r.failed_cells else "passes every grader"
        if r.variant.kind == "wrong" and r.variant.fails and not r.as_expected:
            detail += f" (expected to fail exactly {', '.join(r.variant.fails)})"
        lines.append(f"{mark} {r.variant.label:<55} {detail}")
        if not r.as_expected and r.variant.kind == "correct":
            lines += [f"      - {m}" for m in r.messages[:5]]
        lines += [f"      GRADER ERROR {describe_grader_error(e)}" for e in r.grader_errors[:5]]
    kill_rate = killed / len(wrong) if wrong else 1.0
    fail_rate = false_failures / len(correct) if correct else 0.0
    lines.append(f"kill rate {killed}/{len(wrong)} = {kill_rate:.0%}; "
                 f"false failures {false_failures}/{len(correct)} = {fail_rate:.0%}")
    return "\n".join(lines), all(r.as_expected for r in results)
