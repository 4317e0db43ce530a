"""nbgrader configuration for the course kit.

Autograde runs each notebook, then scores the hidden-grader cells with the
out-of-kernel pytest graders in grader_tests/<assignment>/ (RunHiddenGraders),
before nbgrader saves the grades. Feedback strips mark schemes and hidden tests.
"""
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, Execute, GetGrades,
    LimitOutput, SaveAutoGrades)

from nnkit.grading.preprocessor import RunHiddenGraders

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "nn-best-practices"

c.Autograde.autograde_preprocessors = [
    Execute,
    ClearMetadataPreprocessor,
    LimitOutput,
    RunHiddenGraders,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
c.Execute.timeout = 300
c.RunHiddenGraders.timeout = 900
c.RunHiddenGraders.per_test_timeout = 300
c.RunHiddenGraders.device = "auto"

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ClearMarkScheme, CSSHTMLHeaderPreprocessor]

# Student notebooks run in a sandboxed kernel (bubblewrap: read-only file system, course folder
# hidden, no network, resource limits); see nnkit/sandbox. The kernel talks over ZMQ ipc sockets
# because it has no network namespace.
from nnkit.sandbox import ensure_kernelspec  # noqa: E402

ensure_kernelspec()
c.Execute.kernel_name = "nnkit-sandbox"
c.KernelManager.transport = "ipc"
c.RunHiddenGraders.sandbox = True
