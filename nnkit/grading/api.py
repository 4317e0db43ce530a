"""Everything a hidden grader imports, from one place.

    from nnkit.grading.api import expect, close, real_tensor, watched, StudentRaised, ...

* verdicts: `expect`, `GraderFailure` and the student-facing failures (`StudentRaised` ...);
* reading what the student's code returned: `real_tensor`, `real_float`, `close`, `identical`,
  `all_finite`, `type_name`, `is_module`, `watched` (which of torch's own code ran);
* the graders' own randomness and device: `seed_everything`, `pick_device`;
* `cached_reference`: a reference run that is the same for every hand-in, computed once.

Where tensors live while a grader runs: `nnkit.grading.devices` (what the probe returns is on the
CPU; the checker judges there). The fixtures (`submission`, `probe`, `device`, `measure`, ...) and
the ``grade_cell`` marker come from the pytest plugin, `nnkit.grading.pytest_plugin`.
"""
from nnkit.grading.checks import all_finite, close, expect, identical, real_float, real_tensor
from nnkit.grading.devices import pick_device
from nnkit.grading.failure import (GraderFailure, ProbeCrashed, ProbeRefused, ProbeTimedOut, StudentAttributeError,
                                   StudentRaised, StudentTypeError)
from nnkit.grading.proxy import is_module, type_name, watched
from nnkit.grading.reference_cache import cached_reference
from nnkit.grading.seeding import seed_everything

__all__ = ["GraderFailure", "ProbeCrashed", "ProbeRefused", "ProbeTimedOut", "StudentAttributeError",
           "StudentRaised", "StudentTypeError", "all_finite", "cached_reference", "close", "expect", "identical",
           "is_module", "pick_device", "real_float", "real_tensor", "seed_everything", "type_name", "watched"]
