"""The probe/checker split (issue 9), piece by piece: the wire's plain-data rule, the probe's
requests and side effects, what a hung or dying probe costs, and the early start of the graders."""
import io
import os
import pickle

import numpy as np
import pytest
import torch

from nnkit.grading import wire
from nnkit.grading.api import ProbeCrashed, ProbeTimedOut, StudentRaised, is_module, watched
from nnkit.grading.remote import Probe
from nnkit.sandbox import bwrap_available

pytestmark = pytest.mark.check

MODULE = '''
# ---- given cell 'imports' ----
import torch
import time
# ---- your solution cell 'code' ----
SCALE = 3


def triple(x):
    return SCALE * x


def step(model, lr):
    with torch.no_grad():
        for p in model.parameters():
            p -= lr
    return model


def fill_(t):
    t.fill_(7.0)
    return t


class Doubler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(3))

    def forward(self, x):
        return 2 * x * self.weight


def square_sum(x):
    return (x ** 2).sum()


def fails():
    raise ValueError("no luck")


def sleeps():
    while True:
        try:
            time.sleep(100)
        except BaseException:
            pass


def dies():
    import os
    os._exit(3)


def init_with_library(t):
    return torch.nn.init.kaiming_normal_(t)


def numpy_answer():
    import numpy
    return numpy.arange(3.0), numpy.float64(2.5)


def add_one_through_data(t):
    t.data.add_(1.0)   # a write autograd's version counter does not see


def double(x):
    return 2 * x


def break_equal():
    torch.equal = lambda *args, **kwargs: True


def count_to(n):
    for i in range(n):
        yield torch.full((2,), float(i))


def breaks_after(n):
    yield from range(n)
    raise ValueError("broken stream")


def collector_state():
    import gc
    import weakref

    class Node:
        pass

    node = Node()
    node.itself = node
    ref = weakref.ref(node)
    del node
    gc.collect()
    return gc.isenabled(), gc.get_freeze_count(), ref() is None


def float32_switches():
    b = torch.backends
    return {"matmul.allow_tf32": b.cuda.matmul.allow_tf32, "cudnn.allow_tf32": b.cudnn.allow_tf32,
            "cudnn.deterministic": b.cudnn.deterministic, "cudnn.benchmark": b.cudnn.benchmark}
'''


@pytest.fixture(scope="module")
def zygote():
    from conftest import ROOT
    from nnkit.grading.probe_zygote import ProbeZygote

    with ProbeZygote(ROOT) as started:
        yield started


@pytest.fixture(params=["fresh", "zygote"])
def start_probe(request, tmp_path):
    """`Probe(source, folder)` as a freshly started process, or forked from a sandboxed zygote (the
    variant bank's warm probes, `nnkit.grading.probe_zygote`): every test here holds for both."""
    zygote = request.getfixturevalue("zygote") if request.param == "zygote" else None
    started = []

    def start(source: str, folder=None, **options) -> Probe:
        found = Probe(source, folder or tmp_path, default_budget=20,
                      zygote=str(zygote.socket_path) if zygote else "", **options)
        started.append(found)
        return found

    yield start
    for found in started:
        found.close()


@pytest.fixture
def probe(start_probe):
    return start_probe(MODULE)


def test_calls_come_back_as_plain_data(probe):
    module = probe.module
    assert module.triple(2) == 6
    got = module.triple(torch.ones(2))
    assert type(got) is torch.Tensor and got.tolist() == [3.0, 3.0]
    array, number = module.numpy_answer()
    assert type(array) is np.ndarray and array.tolist() == [0.0, 1.0, 2.0] and type(number) is np.float64
    assert module.SCALE == 3


