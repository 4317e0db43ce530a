"""The parts every assignment's views share: the `View` they subclass, what it renders to, and
the words and numbers of a finding."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from nnkit.report.bands import Band
from nnkit.report.plots import finite

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


@dataclass
class Rendered:
    key: str
    title: str
    cells: tuple[str, ...]
    svg: str
    caption: str
    findings: list[str] = field(default_factory=list)


def family(measurements: dict, prefix: str) -> list[tuple[dict, object]]:
    """[(parameters, value)] for names ``prefix/a=1/b=2/...`` (a bare ``8x8`` part becomes shape=8x8)."""
    found = []
    for name, value in measurements.items():
        parts = name.split("/")
        if parts[0] != prefix:
            continue
        params = {}
        for part in parts[1:]:
            key, _, val = part.partition("=")
            params[key if val else "shape"] = val if val else key
        found.append((params, value))
    return sorted(found, key=lambda pv: [(number(v), v) for v in pv[0].values()])


def number(text) -> float:
    """`text` as a number for sorting and arithmetic; inf when it is not one."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.inf


def fmt(value, digits: int = 3) -> str:
    v = finite(value)
    return "not finite (nan or inf)" if v is None else f"{v:.{digits}g}"


def band_text(band: Band | None) -> str:
    return f"a correct solution gives {fmt(band.minimum)} to {fmt(band.maximum)} over {band.seeds} seeds" if band else ""


def stat_sentence(label: str, values: list, band: Band | None) -> str:
    shown = ", ".join(fmt(v) for v in values)
    outside = band is not None and any(band.holds(finite(v)) is False or finite(v) is None for v in values)
    text = f"{label}: yours {shown}"
    if band:
        text += f"; {band_text(band)}"
    return text + (" (outside that range)" if outside else "") + "."


def losses(value) -> list[float | None]:
    return [finite(v) for v in value] if isinstance(value, list) else []


class View:
    """One plot of one family of measurements, and the findings under it."""
    key = ""
    title = ""
    prefix = ""
    cells: tuple[str, ...] = ()   # the hidden cells whose graders took these measurements
    caption = ""

    def claims(self) -> list[str]:
        """The calibration claims this view draws as reference bands."""
        return []

    def applies(self, measurements: dict) -> bool:
        return any(n.split("/")[0] == self.prefix for n in measurements)

    def data(self, measurements: dict) -> list[tuple[dict, object]]:
        return family(measurements, self.prefix)

    def render(self, measurements: dict, bands: dict[str, Band], salt: str, check_failed: bool = False) -> Rendered:
        """`check_failed`: a check of this view's cells failed (its numbers may be drawn in red)."""
        svg, findings = self.draw(self.data(measurements), bands, f"{salt}-{self.key}", check_failed)
        return Rendered(self.key, self.title, self.cells, svg, self.caption, findings)

    def draw(self, data, bands, salt, check_failed) -> tuple[str, list[str]]:
        raise NotImplementedError
