"""What feedback shows of the student's own measurements: a registry of views per assignment.

Each assignment's views live in a module of this package named after it
(``ps1_learning_rates.py``, ...), which fills the registry with `register`; a
new assignment adds its own module and nothing here changes. A `View` reads
one family of measurements (named by the graders' ``measure(...)`` calls, e.g.
``lr_sweep/lr=1/seed=3``), plots them against the calibration's reference bands
and says in plain words what the student's code did (`nnkit.report.views.base`).
Views state behaviour the release notebook already describes; they never show
reference code, a mark scheme, or a calibrated value that answers a question.
"""
from __future__ import annotations

import importlib
import pkgutil
import re

from nnkit.report.bands import Band
from nnkit.report.views.base import Rendered, View

VIEWS: dict[str, list[View]] = {}


def register(assignment: str, *views: View) -> None:
    """Called by an assignment's module: these views draw that assignment's measurements."""
    VIEWS.setdefault(assignment, []).extend(views)


def _load_assignment_modules() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")


def render_views(assignment: str, measurements: dict, bands: dict[str, Band], salt: str,
                 failed_cells: set[str] | frozenset = frozenset()) -> list[Rendered]:
    """Every view of `assignment` that has measurements; a view that cannot draw the (student-made)
    numbers says so instead of failing the whole report. `failed_cells`: the parts whose checks
    failed, the only ones whose numbers a view draws in red."""
    rendered = []
    for view in VIEWS.get(assignment, []):
        if not view.applies(measurements):
            continue
        try:
            rendered.append(view.render(measurements, bands, re.sub(r"\W", "", salt),
                                        bool(set(view.cells) & set(failed_cells))))
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError) as error:
            rendered.append(Rendered(view.key, view.title, view.cells, "",
                                     f"Your measurements could not be plotted ({type(error).__name__}).", []))
    return rendered


_load_assignment_modules()
