"""Hidden graders: run them on one notebook with

    pytest grader_tests --submission path/to/notebook.ipynb

The options, fixtures and the `grade_cell` marker come from nnkit's pytest plugin, loaded the pytest
way (this is the graders' rootdir conftest: `runner.checker_command` passes --rootdir grader_tests).
"""
pytest_plugins = ["nnkit.grading.pytest_plugin"]
