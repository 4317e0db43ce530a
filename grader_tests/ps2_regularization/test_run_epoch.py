"""Hidden graders for `run_epoch`: averages over samples, evaluation mode, and training steps.

The loaders are real DataLoaders of 33 samples in batches of 10, 10, 10 and 3, so any average
taken over batches instead of samples gives a different number.
"""
import copy

import pytest
import torch

from nnkit.grading.api import close, expect, real_float, seed_everything
from ps2_reference import reference_run_epoch, tensor_loader

_equal = torch.equal
SIZES = "33 samples in batches of 10, 10, 10 and 3"


class CallRecorder(torch.nn.Module):
    """Identity layer that counts its forward calls: all of them, those in training mode, and
    those with gradient tracking on.

    The student's run_epoch runs in the probe, where this layer arrives as its torch.fx graph:
    Python state (a list, `self.training`, `torch.is_grad_enabled()`) would be fixed when the
    graph is traced. So everything is read from tensors at run time and counted in buffers,
    which come back to the checker's model after the call:
    * training mode: a Dropout(p=1) submodule zeroes its input in training mode only (without
      drawing random numbers) and follows model.train() / model.eval();
    * gradient tracking: the input, the output of a Linear layer, requires grad exactly when
      gradients are tracked (not under torch.no_grad() or torch.inference_mode()).
    """

    def __init__(self):
        super().__init__()
        self.zeroes_in_training = torch.nn.Dropout(p=1.0)
        for name in ("calls", "training_calls", "grad_calls"):
            self.register_buffer(name, torch.zeros((), dtype=torch.long))

    def forward(self, x):
        one = x.new_ones((), dtype=torch.long)
        self.calls.add_(one)
        self.training_calls.add_(one - self.zeroes_in_training(one.float()).long())
        self.grad_calls.add_(x.requires_grad)
        return x

    def counts(self):
        """(calls, calls in training mode, calls with gradient tracking) since the last `clear`."""
        return self.calls.item(), self.training_calls.item(), self.grad_calls.item()

    def clear(self):
        for counter in (self.calls, self.training_calls, self.grad_calls):
            counter.zero_()


def _net(seed, dropout=False):
    seed_everything(seed)
    layers = [torch.nn.Linear(6, 8)] + ([torch.nn.Dropout(0.5)] if dropout else []) + [CallRecorder(), torch.nn.ReLU(), torch.nn.Linear(8, 4)]
    return torch.nn.Sequential(*layers)


def _recorder(model):
    return next(m for m in model.modules() if isinstance(m, CallRecorder))


def _data(seed, model):
    """33 inputs with labels chosen so that 3 of each full batch and all 3 of the last batch are right."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(33, 6, generator=generator)
    with torch.no_grad():
        model.eval()
        predictions = model(x).argmax(1)
    right = torch.zeros(33, dtype=torch.bool)
    for start in (0, 10, 20):
        right[start:start + 3] = True
    right[30:] = True
    y = torch.where(right, predictions, (predictions + 1 + torch.randint(0, 3, (33,), generator=generator)) % 4)
    _recorder(model).clear()
    return x, y


def _result(value, what):
    expect(isinstance(value, (tuple, list)) and len(value) == 2, f"{what} should return a tuple (mean_loss, accuracy).")
    return real_float(value[0], f"the mean loss from {what}"), real_float(value[1], f"the accuracy from {what}")


@pytest.mark.grade_cell("hidden_run_epoch_metrics")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eval_metrics_average_over_samples(submission, device, seed):
    model = _net(seed).to(device)
    x, y = _data(seed, model.cpu())
    model.to(device)
    criterion = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    loss, acc = _result(submission.run_epoch(model, tensor_loader(x, y, batch_size=10), criterion, device=device), "run_epoch")
    want_loss, want_acc = reference_run_epoch(copy.deepcopy(model), tensor_loader(x, y, batch_size=10), criterion, device=device)
    expect(abs(acc - want_acc) <= 1e-9,
           f"Evaluation accuracy on {SIZES} (seed {seed}) is wrong: it should be the fraction of all samples "
           "classified correctly (argmax of the logits), not a mean of per-batch accuracies.")
    expect(abs(loss - want_loss) <= 1e-5 * max(1.0, abs(want_loss)),
           f"Evaluation mean loss on {SIZES} (seed {seed}) is wrong: weight each batch's loss (from the given "
           "criterion) by its number of samples and divide by the number of samples.")


@pytest.mark.grade_cell("hidden_run_epoch_eval")
@pytest.mark.parametrize("seed", [0, 1])
def test_eval_mode_without_gradients(submission, device, seed):
    model = _net(seed, dropout=True)
    x, y = _data(seed, model)
    model.to(device).train()  # run_epoch must switch it to eval mode itself
    before = [p.detach().clone() for p in model.parameters()]
    criterion = torch.nn.CrossEntropyLoss()
    _result(submission.run_epoch(model, tensor_loader(x, y, batch_size=10), criterion, device=device), "run_epoch")
    calls, training_calls, grad_calls = _recorder(model).counts()
    expect(calls > 0, "run_epoch without an optimizer never called the model.")
    expect(training_calls == 0,
           "run_epoch without an optimizer ran the model in training mode: call model.eval() (dropout must be off).")
    expect(grad_calls == 0,
           "run_epoch without an optimizer ran the model with gradient tracking on: use torch.no_grad().")
    expect(all(p.grad is None for p in model.parameters()),
           "run_epoch without an optimizer computed gradients (a parameter's .grad is set): evaluation must not call backward.")
    expect(all(_equal(b, p.detach()) for b, p in zip(before, model.parameters())),
           "run_epoch without an optimizer changed the model's parameters.")


@pytest.mark.grade_cell("hidden_run_epoch_train")
@pytest.mark.parametrize("seed,lr,momentum", [(0, 0.5, 0.0), (1, 0.2, 0.9)])
def test_training_matches_sgd_step_by_step(submission, device, seed, lr, momentum):
    model = _net(seed)
    x, y = _data(seed, model)
    model.to(device).eval()  # run_epoch must switch it to training mode itself
    reference = copy.deepcopy(model)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    ref_optimizer = torch.optim.SGD(reference.parameters(), lr=lr, momentum=momentum)
    for epoch in (1, 2):
        got = _result(submission.run_epoch(model, tensor_loader(x, y, batch_size=10), criterion, optimizer, device=device), "run_epoch")
        want = reference_run_epoch(reference, tensor_loader(x, y, batch_size=10), criterion, ref_optimizer, device=device)
        where = f"training epoch {epoch} on {SIZES} (seed {seed}, SGD lr={lr}, momentum={momentum})"
        calls, training_calls, _ = _recorder(model).counts()
        expect(calls > 0 and training_calls == calls,
               f"{where}: the model did not run in training mode: call model.train().")
        _recorder(model).clear()
        expect(all(close(p, q, rtol=1e-4, atol=1e-5) for p, q in zip(model.parameters(), reference.parameters())),
               f"{where}: the parameters after the epoch differ from one SGD step per batch: check "
               "optimizer.zero_grad() before loss.backward(), then optimizer.step(), once per batch.")
        expect(abs(got[1] - want[1]) <= 1e-9,
               f"{where}: wrong accuracy; use each batch's predictions from its forward pass before the step, "
               "counted over samples.")
        expect(abs(got[0] - want[0]) <= 1e-5 * max(1.0, abs(want[0])),
               f"{where}: wrong mean loss; use each batch's loss before the step, weighted by its number of samples.")
