"""Hidden graders for `make_mlp`, `fit` (plain, scheduled and Adam -> SGD), `step_decay_lr`,
`is_overfitting`, and the calibrated behaviour of the student's model and trainer.

`fit` is checked step by step against the reference trainer from the same initial weights and
the same generator, so any difference in sampling, loss, evaluation or optimiser shows up.
The behavioural thresholds come from `claims.py` (see calibration/): they hold with the
reference on 10 seeds, and the graders use seeds 0-2 of those.
"""
import copy

import pytest
import torch

from claims import CIRCLE_LINEAR, CIRCLE_RELU, SPIRAL_OVERFIT, rise_ratio
from nnkit.grading.api import close, expect, is_module, real_float, real_tensor, seed_everything, type_name, watched
from ps4_reference import (accuracy, as_schedule, call_many, circle_data, fit, linear_layers, make_mlp,
                           reference_history, run, scheduler_created, seed_both, spiral_data, step_decay_lr,
                           train_test_split)

_tanh, _relu, _sigmoid, _linear = torch.tanh, torch.relu, torch.sigmoid, torch.nn.functional.linear
_MultiStepLR, _SGD = torch.optim.lr_scheduler.MultiStepLR, torch.optim.SGD
ACT = {"tanh": _tanh, "relu": _relu, "sigmoid": _sigmoid}
BEHAVIOUR_SEEDS = range(3)


# ---------------------------------------------------------------- make_mlp
@pytest.mark.grade_cell("hidden_mlp")
@pytest.mark.parametrize("hidden,activation", [((4, 2), "tanh"), ((6, 6, 6, 6), "relu"), ((3,), "sigmoid"),
                                               ((), "tanh"), ((2,) * 6, "relu")])
def test_mlp_structure_and_forward(submission, probe, hidden, activation):
    seed_everything(3)
    probe.seed(3)
    model = submission.make_mlp(hidden, activation)
    expect(is_module(model), "make_mlp should return a torch.nn.Module.")
    layers = [(m.weight, m.bias) for m in linear_layers(model, probe)]
    shapes = [tuple(weight.shape) for weight, _ in layers]
    widths = (2, *hidden, 1)
    wanted = [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]
    expect(shapes == wanted, f"make_mlp({hidden}, '{activation}'): expected Linear weights of shapes {wanted} "
           f"in order, found {shapes}.")
    x = torch.randn(33, 2) * 3
    out = real_tensor(model(x), "make_mlp(...)(x)")
    expect(tuple(out.shape) == (33, 1), f"make_mlp(...)(x) for x of shape (33, 2) should have shape (33, 1), got {tuple(out.shape)}.")
    h = x
    for i, (weight, bias) in enumerate(layers):
        h = _linear(h, weight, bias)
        if i < len(layers) - 1:
            h = ACT[activation](h)
    expect(close(out, h.detach(), rtol=1e-5, atol=1e-6),
           f"make_mlp({hidden}, '{activation}') does not compute Linear, {activation}, ..., Linear: one "
           f"{activation} after every hidden layer and nothing after the output layer (it returns a logit).")


@pytest.mark.grade_cell("hidden_mlp")
def test_mlp_uses_default_initialisation_in_order(submission, probe):
    probe.seed(11)
    mine = submission.make_mlp((4, 2), "tanh")
    seed_everything(11)
    ref = make_mlp((4, 2), "tanh")
    got = [p.detach() for layer in linear_layers(mine, probe) for p in (layer.weight, layer.bias)]
    want = [p.detach() for layer in ref.modules() if type(layer) is torch.nn.Linear for p in (layer.weight, layer.bias)]
    expect(len(got) == len(want) and all(close(a, b, rtol=0, atol=0) for a, b in zip(got, want)),
           "make_mlp should create its torch.nn.Linear layers from input to output with PyTorch's default "
           "initialisation (so a seeded run is reproducible).")


# ---------------------------------------------------------------- fit
def _problem(seed, n=120, dropout=False):
    g = torch.Generator().manual_seed(seed)
    x, y = circle_data(n, 0.1, generator=g)
    data = train_test_split(x, y, 0.5, generator=g)
    seed_everything(seed)
    if dropout:
        model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    else:
        model = make_mlp((4, 2), "tanh")
    return model, data


