"""The student's module, as the probe loads it: cell by cell, a cell that raises costing only its own
names, and the words the student reads when one did (`describe_exception`, `missing_name_message`).

Runs in the probe (`nnkit.grading.probe`), the only process that executes a student's code; the
source comes from `nnkit.grading.notebook.assemble_module_source`, which starts each cell with
`CELL_HEADER`'s line.
"""
from __future__ import annotations

import importlib.util
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Callable

SUBMISSION_FILE = "submission.py"   # the graded module's file in the probe's folder (tracebacks name it)


# ---------------------------------------------------------------- what the checker shows the student
def describe_exception(error: BaseException) -> str:
    """`Type: message`, plus the last line of the student's own code it came from."""
    try:
        text = f"{type(error).__name__}: {error}"
    except Exception:  # a student's exception whose __str__ raises
        text = type(error).__name__
    if len(text) > 400:
        text = text[:400] + " …"
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if frame.filename.endswith(SUBMISSION_FILE):
            text += f" (in your code: `{(frame.line or '').strip()[:120]}`)"
            break
    return text


def missing_name_message(name: str, load_errors: list) -> str:
    if load_errors:
        where = "; ".join(f"{origin} raised {describe_exception(error)}" for origin, error in load_errors[:3])
        return f"`{name}` is not defined because running your notebook's code failed: {where}"
    return f"Your notebook does not define `{name}`. Did you delete or rename its cell?"


# ---------------------------------------------------------------- loading the student's module
# `nnkit.grading.notebook.assemble_module_source` starts each cell with this line.
CELL_HEADER = re.compile(r"^# ---- (.+) ----$", re.M)


class GradingProcessCrashed(Exception):
    """Stands in for a cell that was left out because running it killed the grading process."""


def load_module(source: str, where: Path, name: str = "submission", *, left_out: dict[str, str] | None = None,
                before_cell: Callable[[str], None] | None = None) -> types.ModuleType:
    """Execute `source` as a fresh module, one cell at a time.

    The source is written to `where` so tracebacks show its lines. A cell that
    raises does not stop the others: its names stay undefined and the exception
    is kept in `module.__load_errors__` as `(origin, exception)`, so one broken
    cell costs only the points of what depends on it.

    A cell that kills the process (a segfault, `os._exit`) cannot be caught here:
    `before_cell(origin)` lets the caller note which cell was running, and a new
    process passes `left_out={origin: how it died}` to run the others without it.
    """
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module.__load_errors__ = []
    sys.modules[name] = module
    headers = list(CELL_HEADER.finditer(source)) or [None]
    for index, header in enumerate(headers):
        start = header.start() if header else 0
        end = headers[index + 1].start() if index + 1 < len(headers) else len(source)
        origin = header.group(1) if header else name
        if origin in (left_out or {}):
            module.__load_errors__.append((origin, GradingProcessCrashed(
                f"the grading process crashed while running this cell ({left_out[origin]}), so it was left out")))
            continue
        if before_cell:
            before_cell(origin)
        line_offset = source.count("\n", 0, start)
        code = compile("\n" * line_offset + source[start:end], str(path), "exec")
        try:
            exec(code, module.__dict__)
        except BaseException as error:  # SystemExit and KeyboardInterrupt from student code too
            module.__load_errors__.append((origin, error))
    return module
