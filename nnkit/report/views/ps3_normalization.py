"""ps3_normalization: the student's BatchNorm1d output statistics and Dropout / DropBlock2d keep rates."""
from __future__ import annotations

import math

from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from nnkit.report.bands import Band
from nnkit.report.plots import BAND, DOT_MEANINGS, OUTSIDE, figure, finite, to_svg, dot_colour
from nnkit.report.views import register
from nnkit.report.views.base import PALETTE, View, fmt, number

REFERENCE = "#90a4ae"
# |mean| is drawn on a log axis: an exact zero (or anything smaller) is drawn at this floor.
MEAN_FLOOR = 1e-18
# The graders accept a keep rate within this many standard deviations of what p implies.
GRADER_Z = 6


class BatchNormStatistics(View):
    key, title, prefix = "batchnorm", "Your BatchNorm1d's output statistics", "batchnorm"
    cells = ("hidden_bn_train",)
    caption = ("Per channel, in training mode, with gamma and beta taken out: the standard deviation (left) "
               "and the size of the mean (right) of your layer's output, against each channel's input scale. "
               f"Grey: what nn.BatchNorm1d gives on the same batch. Means below {MEAN_FLOOR:.0e} are drawn at "
               f"{MEAN_FLOOR:.0e}.")

    def draw(self, data, bands, salt, check_failed):
        fig = figure(7.2, 2.9)
        left, right = fig.subplots(1, 2)
        findings = []
        for colour, (params, value) in zip(PALETTE * 4, data):
            if not isinstance(value, dict):
                continue
            eps = number(params.get("eps"))
            scale = [finite(v) for v in value.get("input_std") or []]
            std = [finite(v) for v in value.get("std") or []]
            mean = [finite(v) for v in value.get("mean") or []]
            pts = [(s, d, m) for s, d, m in zip(scale, std, mean) if s and s > 0]
            if not pts or not math.isfinite(eps):
                continue
            expected = [math.sqrt(s * s / (s * s + eps)) for s, _, _ in pts]
            left.plot([s for s, _, _ in pts], [d if d is not None else float("nan") for _, d, _ in pts], "o", ms=3.5,
                      color=colour, label=f"yours: eps={params.get('eps')}, seed {params.get('seed')}")
            left.plot([s for s, _, _ in pts], expected, "s", ms=7, mfc="none", color=REFERENCE)
            right.plot([s for s, _, _ in pts],
                       [max(abs(m), MEAN_FLOOR) if m is not None else float("nan") for _, _, m in pts],
                       "o", ms=3.5, color=colour)
            worst_std = max((abs(d - e) if d is not None else math.inf) for (_, d, _), e in zip(pts, expected))
            worst_mean = max((abs(m) if m is not None else math.inf) for _, _, m in pts)
            verdict = "as nn.BatchNorm1d gives" if worst_std < 1e-4 and worst_mean < 1e-4 else "not what nn.BatchNorm1d gives"
            shown = [d for _, d, _ in pts if d is not None]
            findings.append(f"eps={params.get('eps')}, seed {params.get('seed')}: over {len(pts)} channels your output's "
                            f"standard deviation is {fmt(min(shown) if shown else None)} to {fmt(max(shown, default=None))} "
                            f"and its mean is at most {fmt(worst_mean, 2)} in size; off by up to {fmt(worst_std, 2)} in "
                            f"standard deviation ({verdict}).")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlabel("input scale of the channel (std)")
        right.set_yscale("log")
        left.set_ylabel("std / gamma")
        right.set_ylabel("|mean - beta| / |gamma|")
        right.axhspan(MEAN_FLOOR, 1e-8, color=BAND, lw=0)
        handles, _ = left.get_legend_handles_labels()
        handles += [Line2D([], [], ls="", marker="s", ms=7, mfc="none", color=REFERENCE, label="nn.BatchNorm1d"),
                    Patch(color=BAND, label="|mean| at float rounding level (< 1e-8)")]
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        return to_svg(fig, salt), findings


