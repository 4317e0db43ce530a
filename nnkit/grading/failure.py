"""What a failed check raises: `GraderFailure`, and the kinds of it that say what the student's
code did in the probe (raised, hung, crashed, sent something refused).

`str(error)` is always the student-facing message. They live apart from the checks, which import
torch, so that the checker can start the probe before it loads torch itself
(`nnkit.grading.pytest_plugin`), and apart from the transport (`nnkit.grading.remote`), which
raises them, so that graders, the transport and the zygote import them without importing each
other. Graders import them from `nnkit.grading.api`.
"""


class GraderFailure(AssertionError):
    """A check failed; `str(self)` is the student-facing message."""


class StudentRaised(GraderFailure):
    """The student's code raised; `str(self)` is "Your code raised Type: message (in your code: ...)"."""


class StudentAttributeError(StudentRaised, AttributeError):
    """A missing attribute on a student's object (so `hasattr` works on a RemoteRef)."""


class StudentTypeError(StudentRaised, TypeError):
    """A TypeError from the probe (so `list(ref)` falls back from `len()` as it does in one process)."""


class ProbeTimedOut(GraderFailure):
    pass


class ProbeCrashed(GraderFailure):
    pass


class ProbeRefused(GraderFailure):
    """The probe's answer was not plain data or too large (`nnkit.grading.wire`)."""
