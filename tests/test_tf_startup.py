"""TensorFlow's C++ start-up lines: held back by default, shown on request or on failure."""

import os
import subprocess
import sys


def _stderr(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def _tf_lines(text: str) -> list[str]:
    """C++ log lines: absl's `I0000 ...`/`E0000 ...` form and its start-up warning."""
    return [line for line in text.splitlines()
            if line[:1] in "IWEF" and line[1:5].isdigit() or "absl::InitializeLog" in line]


def test_start_up_lines_are_held_back_and_shown_on_request():
    # What a bare import prints here is the independent reference (it may be nothing on a
    # machine whose TensorFlow prints no notices; then there is nothing to hide either).
    bare = _tf_lines(_stderr("import tensorflow as tf; tf.config.list_physical_devices()"))
    quiet = _stderr("from asap_keras.tf_startup import import_tensorflow\n"
                    "text = import_tensorflow()\n"
                    "import tensorflow as tf; tf.constant(1.0) + 1.0\n")
    assert _tf_lines(quiet) == []
    shown = _tf_lines(_stderr("from asap_keras.tf_startup import import_tensorflow\n"
                              "import_tensorflow(show=True)\n"))
    assert [line.split("] ", 1)[-1] for line in shown] == [
        line.split("] ", 1)[-1] for line in bare]


def test_stderr_works_after_the_capture():
    err = _stderr("import sys\nfrom asap_keras.tf_startup import import_tensorflow\n"
                  "import_tensorflow()\nprint('still here', file=sys.stderr)\n")
    assert "still here" in err
