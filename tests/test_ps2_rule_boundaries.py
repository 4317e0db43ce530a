"""ps2's notebook promises that any algebraically equal way of writing choose_weight_decay's rule is
graded right: the hidden tests put k on the boundary only where every form computes it exactly.
This checks that promise against the grader's own cases, so adding a case on which two forms
disagree (k = 0.00023, l2 = 4.6 at wd = 1e-4, say) fails here instead of failing a correct student."""
import math
import sys
from pathlib import Path

import pytest
import torch

GRADERS = Path(__file__).resolve().parents[1] / "grader_tests" / "ps2_regularization"
sys.path.insert(0, str(GRADERS))
from ps2_reference import reference_choose_weight_decay  # noqa: E402
from test_rule import CASES, TENSOR_CASES  # noqa: E402

sys.path.remove(str(GRADERS))

FORMS = {
    "wd / 2 * l2 < k": lambda wd, l2, k: wd / 2 * l2 < k,
    "wd * l2 / 2 < k": lambda wd, l2, k: wd * l2 / 2 < k,
    "0.5 * wd * l2 < k": lambda wd, l2, k: 0.5 * wd * l2 < k,
    "wd * l2 < 2 * k": lambda wd, l2, k: wd * l2 < 2 * k,
    "wd < 2 * k / l2": lambda wd, l2, k: wd < 2 * k / l2,
}
POWERS = {"10.0 ** n": lambda n: 10.0 ** n, "1e{n}": lambda n: float(f"1e{n}"), "10 ** n": lambda n: 10 ** n,
          "math.pow(10, n)": lambda n: math.pow(10, n)}


def _choose(k, l2, form, power):
    n = 15  # above every case's answer; 10 ** 15 * a float32 tensor stays finite
    while not bool(form(power(n), l2, k)):
        n -= 1
    return float(power(n))


def _unequal(k, l2, form, power):
    return abs(_choose(k, l2, form, power) - reference_choose_weight_decay(k, float(l2)))


@pytest.mark.parametrize("k,l2", CASES)
def test_every_form_of_the_rule_agrees_on_the_graders_cases(k, l2):
    disagree = [(f, p) for f, form in FORMS.items() for p, power in POWERS.items()
                if _unequal(k, l2, form, power) > 1e-9 * reference_choose_weight_decay(k, l2)]
    assert not disagree, f"choose_weight_decay({k}, {l2}): these correct forms give another answer: {disagree}"


@pytest.mark.parametrize("k,l2", TENSOR_CASES)
def test_every_form_agrees_with_a_float32_tensor(k, l2):
    tensor = torch.tensor(l2)
    disagree = [(f, p) for f, form in FORMS.items() for p, power in POWERS.items()
                if _unequal(k, tensor, form, power) > 1e-6 * reference_choose_weight_decay(k, l2)]
    assert not disagree, f"choose_weight_decay({k}, tensor({l2})): these correct forms give another answer: {disagree}"


def test_a_case_off_the_exact_boundary_would_be_caught():
    # The check above can fail: at k = 0.00023, l2 = 4.6 the boundary wd = 1e-4 is not exact in floats,
    # and wd < 2 * k / l2 answers otherwise than the other forms.
    answers = {_choose(0.00023, 4.6, form, POWERS["10.0 ** n"]) for form in FORMS.values()}
    assert len(answers) > 1
