"""Imports TensorFlow with its C++ start-up lines held back unless asked for.

TensorFlow 2.21 prints its start-up notices (oneDNN, a missing CUDA driver, cuInit) from C++
before absl's logging is initialised, where `TF_CPP_MIN_LOG_LEVEL` does not reach them. They
say nothing about the run, so the command line captures file descriptor 2 while TensorFlow is
imported and its devices listed, and shows what was captured only with `--verbose 3` or when
the import fails.
"""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow(show: bool = False) -> str:
    """Imports TensorFlow and initialises its devices, capturing the C++ start-up output.

    Args:
        show: write the captured output to stderr (it always is if the import fails).

    Returns:
        The captured text ("" if TensorFlow was already imported).
    """
    if "tensorflow" in sys.modules:
        return ""
    sys.stderr.flush()
    saved = os.dup(2)
    failed = True
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured = sink.read().decode(errors="replace")
            if show or failed:
                sys.stderr.write(captured)
                sys.stderr.flush()
    return captured
