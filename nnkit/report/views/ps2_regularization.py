"""ps2_regularization: the student's weight-decay sweep, accuracy per epoch, against the calibration."""
from __future__ import annotations

from matplotlib.lines import Line2D

from nnkit.report.plots import figure, finite, to_svg
from nnkit.report.views import register
from nnkit.report.views.base import PALETTE, View, number, stat_sentence

REFERENCE = "#90a4ae"


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

    def draw(self, data, bands, salt, check_failed):
        runs: dict[str, list] = {}
        for params, value in data:
            rows = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
            runs.setdefault(params.get("wd", "?"), []).append((params.get("seed", "?"), rows))
        order = sorted(runs, key=number)
        fig = figure(7.2, 2.8)
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
                    ax.plot([x, x], [band.minimum, band.maximum], color=REFERENCE, lw=5, alpha=0.8, solid_capstyle="butt")
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
        fig.legend(handles=[Line2D([], [], color="#55626b", label="training"),
                            Line2D([], [], color="#55626b", ls="--", label="test"),
                            Line2D([], [], color=REFERENCE, lw=5, alpha=0.8, label="range of a correct solution")],
                   loc="outside lower center", ncols=3, frameon=False)
        return to_svg(fig, salt), findings


register("ps2_regularization", WeightDecaySweep())
