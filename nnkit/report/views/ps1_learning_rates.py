"""ps1_learning_rates: the student's learning-rate sweep against the calibration."""
from __future__ import annotations

import math

from matplotlib.lines import Line2D

from nnkit.report.plots import BandRow, band_rows, figure, thin, to_svg
from nnkit.report.views import register
from nnkit.report.views.base import PALETTE, View, fmt, losses, number, stat_sentence

# Diverging runs reach 1e30 and more before they overflow: the log axis stops here, and says so.
CLIP = 1e12


class LearningRateSweep(View):
    key, title, prefix = "lr-sweep", "Your learning-rate sweep", "lr_sweep"
    cells = ("hidden_lr_regimes",)
    caption = (f"Left: the training loss of your train() for each learning rate and seed (log scale; x marks where "
               f"it became nan or inf; values above {CLIP:.0e} are drawn at {CLIP:.0e}). Right: your numbers (dots) "
               "against the range a correct solution gives over 10 seeds (grey; the line is its median).")
    EXPECT = {"100": "a rate this large should blow up (overflow to nan)", "10": "this should blow up too",
              "1": "a rate this large should diverge", "0.2": "this should stay finite and learn",
              "0.001": "a small rate should lower the loss slowly, never raising it"}
    STATS = [("100", "lr=100 overflows to nan", "lr=100: steps with a non-finite loss", "nonfinite"),
             ("10", "lr=10 overflows to nan", "lr=10: steps with a non-finite loss", "nonfinite"),
             ("1", "lr=1 diverges", "lr=1: final / first loss", "ratio"),
             ("0.2", "lr=0.2 final loss", "lr=0.2: final loss", "final"),
             ("0.001", "lr=0.001 lowers the loss", "lr=0.001: final / first loss", "ratio")]

    def claims(self):
        return [claim for _, claim, _, _ in self.STATS]

    @staticmethod
    def statistic(run: list[float | None], kind: str) -> float | None:
        if not run:
            return None
        if kind == "nonfinite":
            return float(sum(v is None for v in run))
        if kind == "final":
            return run[-1]
        first, last = run[0], run[-1]
        return last / first if first and last is not None else None

    def telling_run(self, lr: str, seeds: list, bands) -> tuple:
        """The run to describe in words: the seed furthest outside the reference range (on a log
        scale; a non-finite statistic is furthest), else the first."""
        def outside(run) -> float:
            worst = 0.0
            for _, claim, _, kind in (s for s in self.STATS if s[0] == lr):
                band, value = bands.get(claim), self.statistic(run, kind)
                if band is None or band.holds(value):
                    continue
                if value is None or value <= 0 or band.minimum <= 0:
                    return math.inf
                worst = max(worst, abs(math.log(value / (band.minimum if value < band.minimum else band.maximum))))
            return worst
        return max(seeds, key=lambda run: outside(run[1])) if seeds else seeds[0]

    def draw(self, data, bands, salt, check_failed):
        runs: dict[str, list] = {}
        for params, value in data:
            runs.setdefault(params.get("lr", "?"), []).append((params.get("seed", "?"), losses(value)))
        fig = figure(7.2, 3.2)
        left, right = fig.subfigures(1, 2, width_ratios=[1.25, 1])
        ax = left.subplots()
        clipped = blew_up = False
        for colour, (lr, seeds) in zip(PALETTE * 3, sorted(runs.items(), key=lambda kv: -number(kv[0]))):
            for i, (seed, run) in enumerate(seeds):
                shown = []
                for v in run:
                    if v is None or v <= 0:
                        break
                    clipped |= v > CLIP
                    shown.append(min(v, CLIP))
                idx, vals = thin(shown)
                ax.plot(idx, vals, color=colour, alpha=0.85, label=f"lr={lr}" if i == 0 else None)
                if len(shown) < len(run):
                    blew_up = True
                    ax.plot([len(shown)], [shown[-1] if shown else 1.0], "x", color=colour, ms=5)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (MSE)")
        if clipped:
            ax.axhline(CLIP, color="#90a4ae", lw=0.6, ls=":")
            ax.annotate(f"values above {CLIP:.0e} clipped", (0.99, CLIP), xycoords=("axes fraction", "data"),
                        ha="right", va="bottom", fontsize=6.5, color="#55626b")
        handles, _ = ax.get_legend_handles_labels()
        if blew_up:
            handles.append(Line2D([], [], ls="", marker="x", color="#55626b", ms=5, label="became nan or inf"))
        ax.legend(handles=handles, loc="upper right", ncols=2, frameon=False, bbox_to_anchor=(1, 0.9))
        rows = [BandRow(label, bands.get(claim), [self.statistic(r, kind) for _, r in runs[lr]], kind == "nonfinite")
                for lr, claim, label, kind in self.STATS if lr in runs]
        if rows:
            band_rows(right, rows, check_failed=check_failed)
        findings = []
        for lr, seeds in sorted(runs.items(), key=lambda kv: -number(kv[0])):
            seed, run = self.telling_run(lr, seeds, bands)
            if not run:
                continue
            bad = next((i for i, v in enumerate(run) if v is None), None)
            if bad is None:
                text = f"With lr={lr} (seed {seed}) your training loss went from {fmt(run[0])} to {fmt(run[-1])} in {len(run)} steps"
            else:
                text = f"With lr={lr} (seed {seed}) your training loss started at {fmt(run[0])} and became nan or inf at step {bad}"
            findings.append(f"{text}; {self.EXPECT.get(lr, 'see the notebook')}.")
        findings += [stat_sentence(r.label, r.values, r.band) for r in rows]
        return to_svg(fig, salt), findings


register("ps1_learning_rates", LearningRateSweep())