class KeepRates(View):
    """Dropout or DropBlock: the share of units kept, and how far it is from what p implies."""
    claim = ""
    noun = ""

    def case(self, params) -> str:
        raise NotImplementedError

    def claims(self):
        return [self.claim]

    def draw(self, data, bands, salt, check_failed):
        cases: dict[str, list] = {}
        for params, value in data:
            if isinstance(value, dict):
                cases.setdefault(self.case(params), []).append(
                    (params, finite(value.get("keep_rate")), finite(value.get("z"))))
        band = bands.get(self.claim)
        # the band bounds |z|: inside it is what a correct layer gives (without one, the graders' limit)
        judged = Band(self.claim, "|z|", 0.0, 0.0, band.maximum if band else GRADER_Z, band.seeds if band else 0)
        fig = figure(7.2, 2.8)
        left, right = fig.subplots(1, 2)
        colours = set()
        for i, name in enumerate(cases):
            for j, (params, keep, z) in enumerate(cases[name]):
                nominal = 1 - number(params.get("p"))
                left.plot([nominal], [keep if keep is not None else float("nan")], "o", ms=3.5, color=PALETTE[i % 6],
                          label=name if j == 0 else None)
                colour = dot_colour(abs(z) if z is not None else None, judged, check_failed)
                colours.add(colour)
                right.plot([i + 0.1 * (j - 1)], [z if z is not None else float("nan")], "o", ms=3.5, color=colour)
        left.plot([0, 1], [0, 1], color=REFERENCE, lw=0.8, label="kept = 1 - p")
        left.set_xlabel("1 - p (nominal keep rate)")
        left.set_ylabel("share kept")
        left.legend(frameon=False, fontsize=6)
        if band:
            right.axhspan(-band.maximum, band.maximum, color=BAND, lw=0)
        for sign in (1, -1):
            right.axhline(sign * GRADER_Z, ls="--", color=OUTSIDE, lw=0.8)
        right.set_xticks(range(len(cases)), list(cases), rotation=30, ha="right")
        right.set_ylabel("std devs from expected")
        right.legend(handles=([Patch(color=BAND, label="a correct layer, 10 seeds")] if band else []) +
                     [Line2D([], [], ls="--", color=OUTSIDE, lw=0.8, label=f"graders' limit (±{GRADER_Z})")] +
                     [Line2D([], [], ls="", marker="o", ms=3.5, color=c, label=DOT_MEANINGS[c]) for c in sorted(colours)],
                     frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(1, 1))
        findings = []
        for name, rows in cases.items():
            params, keep, z = rows[0]
            findings.append(f"{self.noun}({name}), seed {params.get('seed')}: your layer kept {fmt(keep) if keep is None else f'{keep:.1%}'} of the units, "
                            f"{fmt(z, 2)} standard deviations from what the rate implies.")
        if band:
            findings.append(f"A correct {self.noun} stays within {fmt(band.maximum, 2)} standard deviations over "
                            f"{band.seeds} seeds (grey band); the graders allow {GRADER_Z} (dashed).")
        return to_svg(fig, salt), findings


class DropoutRates(KeepRates):
    key, title, prefix, noun = "dropout", "Your Dropout's keep rates", "dropout", "Dropout"
    cells = ("hidden_dropout_mask",)
    claim = "Dropout: share of zeros near p (grader bound)"
    caption = ("Left: the share of units your Dropout kept against 1 - p (line: equal). Right: how many standard "
               "deviations that share is from 1 - p, per seed; grey: a correct layer over 10 seeds.")

    def case(self, params):
        return f"p={params.get('p')}"


class DropBlockRates(KeepRates):
    key, title, prefix, noun = "dropblock", "Your DropBlock2d's keep rates", "dropblock", "DropBlock2d"
    cells = ("hidden_dropblock_rate",)
    claim = "DropBlock: drop rate matches gamma (grader bound)"
    caption = ("Left: the share of units your DropBlock2d kept against 1 - drop_prob (blocks overlap, so a correct "
               "layer keeps a little more). Right: how far the dropped share is from what gamma implies, in "
               "standard deviations; grey: a correct layer over 10 seeds.")

    def case(self, params):
        return f"{params.get('p')}, k={params.get('k')}, {params.get('shape')}"


register("ps3_normalization", BatchNormStatistics(), DropoutRates(), DropBlockRates())
