"""Static plots for the reports: matplotlib figures as small inline SVG.

Inline SVG needs no JavaScript and no network, scales when printed, and is
small when the text stays text (``svg.fonttype = none``) and long curves are
thinned to at most `MAX_POINTS` points. Every figure gets its own id salt, so
several can share one page.
"""
from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from nnkit.report.bands import Band  # noqa: E402

MAX_POINTS = 80
# green: inside the reference range; red: a graders' check failed; amber: outside the range, checks passed
INSIDE, OUTSIDE, OUTSIDE_PASSED, BAND, MEDIAN = "#2b7a3d", "#c0392b", "#d08c00", "#cfd8dc", "#607d8b"
STYLE = {"font.size": 8, "axes.titlesize": 7.5, "axes.labelsize": 8, "legend.fontsize": 7,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "svg.fonttype": "none", "lines.linewidth": 1.0,
         "axes.spines.top": False, "axes.spines.right": False}


def figure(width: float, height: float) -> Figure:
    # The style must be in force when axes are made, not only when the figure is: set it for this
    # process (reports draw nothing else).
    matplotlib.rcParams.update(STYLE)
    return Figure(figsize=(width, height), dpi=72, layout="constrained")


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an <svg> element, without the XML prologue, ids unique to `name`."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s(width|height)="[\d.]+pt"', "", text, count=2)  # let CSS size it
    text = re.sub(r">\s+<", "><", text).strip()
    text = _USE_GROUP.sub(_hoist_style, text)
    return _ATTRIBUTE.sub(lambda m: m.group(1) + '="' + _DECIMALS.sub(_one_decimal, m.group(2)) + '"', text)


# Geometry attributes: a tenth of a point is finer than any screen or printer shows, and
# matplotlib writes six digits. (Text content, such as tick labels, is left alone.)
_ATTRIBUTE = re.compile(r'\b(d|x|y|x1|x2|y1|y2|width|height|transform|style)="([^"]*)"')
_DECIMALS = re.compile(r"-?\d+\.\d{2,}")


# matplotlib draws each marker as a <use> with the same style, inside one <g> per line: give
# the style once to the group (the uses inherit it), a third of a scatter plot's bytes.
_USE_GROUP = re.compile(r'<g((?: (?!style)[\w:-]+="[^"]*")*)>((?:<use [^>]*/>)+)</g>')
_USE_STYLE = re.compile(r' style="([^"]*)"')


def _hoist_style(match: re.Match) -> str:
    attributes, uses = match.group(1), match.group(2)
    styles = set(_USE_STYLE.findall(uses))
    if len(styles) != 1 or uses.count("<use") != uses.count(" style="):
        return match.group(0)
    return f'<g{attributes} style="{styles.pop()}">' + _USE_STYLE.sub("", uses) + "</g>"


def _one_decimal(match: re.Match) -> str:
    value = f"{float(match.group()):.1f}"
    return "0" if value in ("0.0", "-0.0") else value.removesuffix(".0")


def thin(values: list, limit: int = MAX_POINTS) -> tuple[list[int], list]:
    """(indices, values): every k-th point so that at most `limit` remain, the last one kept."""
    step = max(1, math.ceil(len(values) / limit))
    idx = list(range(0, len(values), step))
    if values and idx[-1] != len(values) - 1:
        idx.append(len(values) - 1)
    return idx, [values[i] for i in idx]


def finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


@dataclass
class BandRow:
    """One statistic of the student's run, drawn against its reference band."""
    label: str
    band: Band | None
    values: list            # one per seed; None: not finite
    counts: bool = False    # whole numbers (steps, epochs): integer ticks


def dot_colour(value: float | None, band: Band | None, check_failed: bool) -> str:
    """Red only where a graders' check failed: a value outside the reference range of a part that
    passed is shown apart (amber), not as an error the score table does not report."""
    if band is None or band.holds(value):
        return INSIDE
    return OUTSIDE if check_failed else OUTSIDE_PASSED


DOT_MEANINGS = {INSIDE: "yours: inside the range", OUTSIDE_PASSED: "yours: outside, checks passed",
                OUTSIDE: "yours: a check failed"}


def band_legend(ax, colours: set[str], with_band: bool, ncols: int = 2) -> None:
    """A key for `band_rows`, in `ax` (an axis of its own): the grey range, its median, and each
    kind of dot drawn."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = []
    if with_band:
        handles += [Patch(color=BAND, label="a correct solution's range"), Line2D([], [], color=MEDIAN, label="its median")]
    handles += [Line2D([], [], ls="", marker="o", ms=4, color=c, label=DOT_MEANINGS[c])
                for c in (INSIDE, OUTSIDE_PASSED, OUTSIDE) if c in colours]
    ax.axis("off")
    if handles:
        key = ax.legend(handles=handles, frameon=False, loc="center", ncols=ncols, borderaxespad=0, handlelength=1.2,
                        columnspacing=1.0)
        key.set_in_layout(False)   # the key may be wider than one panel: it must not narrow them


def band_rows(fig: Figure, rows: list[BandRow], ncols: int = 1, check_failed: bool = False):
    """One thin panel per row: the reference band (grey bar, median tick) and the student's
    values (one dot per seed, coloured by `dot_colour`; 'not finite' for a non-finite value),
    with a key. Panels are laid out in a `len(rows) x ncols` grid (column-major when ncols > 1)."""
    nrows = math.ceil(len(rows) / ncols)
    # the key gets a row of its own under the panels (a figure legend would overlap them)
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1] * nrows + [0.8])
    axes = [[fig.add_subplot(grid[r, c]) for c in range(ncols)] for r in range(nrows)]
    flat = [axes[r][c] for c in range(ncols) for r in range(nrows)]
    colours: set[str] = set()
    for ax, row in zip(flat, rows):
        band, values = row.band, row.values
        numbers = [v for v in (finite(v) for v in values) if v is not None]
        span = numbers + ([band.minimum, band.maximum] if band else [])
        positive = span and min(span) > 0
        if positive and max(span) / min(span) > 30:
            ax.set_xscale("log")
        if band:
            ax.axvspan(band.minimum, band.maximum, color=BAND, lw=0)
            ax.axvline(band.median, color=MEDIAN, lw=1)
        for i, value in enumerate(values):
            v = finite(value)
            if v is None:
                ax.annotate("not finite", (1.0, 0.5), xycoords="axes fraction", ha="right", va="center",
                            color=OUTSIDE if check_failed else OUTSIDE_PASSED, fontsize=7)
                continue
            colour = dot_colour(v, band, check_failed)
            colours.add(colour)
            ax.plot([v], [0.5 + 0.12 * (i - (len(values) - 1) / 2)], "o", ms=4, color=colour)
        if span:
            low, high = min(span), max(span)
            if ax.get_xscale() == "log":
                ax.set_xlim(low / 1.6, high * 1.6)
            else:
                pad = (high - low) * 0.15 or abs(high) * 0.1 or 0.1
                ax.set_xlim(low - pad, high + pad)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        if ax.get_xscale() != "log":
            # a count (steps, epochs) gets whole-number ticks, not 192.0, 192.8, 193.6
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=row.counts))
        ax.spines["left"].set_visible(False)
        ax.set_title(row.label, loc="left", pad=2)
    for ax in flat[len(rows):]:
        ax.set_visible(False)
    band_legend(fig.add_subplot(grid[nrows, :]), colours, any(r.band for r in rows), ncols=2 if ncols == 1 else 3)
