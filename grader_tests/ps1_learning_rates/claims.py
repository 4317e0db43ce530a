"""Behavioural claims of ps1, measured with the reference implementation by `nnkit calibrate`."""
import math

from nnkit.calibration import Claim
from ps1_reference import problem, reference_train


def _run(lr):
    def run(seed, device):
        model, x, y = problem(seed, device)
        return reference_train(model, x, y, lr)
    return run


def _ratio(lr):
    run = _run(lr)

    def ratio(seed, device):
        losses = run(seed, device)
        final = losses[-1] if math.isfinite(losses[-1]) else math.inf
        return final / losses[0]
    return ratio


def _non_finite_steps(lr):
    run = _run(lr)
    return lambda seed, device: float(sum(not math.isfinite(v) for v in run(seed, device)))


def _finite_max_ratio(lr):
    run = _run(lr)

    def rise(seed, device):
        losses = run(seed, device)
        return max(losses) / losses[0] if all(math.isfinite(v) for v in losses) else math.inf
    return rise


def _first():
    run = _run(1e-5)
    return lambda seed, device: run(seed, device)[0]


def _final(lr):
    run = _run(lr)
    return lambda seed, device: run(seed, device)[-1]


CLAIMS = [
    Claim("lr=100 overflows to nan", "steps with a non-finite loss (of 200)", ">=", 1, _non_finite_steps(100)),
    Claim("lr=10 overflows to nan", "steps with a non-finite loss (of 200)", ">=", 1, _non_finite_steps(10)),
    Claim("lr=1 diverges", "final / first loss", ">=", 2.0, _ratio(1)),
    Claim("untrained model: first loss", "first loss", "<=", 2.0, _first()),
    Claim("lr=0.2 stays finite", "steps with a non-finite loss (of 200)", "<=", 0, _non_finite_steps(0.2)),
    Claim("lr=0.2 final loss", "final loss", "<=", 3.0, _final(0.2)),
    Claim("lr=0.2 is never 'diverged'", "final / first loss", "<=", 2.0, _ratio(0.2)),
    Claim("lr=0.1 is 'learning'", "final / first loss", "<=", 0.95, _ratio(0.1)),
    Claim("lr=0.001 learns without diverging", "largest loss / first loss", "<=", 1.0, _finite_max_ratio(0.001)),
    Claim("lr=0.001 lowers the loss", "final / first loss", "<", 1.0, _ratio(0.001)),
    Claim("lr=0.001 final loss", "final loss", "<=", 2.0, _final(0.001)),
    Claim("lr=1e-5 is 'stuck' (not 'learning')", "final / first loss", ">=", 0.95, _ratio(1e-5)),
    Claim("lr=1e-5 is 'stuck' (not 'rising')", "final / first loss", "<=", 1.0, _ratio(1e-5)),
]
