"""ps4_learning_curves: the student's Playground learning curves against the calibration."""
from __future__ import annotations

from matplotlib.lines import Line2D

from nnkit.report.plots import BandRow, band_rows, figure, finite, thin, to_svg
from nnkit.report.views import register
from nnkit.report.views.base import PALETTE, View, family, stat_sentence


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

    def statistics(self):
        """(run, calibration claim, label, statistic of the run's measurement)."""
        return [("circle_linear", "[graded] linear model cannot fit the circle", "circle, no hidden layer: test accuracy",
                 lambda v: v.get("test_accuracy")),
                ("circle_relu", "[graded] 4-2 ReLU net, lr 0.03, solves the circle", "circle, 4-2 ReLU: test accuracy",
                 lambda v: v.get("test_accuracy")),
                ("spiral_overfit", "[graded] noisy spiral, 10% train: train/test gap", "spiral: final test - train loss",
                 gap),
                ("spiral_overfit", "[graded] noisy spiral, 10% train: test loss rises", "spiral: test-loss rise (last / best)",
                 lambda v: self.rise([finite(x) for x in v.get("test_loss") or []]))]

    def claims(self):
        return [claim for _, claim, _, _ in self.statistics()]

    def data(self, measurements):
        # names are playground/<run>/seed=S: give the run a key of its own
        renamed = {}
        for name, value in measurements.items():
            parts = name.split("/")
            if parts[0] == self.prefix and len(parts) >= 2:
                renamed["/".join([self.prefix, f"run={parts[1]}", *parts[2:]])] = value
        return family(renamed, self.prefix)

    def draw(self, data, bands, salt, check_failed):
        runs: dict[str, list] = {}
        for params, value in data:
            if isinstance(value, dict):
                runs.setdefault(params.get("run", ""), []).append((params.get("seed", "?"), value))
        fig = figure(7.2, 4.6)
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
        handles, _ = axes[0].get_legend_handles_labels()
        top.legend(handles=handles + [Line2D([], [], color="#55626b", label="training"),
                                      Line2D([], [], color="#55626b", ls="--", label="test")],
                   loc="outside right upper", frameon=False)
        rows = [BandRow(label, bands.get(claim), [finite(pick(v)) for _, v in runs[name]])
                for name, claim, label, pick in self.statistics() if name in runs]
        if rows:
            band_rows(bottom, rows, ncols=2, check_failed=check_failed)
        findings = [stat_sentence(r.label, r.values, r.band) for r in rows]
        return to_svg(fig, salt), findings


def gap(value: dict) -> float | None:
    train, test = value.get("train_loss") or [], value.get("test_loss") or []
    if not train or not test:
        return None
    a, b = finite(test[-1]), finite(train[-1])
    return a - b if a is not None and b is not None else None


register("ps4_learning_curves", PlaygroundCurves())
