"""Where an assignment's pieces live in a course folder.

    <course>/nbgrader_config.py
    <course>/source/<assignment>/<notebook>.ipynb   instructor version, with solutions
    <course>/grader_tests/<assignment>/test_*.py    hidden graders, never released
    <course>/variants/<assignment>/{wrong,correct}/ the mutant bank that tests the graders
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CourseProblem(Exception):
    """The course folder or its settings are not as expected; the message says what to do."""


class DeviceUnavailable(CourseProblem):
    """The graders were asked to run on a GPU this machine does not have."""


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def from_nbgrader(cls, config=None, root: str | Path | None = None) -> "Course":
        """The course nbgrader works on: `CourseDirectory.root` from its configuration
        (``c.CourseDirectory.root`` in nbgrader_config.py, else the folder nbgrader runs in),
        or `root` when given. The one way the kit's nbgrader steps and commands find the course."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=config) if config is not None else CourseDirectory()
        folder = Path(root if root is not None else coursedir.root).resolve()
        if not (folder / "nbgrader_config.py").is_file() or not (folder / "grader_tests").is_dir():
            raise CourseProblem(f"{folder} is not a course folder (it needs nbgrader_config.py and grader_tests/): "
                                "run nbgrader and nnkit in the course folder, set c.CourseDirectory.root, or pass --course.")
        return cls(folder)

    @classmethod
    def containing(cls, *starts: Path) -> "Course":
        """The nearest folder above any of `starts` that holds `nbgrader_config.py` and `grader_tests/`."""
        for start in starts:
            folder = course_folder_above(start)
            if folder is not None:
                return cls(folder)
        raise CourseProblem(f"no course folder (with nbgrader_config.py and grader_tests/) above {starts[0]}")

    def assignments(self) -> list[str]:
        return sorted(p.name for p in (self.root / "source").iterdir() if p.is_dir() and not p.name.startswith("."))

    def grader_dir(self, assignment: str) -> Path:
        folder = self.root / "grader_tests" / assignment
        if not folder.is_dir():
            raise CourseProblem(f"{folder} does not exist: assignment '{assignment}' has no hidden graders.")
        return folder

    @property
    def variants_dir(self) -> Path:
        """The mutant bank (see `nnkit.variants`)."""
        return self.root / "variants"

    @property
    def course_id(self) -> str:
        """`c.CourseDirectory.course_id` as nbgrader_config.py sets it (the folder's name where it does not):
        the course's name in nbgrader's exchange."""
        config = self.root / "nbgrader_config.py"
        lines = config.read_text().splitlines() if config.is_file() else []
        return next((line.split("=", 1)[1].split("#", 1)[0].strip().strip("\"'") for line in lines
                     if line.strip().startswith("c.CourseDirectory.course_id")), self.root.name)

    def source_notebook(self, assignment: str) -> Path:
        folder = self.root / "source" / assignment
        notebooks = sorted(folder.glob("*.ipynb"))
        if len(notebooks) != 1:
            raise CourseProblem(f"{folder} should hold exactly one notebook, found {len(notebooks)}.")
        return notebooks[0]

    def infer_assignment(self, submission: Path) -> str:
        """The assignment a notebook belongs to: its folder's name, else its file name (the source
        notebook's name, or the assignment's own, as in `solutions/ps2_regularization.ipynb`)."""
        known = self.assignments()
        for folder in submission.resolve().parents:
            if folder.name in known:
                return folder.name
        for name in known:
            if submission.name in (self.source_notebook(name).name, f"{name}.ipynb"):
                return name
        raise CourseProblem(
            f"cannot tell which assignment {submission} belongs to; pass --assignment "
            f"(one of: {', '.join(known)}).")


def course_folder_above(start: Path, *, with_graders: bool = True) -> Path | None:
    """The nearest folder at or above `start` that holds `nbgrader_config.py` (and `grader_tests/`
    unless `with_graders` is False: a student's copy of a course has no graders), else None."""
    for folder in [Path(start), *Path(start).resolve().parents]:
        if (folder / "nbgrader_config.py").is_file() and (not with_graders or (folder / "grader_tests").is_dir()):
            return folder
    return None