def _history(value, steps, what):
    expect(isinstance(value, dict), f"{what} should return a dict, got {type_name(value)}.")
    out = {}
    for key in ("train_loss", "test_loss"):
        expect(key in value, f"the history returned by {what} has no '{key}' entry.")
        seq = value[key]
        expect(isinstance(seq, (list, tuple)), f"history['{key}'] should be a list of floats.")
        out[key] = [real_float(v, f"each entry of history['{key}']") for v in seq]
        expect(len(out[key]) == steps + 1, f"{what} with steps={steps} should record {steps + 1} values in "
               f"history['{key}'] (before training, then after each update), got {len(out[key])}.")
    return out


def _compare(submission, probe, seed, steps, what, *, lr, dropout=False, **kw):
    """The student's fit against the reference from the same weights, generator and global seed
    (the probe's, where the student's dropout draws). `lr` may be a function of the step."""
    model, data = _problem(seed, dropout=dropout)
    mine = copy.deepcopy(model)
    lr = as_schedule(lr, steps) if callable(lr) else lr
    seed_everything(100 + seed)
    expected = fit(model, data, lr=lr, steps=steps, generator=torch.Generator().manual_seed(seed), **kw)
    probe.seed(100 + seed)
    got = _history(submission.fit(mine, data, lr=lr, steps=steps, generator=torch.Generator().manual_seed(seed), **kw),
                   steps, "fit")
    for key in ("train_loss", "test_loss"):
        e0, g0 = expected[key][0], got[key][0]
        expect(abs(g0 - e0) <= 1e-5 * max(1.0, abs(e0)),
               f"{what}: history['{key}'][0] should be the mean BCE-with-logits loss of the untrained model on the "
               f"whole {key[:-5]}ing set.")
        for step, (g, e) in enumerate(zip(got[key], expected[key])):
            expect(abs(g - e) <= 1e-4 * max(1.0, abs(e)),
                   f"{what}: history['{key}'] departs from the specified trainer after {step} updates (seed {seed}). "
                   "Check the minibatch draw, the loss, zero_grad, and that the losses are measured on the whole set.")
    return model, mine


@pytest.mark.grade_cell("hidden_fit")
@pytest.mark.parametrize("optimizer,lr,batch", [("sgd", 0.1, 10), ("sgd", 0.5, 7), ("adam", 0.01, 10)])
def test_fit_matches_specified_trainer(submission, probe, optimizer, lr, batch):
    for seed in (0, 1):
        model, mine = _compare(submission, probe, seed, 40, f"fit(optimizer='{optimizer}', lr={lr}, batch_size={batch})",
                               lr=lr, optimizer=optimizer, batch_size=batch)
        expect(all(close(a.detach(), b.detach(), rtol=1e-4, atol=1e-5) for a, b in zip(model.parameters(), mine.parameters())),
               f"fit(optimizer='{optimizer}') should train the model it is given, in place.")


@pytest.mark.grade_cell("hidden_fit")
def test_fit_evaluates_in_eval_mode_and_trains_in_train_mode(submission, probe):
    _compare(submission, probe, 2, 30, "fit on a model with dropout", dropout=True, lr=0.1)


@pytest.mark.grade_cell("hidden_fit_schedules")
def test_fit_with_a_learning_rate_function(submission, probe):
    def schedule(k):
        return step_decay_lr(0.5, k, (10, 25), 0.1)
    _compare(submission, probe, 3, 40, "fit with lr given as a function of the step", lr=schedule)
    _compare(submission, probe, 4, 30, "fit(optimizer='adam') with lr given as a function", optimizer="adam",
             lr=lambda k: 0.01 / (1 + k))


@pytest.mark.grade_cell("hidden_fit_schedules")
@pytest.mark.parametrize("switch_at", [1, 15])
def test_fit_switches_from_adam_to_sgd(submission, probe, switch_at):
    _compare(submission, probe, 5, 30, f"fit(optimizer='adam', switch_at={switch_at}, switch_lr=0.3)", optimizer="adam",
             lr=0.01, switch_at=switch_at, switch_lr=0.3)


