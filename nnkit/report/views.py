"""What feedback shows of the student's own measurements, per assignment.

Each `View` reads one family of measurements (named by the graders'
``measure(...)`` calls, e.g. ``lr_sweep/lr=1/seed=3``), plots them against the
reference bands of the calibration, and says in plain words what the
student's code did. A view belongs to the hidden cells whose graders took the
measurements. Views state behaviour the release notebook already describes
("lr = 100, 10 and 1 diverge"); they never show reference code, a mark scheme,
or a calibrated value that answers a question of the notebook.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from nnkit.report.bands import Band
from nnkit.report.plots import INSIDE, OUTSIDE, band_rows, figure, finite, thin, to_svg

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
    return sorted(found, key=lambda pv: [(_num(v), v) for v in pv[0].values()])


def _num(text) -> float:
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


class View:
    key = ""
    title = ""
    prefix = ""
    cells: tuple[str, ...] = ()
    caption = ""

    def claims(self) -> list[str]:
        """The calibration claims this view draws as reference bands."""
        return []

    def applies(self, measurements: dict) -> bool:
        return any(n.split("/")[0] == self.prefix for n in measurements)

    def render(self, measurements: dict, bands: dict[str, Band], salt: str) -> Rendered:
        data = family(measurements, self.prefix)
        svg, findings = self.draw(data, bands, f"{salt}-{self.key}")
        return Rendered(self.key, self.title, self.cells, svg, self.caption, findings)

    def draw(self, data, bands, salt) -> tuple[str, list[str]]:
        raise NotImplementedError


def _losses(value) -> list[float | None]:
    return [finite(v) for v in value] if isinstance(value, list) else []


class LearningRateSweep(View):
    key, title, prefix = "lr-sweep", "Your learning-rate sweep", "lr_sweep"
    cells = ("hidden_lr_regimes",)
    caption = ("Left: the training loss of your train() for each learning rate and seed (log scale; "
               "x marks where it became nan or inf). Right: your numbers (dots) against the range a correct "
               "solution gives over 10 seeds (grey; the line is its median).")
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
    def statistic(losses: list[float | None], kind: str) -> float | None:
        if not losses:
            return None
        if kind == "nonfinite":
            return float(sum(v is None for v in losses))
        if kind == "final":
            return losses[-1]
        first, last = losses[0], losses[-1]
        return last / first if first and last is not None else None

    def telling_run(self, lr: str, seeds: list, bands) -> tuple:
        """The run to describe in words: the seed furthest outside the reference range (on a log
        scale; a non-finite statistic is furthest), else the first."""
        def outside(losses) -> float:
            worst = 0.0
            for _, claim, _, kind in (s for s in self.STATS if s[0] == lr):
                band, value = bands.get(claim), self.statistic(losses, kind)
                if band is None or band.holds(value):
                    continue
                if value is None or value <= 0 or band.minimum <= 0:
                    return math.inf
                worst = max(worst, abs(math.log(value / (band.minimum if value < band.minimum else band.maximum))))
            return worst
        return max(seeds, key=lambda run: outside(run[1])) if seeds else seeds[0]

    def draw(self, data, bands, salt):
        runs: dict[str, list] = {}
        for params, value in data:
            runs.setdefault(params.get("lr", "?"), []).append((params.get("seed", "?"), _losses(value)))
        fig = figure(7.2, 2.9)
        left, right = fig.subfigures(1, 2, width_ratios=[1.25, 1])
        ax = left.subplots()
        for colour, (lr, seeds) in zip(PALETTE * 3, sorted(runs.items(), key=lambda kv: -_num(kv[0]))):
            for i, (seed, losses) in enumerate(seeds):
                shown = []
                for v in losses:
                    if v is None or v <= 0:
                        break
                    shown.append(min(v, 1e12))
                idx, vals = thin(shown)
                ax.plot(idx, vals, color=colour, alpha=0.85, label=f"lr={lr}" if i == 0 else None)
                if len(shown) < len(losses):
                    ax.plot([len(shown)], [shown[-1] if shown else 1.0], "x", color=colour, ms=5)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (MSE)")
        ax.legend(loc="upper right", ncols=2, frameon=False)
        rows = []
        for lr, claim, label, kind in self.STATS:
            if lr in runs:
                rows.append((label, bands.get(claim), [self.statistic(l, kind) for _, l in runs[lr]]))
        if rows:
            band_rows(right, rows)
        findings = []
        for lr, seeds in sorted(runs.items(), key=lambda kv: -_num(kv[0])):
            seed, losses = self.telling_run(lr, seeds, bands)
            if not losses:
                continue
            bad = next((i for i, v in enumerate(losses) if v is None), None)
            if bad is None:
                text = f"With lr={lr} (seed {seed}) your training loss went from {fmt(losses[0])} to {fmt(losses[-1])} in {len(losses)} steps"
            else:
                text = f"With lr={lr} (seed {seed}) your training loss started at {fmt(losses[0])} and became nan or inf at step {bad}"
            findings.append(f"{text}; {self.EXPECT.get(lr, 'see the notebook')}.")
        findings += [stat_sentence(label, values, band) for label, band, values in rows]
        return to_svg(fig, salt), findings


class WeightDecaySweep(View):
    key, title, prefix = "wd-sweep", "Your weight-decay sweep", "wd_sweep"
    cells = ("hidden_wd_regimes",)
    caption = ("Accuracy per epoch with your run_epoch (solid: training, dashed: test; one line per seed), "
               "and grey bars: the range a correct solution gives over 10 seeds at that epoch.")
    # (wd, epoch, phase, claim); an epoch of None: the claim bounds the best epoch, drawn at each
    BANDS = [("10", None, "train", "graders: wd=10 train accuracy at chance, every epoch"),
             ("10", None, "test", "graders: wd=10 test accuracy at chance, every epoch"),
             ("1", 2, "train", "graders: wd=1 epoch-2 train accuracy (running)"),
             ("1", 2, "test", "graders: wd=1 test accuracy at chance by epoch 2"),
             ("0.1", 2, "train", "graders: wd=0.1 learns (train)"),
             ("0.1", 2, "test", "graders: wd=0.1 learns (test)")]

    def claims(self):
        return [claim for *_, claim in self.BANDS]

    def draw(self, data, bands, salt):
        runs: dict[str, list] = {}
        for params, value in data:
            rows = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
            runs.setdefault(params.get("wd", "?"), []).append((params.get("seed", "?"), rows))
        order = sorted(runs, key=_num)
        fig = figure(7.2, 2.5)
        axes = fig.subplots(1, len(order) or 1, sharey=True, squeeze=False)[0]
        findings = []
        for ax, wd, colour in zip(axes, order, PALETTE):
            epochs = 0
            for seed, rows in runs[wd]:
                for phase, style in (("train", "-"), ("test", "--")):
                    ys = [finite(r.get(phase)) for r in rows]
                    ax.plot(range(1, len(ys) + 1), ys, style, marker="o", ms=3, color=colour)
                epochs = max(epochs, len(rows))
            for bwd, epoch, phase, claim in self.BANDS:
                band = bands.get(claim)
                if bwd != wd or band is None:
                    continue
                for e in ([epoch] if epoch else range(1, epochs + 1)):
                    x = e + (-0.08 if phase == "train" else 0.08)
                    ax.plot([x, x], [band.minimum, band.maximum], color="#90a4ae", lw=5, alpha=0.8, solid_capstyle="butt")
                seeds_values = []
                for seed, rows in runs[wd]:
                    values = [finite(r.get(phase)) for r in rows]
                    pick = values[epoch - 1] if epoch and len(values) >= epoch else (
                        max((v for v in values if v is not None), default=None) if not epoch else None)
                    seeds_values.append(pick)
                what = f"epoch-{epoch} {phase} accuracy" if epoch else f"best {phase} accuracy over the epochs"
                findings.append(stat_sentence(f"Weight decay {wd}: {what}", seeds_values, band))
            ax.set_title(f"weight decay {wd}")
            ax.set_xlabel("epoch")
            ax.set_xticks(range(1, max(epochs, 1) + 1))
            ax.set_ylim(0, 1)
        axes[0].set_ylabel("accuracy")
        return to_svg(fig, salt), findings


class BatchNormStatistics(View):
    key, title, prefix = "batchnorm", "Your BatchNorm1d's output statistics", "batchnorm"
    cells = ("hidden_bn_train",)
    caption = ("Per channel, in training mode, with gamma and beta taken out: the standard deviation (left) "
               "and the size of the mean (right) of your layer's output, against each channel's input scale. "
               "Grey: what nn.BatchNorm1d gives on the same batch.")

    def draw(self, data, bands, salt):
        fig = figure(7.2, 2.6)
        left, right = fig.subplots(1, 2)
        findings = []
        for colour, (params, value) in zip(PALETTE * 4, data):
            if not isinstance(value, dict):
                continue
            eps = _num(params.get("eps"))
            scale = [finite(v) for v in value.get("input_std") or []]
            std = [finite(v) for v in value.get("std") or []]
            mean = [finite(v) for v in value.get("mean") or []]
            pts = [(s, d, m) for s, d, m in zip(scale, std, mean) if s and s > 0]
            if not pts or not math.isfinite(eps):
                continue
            expected = [math.sqrt(s * s / (s * s + eps)) for s, _, _ in pts]
            left.plot([s for s, _, _ in pts], [d if d is not None else float("nan") for _, d, _ in pts], "o", ms=3.5,
                      color=colour, label=f"eps={params.get('eps')}, seed {params.get('seed')}")
            left.plot([s for s, _, _ in pts], expected, "s", ms=7, mfc="none", color="#90a4ae")
            right.plot([s for s, _, _ in pts], [max(abs(m), 1e-18) if m is not None else float("nan") for _, _, m in pts],
                       "o", ms=3.5, color=colour)
            worst_std = max((abs(d - e) if d is not None else math.inf) for (_, d, _), e in zip(pts, expected))
            worst_mean = max((abs(m) if m is not None else math.inf) for _, _, m in pts)
            verdict = "as nn.BatchNorm1d gives" if worst_std < 1e-4 and worst_mean < 1e-4 else "not what nn.BatchNorm1d gives"
            findings.append(f"eps={params.get('eps')}, seed {params.get('seed')}: over {len(pts)} channels your output's "
                            f"standard deviation is {fmt(min(d for _, d, _ in pts if d is not None) if any(d is not None for _, d, _ in pts) else None)} "
                            f"to {fmt(max((d for _, d, _ in pts if d is not None), default=None))} and its mean is at most "
                            f"{fmt(worst_mean, 2)} in size; off by up to {fmt(worst_std, 2)} in standard deviation ({verdict}).")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlabel("input scale of the channel (std)")
        right.set_yscale("log")
        left.set_ylabel("std / gamma")
        right.set_ylabel("|mean - beta| / |gamma|")
        right.axhspan(1e-18, 1e-8, color="#cfd8dc", lw=0)
        left.legend(frameon=False, fontsize=6)
        return to_svg(fig, salt), findings


class KeepRates(View):
    """Dropout or DropBlock: the share of units kept, and how far it is from what p implies."""
    claim = ""
    noun = ""

    def case(self, params) -> str:
        raise NotImplementedError

    def claims(self):
        return [self.claim]

    def draw(self, data, bands, salt):
        cases: dict[str, list] = {}
        for params, value in data:
            if isinstance(value, dict):
                cases.setdefault(self.case(params), []).append(
                    (params, finite(value.get("keep_rate")), finite(value.get("z"))))
        band = bands.get(self.claim)
        fig = figure(7.2, 2.4)
        left, right = fig.subplots(1, 2)
        names = list(cases)
        for i, name in enumerate(names):
            for j, (params, keep, z) in enumerate(cases[name]):
                nominal = 1 - _num(params.get("p"))
                left.plot([nominal], [keep if keep is not None else float("nan")], "o", ms=3.5, color=PALETTE[i % 6])
                inside = z is not None and abs(z) <= (band.maximum if band else 6)
                right.plot([i + 0.1 * (j - 1)], [z if z is not None else float("nan")], "o", ms=3.5,
                           color=INSIDE if inside else OUTSIDE)
        left.plot([0, 1], [0, 1], color="#90a4ae", lw=0.8)
        left.set_xlabel("1 - p (nominal keep rate)")
        left.set_ylabel("share kept")
        if band:
            right.axhspan(-band.maximum, band.maximum, color="#cfd8dc", lw=0)
        right.axhline(6, ls="--", color=OUTSIDE, lw=0.8)
        right.axhline(-6, ls="--", color=OUTSIDE, lw=0.8)
        right.set_xticks(range(len(names)), names, rotation=30, ha="right")
        right.set_ylabel("std devs from expected")
        findings = []
        for name, rows in cases.items():
            params, keep, z = rows[0]
            findings.append(f"{self.noun}({name}), seed {params.get('seed')}: your layer kept {fmt(keep) if keep is None else f'{keep:.1%}'} of the units, "
                            f"{fmt(z, 2)} standard deviations from what the rate implies.")
        if band:
            findings.append(f"A correct {self.noun} stays within {fmt(band.maximum, 2)} standard deviations over "
                            f"{band.seeds} seeds (grey band); the graders allow 6 (dashed).")
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


class PlaygroundCurves(View):
    key, title, prefix = "playground", "Your Playground learning curves", "playground"
    cells = ("hidden_circle_runs", "hidden_spiral_overfit")
    caption = ("Training (solid) and test (dashed) loss of your make_mlp trained by your fit, one line per seed "
               "(every 10th step). Below: your numbers against the range a correct solution gives over 10 seeds.")
    RUNS = [("circle_linear", "circle, no hidden layer"), ("circle_relu", "circle, 4-2 ReLU"),
            ("spiral_overfit", "noisy spiral, 10% training data")]

    @staticmethod
    def rise(test_loss: list[float | None]) -> float | None:
        """Mean of the last 100 steps' test loss over the lowest before them (from every 10th step)."""
        values = [v for v in test_loss if v is not None]
        if len(values) < 20 or len(values) != len(test_loss):
            return None
        earlier = min(values[:-10])
        return sum(values[-10:]) / 10 / earlier if earlier > 0 else None

    def draw(self, data, bands, salt):
        runs: dict[str, list] = {}
        for name, value in self._by_run(data):
            runs.setdefault(name, []).append(value)
        fig = figure(7.2, 4.2)
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.3, 1])
        axes = top.subplots(1, 3)
        for ax, (name, label) in zip(axes, self.RUNS):
            for colour, (seed, value) in zip(PALETTE, runs.get(name, [])):
                for key, style in (("train_loss", "-"), ("test_loss", "--")):
                    ys = [finite(v) for v in value.get(key) or []]
                    idx, vals = thin(ys)
                    ax.plot([10 * i for i in idx], vals, style, color=colour, label=f"seed {seed}" if key == "train_loss" else None)
            ax.set_title(label)
            ax.set_xlabel("step")
        axes[0].set_ylabel("loss (BCE)")
        axes[0].legend(frameon=False)
        rows = []
        for name, claim, label, pick in self.statistics():
            if name in runs:
                rows.append((label, bands.get(claim), [finite(pick(v)) for _, v in runs[name]]))
        if rows:
            band_rows(bottom, rows, ncols=2)
        findings = [stat_sentence(label, values, band) for label, band, values in rows]
        return to_svg(fig, salt), findings

    def statistics(self):
        """(run, calibration claim, label, statistic of the run's measurement)."""
        return [("circle_linear", "[graded] linear model cannot fit the circle", "circle, no hidden layer: test accuracy",
                 lambda v: v.get("test_accuracy")),
                ("circle_relu", "[graded] 4-2 ReLU net, lr 0.03, solves the circle", "circle, 4-2 ReLU: test accuracy",
                 lambda v: v.get("test_accuracy")),
                ("spiral_overfit", "[graded] noisy spiral, 10% train: train/test gap", "spiral: final test - train loss",
                 _gap),
                ("spiral_overfit", "[graded] noisy spiral, 10% train: test loss rises", "spiral: test-loss rise (last / best)",
                 lambda v: self.rise([finite(x) for x in v.get("test_loss") or []]))]

    def claims(self):
        return [claim for _, claim, _, _ in self.statistics()]

    @staticmethod
    def _by_run(data):
        for params, value in data:
            if isinstance(value, dict):
                yield params.get("run", ""), (params.get("seed", "?"), value)

    def render(self, measurements, bands, salt):
        # names are playground/<run>/seed=S: give the run a key of its own
        renamed = {}
        for name, value in measurements.items():
            parts = name.split("/")
            if parts[0] == self.prefix and len(parts) >= 2:
                renamed["/".join([self.prefix, f"run={parts[1]}", *parts[2:]])] = value
        data = family(renamed, self.prefix)
        svg, findings = self.draw(data, bands, f"{salt}-{self.key}")
        return Rendered(self.key, self.title, self.cells, svg, self.caption, findings)


def _gap(value: dict) -> float | None:
    train, test = value.get("train_loss") or [], value.get("test_loss") or []
    if not train or not test:
        return None
    a, b = finite(test[-1]), finite(train[-1])
    return a - b if a is not None and b is not None else None


VIEWS: dict[str, list[View]] = {
    "ps1_learning_rates": [LearningRateSweep()],
    "ps2_regularization": [WeightDecaySweep()],
    "ps3_normalization": [BatchNormStatistics(), DropoutRates(), DropBlockRates()],
    "ps4_learning_curves": [PlaygroundCurves()],
}


def render_views(assignment: str, measurements: dict, bands: dict[str, Band], salt: str) -> list[Rendered]:
    """Every view of `assignment` that has measurements; a view that cannot draw the (student-made)
    numbers says so instead of failing the whole report."""
    rendered = []
    for view in VIEWS.get(assignment, []):
        if not view.applies(measurements):
            continue
        try:
            rendered.append(view.render(measurements, bands, re.sub(r"\W", "", salt)))
        except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError) as error:
            rendered.append(Rendered(view.key, view.title, view.cells, "",
                                     f"Your measurements could not be plotted ({type(error).__name__}).", []))
    return rendered
