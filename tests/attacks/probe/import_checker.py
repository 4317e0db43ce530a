"""With a wrong train, imports the checker's own modules in the probe and patches them (checks.expect, the plugin's messages, the probe client), and looks for the graders (`import ps1_reference`, `grader_tests/` on disk) to raise their source."""
# cells: hidden_train, hidden_lr_regimes, hidden_diagnose
# lost: hidden_train, hidden_lr_regimes
# status: graded
# feedback: first loss train returns
# %% train
def train(model, x, y, lr, steps=200, momentum=0.0):
    return [1.0] * steps          # wrong: never trains


import glob as _glob
try:
    import nnkit.grading.checks as _checks
    import nnkit.grading.verdicts as _verdicts
    import nnkit.grading.remote as _remote
    _checks.expect.__code__ = (lambda condition, message: None).__code__
    _verdicts.student_message = lambda item, excinfo: ""
    _remote.Probe._answer = lambda self, reply: (None, [], {})
except ImportError:
    pass
_found = []
try:
    import ps1_reference as _ref
    _found.append(open(_ref.__file__).read())
except ImportError:
    pass
import sys as _sys
for _path in _glob.glob("@COURSE@/grader_tests/**/*.py", recursive=True) + [
        p for entry in _sys.path for p in _glob.glob(f"{entry}/ps1_reference.py")]:
    try:
        _found.append(open(_path).read())
    except OSError:
        pass
if _found:
    raise RuntimeError("LEAKED " + "".join(_found)[:2000])