def test_student_objects_stay_in_the_probe(probe):
    layer = probe.module.Doubler()
    assert is_module(layer) and not isinstance(layer, torch.nn.Module) and layer.type_name == "Doubler"
    assert layer(torch.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert [p.tolist() for p in layer.parameters()] == [[1.0, 1.0, 1.0]]
    layer.eval()
    assert layer.training is False
    copy_of = __import__("copy").deepcopy(layer)
    assert copy_of._id != layer._id


def test_side_effects_on_the_checkers_objects_come_back(probe):
    model = torch.nn.Linear(2, 1)
    before = [p.detach().clone() for p in model.parameters()]
    returned = probe.module.step(model, 0.5)
    assert returned is model, "an in-place function returning its argument gives the checker its own object"
    for b, p in zip(before, model.parameters()):
        assert torch.allclose(p.detach(), b - 0.5)
    t = torch.zeros(3)
    assert probe.module.fill_(t) is t and t.tolist() == [7.0, 7.0, 7.0]


def test_gradients_through_the_students_code(probe):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    call = watched(probe.module.square_sum, x, backward=torch.tensor(1.0))
    assert call.value.item() == 5.0 and x.grad.tolist() == [2.0, 4.0]


def test_the_student_code_runs_with_the_collector_on_and_the_kit_frozen(probe):
    enabled, frozen, cycle_collected = probe.module.collector_state()
    assert enabled and cycle_collected, "the student's cyclic garbage is collected as usual"
    assert frozen > 50_000, f"torch's objects, loaded before the student's code, are frozen (nnkit.gc_policy): {frozen}"


def test_the_student_code_computes_in_ieee_float32_as_the_checker_does(probe, start_probe, tmp_path):
    from conftest import IEEE_FLOAT32

    assert probe.module.float32_switches() == IEEE_FLOAT32, "nnkit.grading.precision, set before the student's code"
    # A cell that turns TF32 and autotuning back on (as Colab snippets do) is undone for every graded call.
    switched = start_probe(MODULE + "\ntorch.backends.cudnn.allow_tf32 = True\ntorch.backends.cuda.matmul.allow_tf32 = True"
                           "\ntorch.backends.cudnn.benchmark = True\ntorch.backends.cudnn.deterministic = False\n",
                           tmp_path / "switched")
    assert switched.module.float32_switches() == IEEE_FLOAT32


def test_seeding_and_functions_of_the_probe(probe):
    probe.seed(5)
    first = probe.function(torch.rand)(3)
    probe.seed(5)
    assert probe.function(torch.rand)(3).tolist() == first.tolist()
    assert probe.function(torch.rand) is probe.function(torch.rand), "sent once per probe"


def _count_requests(probe):
    sent = []
    request = probe.request

    def counting(*message):
        sent.append(message[0])
        return request(*message)
    probe.request = counting
    return sent


def test_several_reads_a_write_and_a_method_cost_one_request_each(probe):
    layer = probe.module.Doubler()
    probe.attributes(layer, "weight")   # each sends its function to the probe once
    probe.call_at(layer, "weight.data.copy_", torch.ones(3))
    sent = _count_requests(probe)
    weight, flag, missing = probe.attributes(layer, "weight", "weight.requires_grad", "no_such_tensor")
    assert weight.tolist() == [1.0, 1.0, 1.0] and flag is True and missing is None and len(sent) == 1
    probe.call_at(layer, "weight.data.copy_", torch.full((3,), 2.0))
    assert layer(torch.ones(3)).tolist() == [4.0, 4.0, 4.0] and len(sent) == 3
    layer.eval()
    assert sent[-1] == "method" and len(sent) == 4 and layer.training is False


def test_only_changed_tensors_are_sent_back(probe):
    x = torch.ones(3)
    value, changes, _ = probe.request("call", probe.module.triple._id, (x,), {}, {})
    assert value.tolist() == [3.0, 3.0, 3.0] and changes == [], "an argument the call did not touch stays here"
    probe.module.add_one_through_data(x)
    assert x.tolist() == [2.0, 2.0, 2.0], "a write through .data is a change too"
    probe.module.break_equal()
    t = torch.zeros(3)
    assert probe.module.fill_(t) is t and t.tolist() == [7.0, 7.0, 7.0], "a patched torch.equal hides no change"


def test_iteration_reads_ahead_and_keeps_errors_in_place(probe):
    sent = _count_requests(probe)
    items = [t.tolist() for t in probe.module.count_to(10)]
    assert items == [[float(i)] * 2 for i in range(10)]
    assert sent.count("next") == 4, f"1 + 2 + 4 + the last 3 items: {sent}"
    first = next(iter(probe.module.count_to(1000)))
    assert first.tolist() == [0.0, 0.0] and sent.count("next") == 5, "one item asked, one item fetched"
    seen = []
    with pytest.raises(StudentRaised, match="broken stream"):
        for item in probe.module.breaks_after(5):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4], "the items before the error all arrive, then the error"


def test_back_propagating_a_gradient_through_the_students_output(probe):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    call = watched(probe.module.double, x, backward=torch.tensor([1.0, 3.0]))
    assert call.value.tolist() == [2.0, 4.0] and x.grad.tolist() == [2.0, 6.0]
    with pytest.raises(StudentRaised, match="Mismatch in shape"):
        watched(probe.module.double, torch.ones(2, requires_grad=True), backward=torch.ones(3))


