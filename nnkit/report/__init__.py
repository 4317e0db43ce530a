"""Reports after grading: feedback that teaches, a class dashboard, an LMS export.

The last step of the course pipeline (author -> release -> execute -> grade -> report).
It reads what grading left behind and writes static pages that work offline,
with JavaScript off, and print:

    feedback/<student>/<ps>/report.html   per-student feedback, beside nbgrader's page
    reports/<ps>.html                     class dashboard of one assignment
    reports/index.html                    course dashboard
    reports/lms_grades.csv                one row per student for the learning-management system

Sources (all written by the kit or nbgrader, never by student code directly):
the gradebook (scores, late penalties, hand grading), the autograded notebooks
(the hidden graders' messages), the grading records
(``autograded/<student>/<ps>/.nnkit-status.json``: status and the student's own
measurements), the batch runner's ``.nnkit-run.json`` when present, and the
calibration (``calibration/<device>.json``) for the reference bands.

Run it with ``nnkit report`` after ``nbgrader generate_feedback`` (which
replaces the feedback folders); ``make demo`` does.
"""