# ---------------------------------------------------------------- step_decay_lr
@pytest.mark.grade_cell("hidden_step_decay")
@pytest.mark.parametrize("base_lr,milestones,gamma", [(0.1, [30, 60, 90], 0.1), (1.0, [1, 2, 3], 0.5),
                                                      (0.3, [50], 0.1), (0.05, [], 0.1), (2.0, [0, 40], 0.25)])
def test_step_decay_matches_multisteplr(submission, probe, base_lr, milestones, gamma):
    opt = _SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = _MultiStepLR(opt, milestones=milestones, gamma=gamma)
    steps = range(120)
    rates = call_many(probe, submission.step_decay_lr, [base_lr] * len(steps), steps,
                      [list(milestones) for _ in steps], [gamma] * len(steps))
    for step, rate in zip(steps, rates):
        want = opt.param_groups[0]["lr"]
        got = real_float(rate, "step_decay_lr(...)")
        expect(abs(got - want) <= 1e-9 * base_lr,
               f"step_decay_lr({base_lr}, step={step}, milestones={milestones}, gamma={gamma}) differs from "
               "torch.optim.lr_scheduler.MultiStepLR after the same number of scheduler steps.")
        opt.step()
        sched.step()


@pytest.mark.grade_cell("hidden_step_decay")
def test_step_decay_computed_by_hand(submission):
    """The notebook's "implement it yourself" rule: the formula, not a torch.optim.lr_scheduler."""
    created = any(scheduler_created(watched(submission.step_decay_lr, 0.1, k, [3, 6], library=True)) for k in range(8))
    expect(not created, "step_decay_lr creates one of PyTorch's own torch.optim.lr_scheduler schedulers: compute "
                        "the rate from the formula yourself, as the notebook asks.")


@pytest.mark.grade_cell("hidden_step_decay")
def test_step_decay_default_gamma(submission):
    got = real_float(submission.step_decay_lr(1.0, 100, [10, 50]), "step_decay_lr(...)")
    expect(abs(got - 0.01) <= 1e-12, "step_decay_lr's default gamma should be 0.1.")


# ---------------------------------------------------------------- is_overfitting
def _flag(submission, losses, what, **kw):
    value = submission.is_overfitting(list(losses), **kw)
    expect(type(value) is bool, f"is_overfitting should return a bool (True/False), got {type_name(value)} for {what}.")
    return value


def _noisy(base, amplitude, seed):
    g = torch.Generator().manual_seed(seed)
    return [b + amplitude * (2 * torch.rand(1, generator=g).item() - 1) for b in base]


CASES = {
    "a flat curve": ([0.5] * 60, False),
    "a noisy flat curve (+-2%)": (_noisy([1.0] * 80, 0.02, 0), False),
    "a steadily decreasing curve": ([1.0 / (1 + 0.1 * k) for k in range(60)], False),
    "a fast-decreasing curve": ([2.0 * 0.9 ** k for k in range(60)], False),
    "a curve that falls, then rises 30%": ([1.0 - 0.01 * k for k in range(40)] + [0.6 + 0.01 * k for k in range(20)], True),
    "a noisy curve that falls, then rises": (_noisy([1.0 - 0.01 * k for k in range(40)] + [0.6 + 0.015 * k for k in range(25)], 0.02, 1), True),
    "a curve that rises but stays below its first value": ([2.0] + [0.5] * 30 + [0.9] * 15, True),
    "a curve whose last value spikes but whose window does not rise": ([1.0] * 50 + [1.0] * 9 + [1.3], False),
    "a curve no longer than the window": ([0.1, 0.5, 0.9, 1.3, 1.7], False),
}


@pytest.mark.grade_cell("hidden_is_overfitting")
@pytest.mark.parametrize("case", list(CASES))
def test_is_overfitting_crafted(submission, case):
    losses, want = CASES[case]
    got = _flag(submission, losses, case)
    expect(got is want, f"is_overfitting (window=10, tolerance=0.05) on {case} should be {want}.")