def test_library_calls_are_seen_in_the_probe(probe):
    call = watched(probe.module.init_with_library, torch.empty(3, 4), library=True)
    assert "torch.nn.init.kaiming_normal_" in call.library
    assert watched(probe.module.triple, 1, library=True).library == []


def test_calls_from_a_library_file_are_named_only_when_the_graders_ask(probe):
    """The probe knows no assignment: a grader names the library layer to look for (ps3: torchvision's
    DropBlock, `ps3_reference.LIBRARY_LAYERS`) by fragments of its file's path. Here the "library" is
    the module's own file (module/submission.py)."""
    x = torch.ones(2)
    asked = watched(probe.module.triple, x, torch_functions=True, calls_from={"this file": ("module", "submission")})
    assert "this file" in asked.torch_functions
    elsewhere = watched(probe.module.triple, x, torch_functions=True, calls_from={"other": ("module", "torchvision")})
    assert "other" not in elsewhere.torch_functions, "every fragment must be in the path"
    assert not {"this file", "other"} & watched(probe.module.triple, x, torch_functions=True).torch_functions


def test_student_errors_missing_names_hangs_and_deaths_cost_one_request(probe):
    with pytest.raises(StudentRaised, match="Your code raised ValueError: no luck"):
        probe.module.fails()
    with pytest.raises(Exception, match="does not define `nothing_here`"):
        probe.module.nothing_here
    probe.deadline = __import__("time").monotonic() + 2
    with pytest.raises(ProbeTimedOut):
        probe.module.sleeps()
    probe.deadline = None
    assert probe.module.triple(1) == 3, "a fresh probe answers after a time-out"
    with pytest.raises(ProbeCrashed, match="exit code 3"):
        probe.module.dies()
    assert probe.module.triple(2) == 6
    assert probe.events.timeouts == 1 and probe.events.crashes == 1


def test_a_cell_that_kills_the_probe_while_loading_is_left_out(start_probe):
    source = MODULE + "\n# ---- your solution cell 'bad' ----\nimport os\nos._exit(5)\n"
    probe = start_probe(source)
    assert probe.module.triple(3) == 9
    assert probe.events.left_out == {"your solution cell 'bad'": "exit code 5"}


# ---------------------------------------------------------------- probes forked from a zygote (the variant bank)
def test_probes_forked_from_one_zygote_start_clean(zygote, tmp_path):
    def start_probe(source, folder):
        return Probe(source, folder, default_budget=20, zygote=str(zygote.socket_path))

    vandal = start_probe(MODULE + "\ntorch.nn.functional.relu = lambda x: x\ntorch.vandalised = True\n"
                         "torch.manual_seed(123)\ntorch.set_num_threads(2)\n", tmp_path / "vandal")
    assert vandal.module.triple(1) == 3
    fresh = start_probe(MODULE + "\ndef looks():\n    return [hasattr(torch, 'vandalised'), "
                        "torch.nn.functional.relu(torch.tensor([-1.0])).tolist(), torch.initial_seed(), "
                        "torch.get_num_threads()]\n", tmp_path / "fresh")
    try:
        vandalised, relu, seed, threads = fresh.module.looks()
        assert not vandalised and relu == [0.0], "nothing one forked probe did reaches the next"
        assert seed != 123 and threads == 1
    finally:
        vandal.close()
        fresh.close()


def test_a_zygote_that_is_gone_is_named_in_the_crash(tmp_path):
    gone = tmp_path / "spool" / "zygote.sock"
    gone.parent.mkdir()
    probe = Probe(MODULE, tmp_path, default_budget=20, zygote=str(gone))
    with pytest.raises(ProbeCrashed, match=f"The probe zygote at {gone} did not fork a probe"):
        probe.module.triple(1)


@pytest.mark.skipif(not bwrap_available(), reason="bubblewrap not usable here")
def test_a_zygotes_probes_are_sandboxed_and_end_with_it(tmp_path):
    import socket

    from conftest import ROOT
    from nnkit.grading.probe_zygote import ProbeZygote

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    source = MODULE + f"""
def course_file_seen():
    import os
    return os.path.exists({str(ROOT / "nbgrader_config.py")!r})


def reaches_the_network():
    import socket
    try:
        socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=2).close()
        return True
    except OSError:
        return False
"""
    zygote = ProbeZygote(ROOT)
    probe = Probe(source, tmp_path, default_budget=20, zygote=str(zygote.socket_path))
    try:
        assert probe.module.course_file_seen() is False
        assert probe.module.reaches_the_network() is False
        channel = probe.process.stdout.fileno()
        zygote.close()
        import select
        assert select.select([channel], [], [], 10)[0] and os.read(channel, 1) == b"", "its probe ended with it"
        assert probe.process.wait() is not None
    finally:
        probe.close()
        zygote.close()
        listener.close()


