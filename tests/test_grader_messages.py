"""What a student reads when a grader fails: the message must point at the mistake.

The grader functions are called directly on a variant's code, loaded in a probe of its own (no
notebook, no sandbox, no pytest run of the graders), so these checks take seconds; `nnkit mutants`
covers the same variants through the full pipeline.
"""
import importlib
import sys

import pytest
import torch

from conftest import ROOT
from nnkit.grading.checks import GraderFailure
from nnkit.grading.remote import Probe
from nnkit.variants import parse_variant

PS1 = ROOT / "grader_tests" / "ps1_learning_rates"
PS4 = ROOT / "grader_tests" / "ps4_learning_curves"


def _grader_module(folder, name):
    """Import a grader file; its helper modules (claims, <ps>_reference) leave sys.modules again,
    so that another assignment's helper of the same name is never shadowed."""
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
        for added in set(sys.modules) - before:
            if (getattr(sys.modules[added], "__file__", None) or "").startswith(str(folder)):
                del sys.modules[added]


@pytest.fixture
def variant(tmp_path):
    """`variant(assignment, kind, name, cell)`: (the student's module, its probe) for a variant's
    solution cell, run in a probe on top of the notebook's imports."""
    probes = []

    def load(assignment, kind, name, cell):
        path = ROOT / "variants" / assignment / kind / f"{name}.py"
        code = parse_variant(path, assignment, kind).cells[cell]
        source = f"# ---- given cell 'imports' ----\nimport math\nimport torch\n# ---- your solution cell '{cell}' ----\n{code}"
        probe = Probe(source, tmp_path / f"{name}-{len(probes)}", default_budget=120)
        probes.append(probe)
        return probe.module, probe

    yield load
    for probe in probes:
        probe.close()


def _failure(fn) -> str:
    with pytest.raises(GraderFailure) as caught:
        fn()
    return str(caught.value)


def test_he_by_fan_out_is_told_about_the_spread_not_the_mean(variant):
    """Issue 10f: fan-out on Linear(2000->20) has std sqrt(2/20), not sqrt(2/2000)."""
    graders = _grader_module(PS1, "test_initialisers")
    submission, probe = variant("ps1_learning_rates", "wrong", "he_fan_out", "initialisers")
    message = _failure(lambda: graders.test_spread_matches_formula(submission, probe, "he", "Linear(2000→20)"))
    assert "std 0.31" in message and "expected 0.0316" in message and "fan-in/fan-out" in message, message
    assert "should be 0" not in message, message


@pytest.mark.parametrize("name, kind, refused", [("init_torch_nn_init", "he", "kaiming_normal_"),
                                                 ("init_torch_nn_init", "glorot", "xavier_normal_"),
                                                 ("he_kaiming_normal_defaults", "he", "kaiming_normal_"),
                                                 ("glorot_xavier_normal", "glorot", "xavier_normal_")])
def test_initialisers_from_torch_nn_init_are_refused_by_name(variant, name, kind, refused):
    """Issue 10g: the same "implement it yourself" policy as BatchNorm and Dropout in ps3."""
    graders = _grader_module(PS1, "test_initialisers")
    submission, probe = variant("ps1_learning_rates", "wrong", name, "initialisers")
    graders.test_spread_matches_formula(submission, probe, kind, "Linear(2000→20)")  # the numbers are right ...
    message = _failure(lambda: graders.test_drawn_by_hand(submission, probe, kind))  # ... but not drawn by hand
    assert f"torch.nn.init.{refused}" in message, message


def test_plain_normal_draws_are_allowed(variant):
    graders = _grader_module(PS1, "test_initialisers")
    submission, probe = variant("ps1_learning_rates", "correct", "init_nn_init_normal_with_own_fans", "initialisers")
    for kind in ("he", "glorot"):
        graders.test_drawn_by_hand(submission, probe, kind)


def test_step_decay_through_a_scheduler_is_refused(variant):
    graders = _grader_module(PS4, "test_ps4_training")
    submission, _ = variant("ps4_learning_curves", "wrong", "decay_through_multisteplr", "step_decay")
    graders.test_step_decay_default_gamma(submission)  # right numbers ...
    assert "lr_scheduler" in _failure(lambda: graders.test_step_decay_computed_by_hand(submission))
    correct, _ = variant("ps4_learning_curves", "correct", "training_alternative", "step_decay")
    graders.test_step_decay_computed_by_hand(correct)
