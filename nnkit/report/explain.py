"""One plain paragraph for each way a hand-in can go wrong: what happened, and what to do next."""
from __future__ import annotations

from dataclasses import dataclass

from nnkit.grading.status import Status


@dataclass(frozen=True)
class Explanation:
    title: str
    what: str
    todo: str


STATUS_EXPLANATIONS = {
    Status.TIMED_OUT: Explanation(
        "Your notebook ran out of time",
        "A cell of your notebook, or one of the graders' checks of your code, ran past its time limit and was "
        "stopped. Everything that finished before it was graded normally; the check or cell that was stopped "
        "earned nothing.",
        "Look for an endless loop (a while loop whose condition never changes) or a run far longer than the "
        "notebook asks for (many more steps or epochs). Restart the kernel and run all cells: each should finish "
        "in seconds to a few minutes on a laptop."),
    Status.CRASHED: Explanation(
        "Your code crashed the process running it",
        "The Python process running your notebook, or the graders' process running your functions, died "
        "(a segfault, a call to sys.exit or os._exit, or running out of memory). The graders went on without "
        "the cell or check that was running, so the rest of your work was still graded.",
        "Remove any sys.exit, os._exit or quit() from your code, and check that no cell builds a huge tensor. "
        "Restart the kernel and run all cells before you hand in: it must reach the last cell."),
    Status.UNREADABLE: Explanation(
        "Your file could not be read as a notebook",
        "The file you handed in is not a readable Jupyter notebook (it is truncated, or not a notebook at all), "
        "so none of your work could be graded: the blank release notebook stood in for it, and every part scores 0.",
        "Open your file in Jupyter to check that it opens and saves; if it does not, copy your answers into a "
        "fresh copy of the release notebook. Then hand it in again, and tell your TA."),
    Status.WRONG_ASSIGNMENT: Explanation(
        "You handed in another assignment's notebook",
        "The notebook you handed in for this assignment is the notebook of another assignment, so none of your "
        "work for this one could be graded: the blank release notebook stood in for it, and every part scores 0.",
        "Hand in this assignment's notebook (the release's file name), and tell your TA."),
    Status.NOT_GRADED: Explanation(
        "Your hand-in has not been graded yet",
        "Your notebook was received, but no grading result has been recorded for it.",
        "Nothing to do on your side: your TA will grade it. If this is still so after the grades are out, "
        "tell your TA."),
    Status.NOT_SUBMITTED: Explanation(
        "Nothing was handed in",
        "No notebook was received for this assignment.",
        "If you did hand one in, tell your TA at once, with the time and the file name you used."),
}

MISNAMED = Explanation(
    "Your notebook had another file name",
    "You handed in a notebook under a different file name from the release's. It was graded anyway, under "
    "the expected name.",
    "Keep the release's file name when you hand in (a browser adds \" (1)\" to a second download).")

SANDBOX_REFUSAL = Explanation(
    "Your code tried something the grading sandbox does not allow",
    "Notebooks are graded in a sandbox: a read-only file system except your own folder, no network, and no "
    "access to other files of the course. Your code tried one of these and was refused ({what}); the cell that "
    "tried it failed, and what depended on it may have failed too.",
    "Write files only into your notebook's own folder (use relative paths), download nothing while the "
    "notebook runs, and read only the files the assignment gives you.")

RESOURCE_LIMIT = Explanation(
    "Your code hit a resource limit",
    "Grading runs with limits on time, memory, processes and output size. Your code hit one ({what}).",
    "Keep to the sizes the notebook asks for, start no extra processes or threads, and print little: "
    "summaries rather than whole tensors.")


def explanations(result) -> list[Explanation]:
    """What the feedback page should explain first, for one `StudentResult`."""
    found = []
    if result.status in STATUS_EXPLANATIONS:
        found.append(STATUS_EXPLANATIONS[result.status])
    if result.intake_note and not result.status.hand_in_replaced:
        found.append(MISNAMED)
    if result.refusals:
        found.append(Explanation(SANDBOX_REFUSAL.title, SANDBOX_REFUSAL.what.format(what=", ".join(result.refusals)),
                                 SANDBOX_REFUSAL.todo))
    if result.run.limit and result.status is not Status.TIMED_OUT:
        found.append(Explanation(RESOURCE_LIMIT.title, RESOURCE_LIMIT.what.format(what=result.run.limit),
                                 RESOURCE_LIMIT.todo))
    return found