def _frame_of(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


class _Payload:
    def __reduce__(self):
        return (print, ("payload ran",))


class _Sub(torch.Tensor):
    pass


@pytest.mark.parametrize("payload, why", [
    (pickle.dumps({"value": _Payload()}), "not plain data"),
    (_frame_of({"value": torch.ones(2).as_subclass(_Sub)}), "not plain data"),
    (b"not a pickle at all", "not plain data"),
], ids=["reduce-payload", "tensor-subclass", "garbage"])
def test_the_checker_reads_plain_data_only(payload, why, capsys):
    with pytest.raises(wire.WireRefused, match=why):
        wire.loads_plain(payload)
    assert "payload ran" not in capsys.readouterr().out


def test_decoded_answers_are_capped_and_exactly_typed():
    with pytest.raises(wire.WireRefused, match="tensor elements"):
        wire.decode(torch.zeros(wire.MAX_ELEMENTS + 1), lambda r: r)
    with pytest.raises(wire.WireRefused, match="values"):
        wire.decode([0] * (wire.MAX_ITEMS + 1), lambda r: r)
    with pytest.raises(wire.WireRefused, match="unknown tagged"):
        wire.decode({wire.TAG: "code", "src": "print(1)"}, lambda r: r)
    got = wire.decode(torch.nn.Parameter(torch.ones(2)), lambda r: r)
    assert type(got) is torch.Tensor


def test_graders_start_before_the_kernel_and_run_once(monkeypatch):
    """StartHiddenGraders (before SafeExecute) starts the graders; RunHiddenGraders (after it) uses
    that run, and grades again only if a source changed in between."""
    import nbformat

    from conftest import COURSE
    from nnkit.grading import preprocessor
    from nnkit.grading.course import Course
    from nnkit.grading.notebook import hidden_grader_cells, read_notebook
    from nnkit.grading.results import cell_points, score_cells
    from nnkit.grading.runner import GraderRun
    from nnkit.grading.status import Status

    source = read_notebook(COURSE.source_notebook("ps1_learning_rates"))
    graded = []

    def fake_run_graders(course, assignment, notebook, **settings):
        graded.append(nbformat.read(str(notebook), as_version=4))
        tests = [{"cell": gid, "outcome": "passed", "message": ""} for gid in cell_points(source)]
        return GraderRun(score_cells(tests, cell_points(source)), Status.GRADED, "", 0.1)

    monkeypatch.setattr(preprocessor, "run_graders", fake_run_graders)
    monkeypatch.setattr(Course, "from_nbgrader", classmethod(lambda cls, config=None, root=None: COURSE))
    resources = {"nbgrader": {"notebook": "learning_rates", "assignment": "ps1_learning_rates", "student": "s"}}
    nb = read_notebook(COURSE.source_notebook("ps1_learning_rates"))
    preprocessor.StartHiddenGraders().preprocess(nb, resources)
    preprocessor.RunHiddenGraders().preprocess(nb, resources)
    assert len(graded) == 1
    assert all("Hidden tests passed" in cell.outputs[0]["text"] for cell in hidden_grader_cells(nb))
    preprocessor.StartHiddenGraders().preprocess(nb, resources)
    nb.cells[-1].source += "\n# changed after the graders started"
    preprocessor.RunHiddenGraders().preprocess(nb, resources)
    # The early run (a background thread) and the new one may finish in either order.
    changed = [g.cells[-1].source.endswith("# changed after the graders started") for g in graded[1:]]
    assert len(graded) == 3 and sorted(changed) == [False, True]


def test_warm_up_only_for_whole_runs_of_code_that_builds_optimizers():
    from nnkit.grading.remote import warm_up_modules

    builds = "import torch\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    assert warm_up_modules(builds) == ("torch._dynamo",)
    assert warm_up_modules(builds, partial=True) == ()       # the mutant bank's quick runs
    assert warm_up_modules("import torch\nx = torch.zeros(3)\n") == ()
