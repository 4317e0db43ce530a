"""nbgrader configuration for the course kit.

Autograde runs each notebook, then scores the hidden-grader cells with the
out-of-kernel pytest graders in grader_tests/<assignment>/ (RunHiddenGraders),
before nbgrader saves the grades. Feedback strips mark schemes and hidden tests, and carries the kit's report
(GenerateFeedback.post_convert_hook), so nbgrader's hand-back delivers it.
"""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, DeduplicateIds,
    GetGrades, LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from nnkit.data import mnist_root
from nnkit.threads import use_grading_threads
from nnkit.grading.execute import SafeExecute
from nnkit.grading.experiments import KeepExperimentOutputs
from nnkit.grading.gradebook import ResetAutogradedOverrides, StatusCsvExport
from nnkit.grading.intake import IntakeExporter, match_misnamed_notebooks
from nnkit.grading.preprocessor import RecordGradingStatus, RemovePlantedFiles, RunHiddenGraders, StartHiddenGraders
from nnkit.grading.repair import RepairCells
from nnkit.report.handback import embed_report_hook

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "nn-best-practices"

# A misnamed notebook is graded under its expected name, and an unreadable one is replaced by
# the blank release with a note saying why: either way the student gets feedback.
c.Autograde.pre_convert_hook = match_misnamed_notebooks
c.Autograde.exporter_class = IntakeExporter
# Repair deleted, duplicated or retagged cells from source/ before nbgrader looks at them.
# Experiment cells keep the outputs the student handed in and are not run again (nnkit/grading/experiments.py).
c.Autograde.sanitize_preprocessors = [
    KeepExperimentOutputs,
    RepairCells,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    StartHiddenGraders,  # the graders need only the sources: they run while the kernel executes the notebook
    SafeExecute,
    ClearMetadataPreprocessor,
    LimitOutput,
    RemovePlantedFiles,  # what the student's kernel left in its folder, before nbgrader reads it
    RunHiddenGraders,
    RecordGradingStatus,  # .nnkit-status.json: how grading this hand-in ended
    SaveAutoGrades,
    ResetAutogradedOverrides,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.SafeExecute.timeout = 300
c.SafeExecute.max_output_bytes = 1_000_000
# A sandboxed kernel on a busy batch worker can take more than nbclient's default 60 s to
# answer; a slow start is not the student's crash.
c.SafeExecute.startup_timeout = 180
c.ExportApp.plugin_class = StatusCsvExport
c.RunHiddenGraders.timeout = 900
c.RunHiddenGraders.per_test_timeout = 300
c.RunHiddenGraders.device = "auto"

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ClearMarkScheme, CSSHTMLHeaderPreprocessor]
# nbgrader's hand-back (release_feedback, fetch_feedback) delivers <notebook>.html and nothing else:
# the kit's report (report.html) goes into that page, at the top (nnkit/report/handback.py).
c.GenerateFeedback.post_convert_hook = embed_report_hook
# A TA's manual score on an autograded cell (formgrader) is kept when the notebook is graded again, as
# nbgrader keeps it (marking the cell for review). `nbgrader autograde ... --ResetAutogradedOverrides.enabled=True`
# clears such overrides and extra credit in that run; this line would do it at every autograde:
# c.ResetAutogradedOverrides.enabled = True
# Hand grades of the written questions are never touched.

# Student notebooks run in a sandboxed kernel (bubblewrap: read-only file system, course folder
# hidden, no network, resource limits); see nnkit/sandbox. The kernel talks over ZMQ ipc sockets
# because it has no network namespace.
from nnkit.sandbox import ensure_kernelspec  # noqa: E402

ensure_kernelspec()
# One CPU thread per kernel and grader process (see nnkit/threads.py).
use_grading_threads()
# Sandboxed code cannot write, and cannot see the instructor's home: lay MNIST out where it can read it.
os.environ.setdefault("NNKIT_DATA_CACHE", "/var/tmp/nnkit-data")
if os.environ.get("MNIST_ROOT"):
    # Verified here, once; kernels and graders then read the verified copy (itself a folder of the four
    # IDX files), which stays visible when the sandbox hides the original (under the course or a home).
    os.environ["MNIST_ROOT"] = str(mnist_root()[0] / "MNIST" / "raw")
c.SafeExecute.kernel_name = "nnkit-sandbox"
c.KernelManager.transport = "ipc"
# One ipc address per nbgrader process. jupyter_client's default, the relative "kernel-ipc" in the
# course folder, is shared by every autograde running there at once (nnkit batch): two kernels
# starting together picked the same socket files, and one waited for a kernel that never answered.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

_ipc_folder = tempfile.mkdtemp(prefix="nnkit-ipc-")
atexit.register(shutil.rmtree, _ipc_folder, ignore_errors=True)   # else one empty folder per nbgrader run
c.KernelManager.ip = os.path.join(_ipc_folder, "kernel")
c.RunHiddenGraders.sandbox = True
