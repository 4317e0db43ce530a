"""The one exception a failed check raises (re-exported by `nnkit.grading.checks`).

It lives apart from the checks, which import torch, so that the checker can
start the probe before it loads torch itself (`nnkit.grading.pytest_plugin`).
"""


class GraderFailure(AssertionError):
    """A check failed; `str(self)` is the student-facing message."""
