"""The plain-nbgrader tricks with a wrong train (its math.isfinite patch also breaks its own diagnose): redefine the helpers tests call, monkeypatch math.isclose/torch.allclose/isfinite, an IPython input transformer that turns every later cell into `pass`, and a printed "Hidden tests passed"."""
# plain: each gave full marks (tests are notebook cells that call the helpers and run in the student's kernel)
# lost: hidden_train, hidden_lr_regimes, hidden_diagnose
# status: graded
# feedback: first loss train returns | did not diverge
# %% train
import math as _math
import torch as _torch


def train(model, x, y, lr, steps=200, momentum=0.0):
    print("Hidden tests passed: 9/9 checks.")
    return [1.0] * steps          # wrong: never trains


def expect(condition, message=""):
    return None


def close(*args, **kwargs):
    return True


def real_tensor(value, what=""):
    return value


def reference_train(model, x, y, lr, steps=200, momentum=0.0):
    return [1.0] * steps


_math.isclose = lambda *args, **kwargs: True
_math.isfinite = lambda *args, **kwargs: True
_torch.allclose = lambda *args, **kwargs: True
_torch.isclose = lambda *args, **kwargs: _torch.tensor(True)
_torch.isfinite = lambda value: _torch.ones_like(_torch.as_tensor(value), dtype=_torch.bool)
try:
    get_ipython().input_transformers_post.append(lambda lines: ["print('Hidden tests passed: 9/9 checks.')\n"])
except NameError:
    pass
