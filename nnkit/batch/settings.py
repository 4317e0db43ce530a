"""What a batch job needs to know before it starts: the course's grading settings, the job's time
limit, the gradebook URL, and the hashes that say whether a hand-in changed since its last run."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nnkit.grading.course import Course, CourseProblem

SQLITE_BUSY_SECONDS = 120
# Seconds for what autograde does besides running cells and graders: starting
# Python and nbgrader, the kernel (its own startup timeout comes on top), the
# gradebook writes and the copy of the notebook.
STARTUP_ALLOWANCE = 120

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