@pytest.mark.grade_cell("hidden_is_overfitting")
def test_is_overfitting_parameters(submission):
    losses = [1.0] * 20 + [1.25] * 4
    expect(_flag(submission, losses, "a step up", window=4, tolerance=0.2) is True,
           "is_overfitting(window=4, tolerance=0.2): a window 25% above the earlier minimum is overfitting.")
    expect(_flag(submission, losses, "a step up", window=4, tolerance=0.25) is False,
           "is_overfitting(window=4, tolerance=0.25): a window exactly 25% above the earlier minimum is not *more* "
           "than the tolerance.")
    expect(_flag(submission, losses, "a step up", window=24, tolerance=0.01) is False,
           "is_overfitting: with no values before the window there is nothing to compare with.")
    expect(_flag(submission, [1.0] * 20 + [1.0] * 3 + [1.25], "a late step", window=2, tolerance=0.1) is True,
           "is_overfitting(window=2): the mean of the last two values is compared with the minimum before them.")


@pytest.mark.grade_cell("hidden_is_overfitting")
def test_is_overfitting_on_real_runs(submission):
    for seed in BEHAVIOUR_SEEDS:
        spiral = reference_history("spiral", seed, **SPIRAL_OVERFIT)
        circle = reference_history("circle", seed, **CIRCLE_RELU)
        expect(_flag(submission, spiral["test_loss"], "a run", window=100) is True,
               f"is_overfitting(window=100) missed the rising test loss of the noisy spiral run (seed {seed}).")
        expect(_flag(submission, circle["test_loss"], "a run", window=100) is False,
               f"is_overfitting(window=100) flagged the circle run, whose test loss does not rise (seed {seed}).")


# ---------------------------------------------------------------- behaviour with the student's model + trainer
def _student_run(submission, probe, dataset, seed, protocol):
    model, data, history = run(dataset, seed, fit_fn=submission.fit, mlp_fn=submission.make_mlp,
                               seed_fn=seed_both(probe), **protocol)
    return model, data, _history(history, protocol["steps"], "fit")


@pytest.mark.grade_cell("hidden_circle_runs")
def test_circle_linear_versus_hidden_layers(submission, probe, measure):
    for seed in BEHAVIOUR_SEEDS:
        model, data, history = _student_run(submission, probe, "circle", seed, CIRCLE_LINEAR)
        acc = accuracy(model, data[2], data[3])
        measure(f"playground/circle_linear/seed={seed}", {"test_accuracy": acc, **{k: v[::10] for k, v in history.items()}})
        expect(acc <= 0.75, f"make_mlp(hidden=()) reached {acc:.0%} test accuracy on the circle (seed {seed}); "
               "a model with no hidden layer is linear and cannot.")
        model, data, history = _student_run(submission, probe, "circle", seed, CIRCLE_RELU)
        acc = accuracy(model, data[2], data[3])
        measure(f"playground/circle_relu/seed={seed}", {"test_accuracy": acc, **{k: v[::10] for k, v in history.items()}})
        expect(acc >= 0.9, f"your 4-2 ReLU net trained by your fit (lr 0.03, 2000 steps) reached only {acc:.0%} "
               f"test accuracy on the circle (seed {seed}).")


@pytest.mark.grade_cell("hidden_spiral_overfit")
def test_noisy_spiral_overfits(submission, probe, measure):
    for seed in BEHAVIOUR_SEEDS:
        _, _, history = _student_run(submission, probe, "spiral", seed, SPIRAL_OVERFIT)
        measure(f"playground/spiral_overfit/seed={seed}", {k: v[::10] for k, v in history.items()})
        gap = history["test_loss"][-1] - history["train_loss"][-1]
        # Thresholds as in claims.py: over 10 seeds the smallest gap is 0.48 and the smallest rise 1.10.
        expect(gap >= 0.3, f"noisy spiral, 10% training data (seed {seed}): the final test loss is only {gap:.2f} "
               "above the final training loss.")
        expect(rise_ratio(history["test_loss"]) >= 1.05,
               f"noisy spiral, 10% training data (seed {seed}): the test loss does not rise more than 5% above "
               "its minimum.")
