"""diagnose loops forever on a loss list with a NaN: the visible check hangs the kernel and one hidden grader test hangs."""
# plain: not probed (an endless loop in plain nbgrader: the cell times out)
# lost: hidden_diagnose
# status: timed out
# feedback: Timed out: your code took too long | CellTimeoutError
# %% diagnose +
_honest_diagnose = diagnose


def diagnose(losses):
    while len(losses) < 4 and any(v != v for v in losses):
        pass
    return _honest_diagnose(losses)
