"""Process-level TensorFlow settings that must be made before TensorFlow is imported."""

from __future__ import annotations

import os
import re


def configure_tf_env() -> None:
    """Turn oneDNN on (2-4x faster training on the CPUs we use) and quiet the C++ logs.

    Both are defaults only: a value already in the environment wins, so
    ``TF_ENABLE_ONEDNN_OPTS=0 python train.py`` turns oneDNN off again.
    """
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# what TensorFlow's C++ side prints on stderr while it loads, whatever TF_CPP_MIN_LOG_LEVEL says (once per shared
# library that links its logging, so twice): start-up notes, not messages for our users
START_UP_NOISE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called|"
                            r"^I0000 .*(port\.cc|cpu_feature_guard\.cc)|^To enable the following instructions|"
                            r"^oneDNN custom operations are on")


def _import_tensorflow_quietly():
    """``import tensorflow`` with its start-up notes held back: what it prints on stderr meanwhile is kept and
    written back, all of it if the import fails, else all but :data:`START_UP_NOISE`."""
    import sys
    import tempfile

    if sys.modules.get("tensorflow") is not None:  # loaded already (None there means: import fails)
        return sys.modules["tensorflow"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as held:
        os.dup2(held.fileno(), 2)
        failed = True
        try:
            import tensorflow as tf

            failed = False
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            kept = lines if failed else [ln for ln in lines if not START_UP_NOISE.search(ln)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
    return tf


def require_tensorflow():
    """Import TensorFlow (without its start-up notes) or fail with the install command that fixes it."""
    configure_tf_env()
    try:
        tf = _import_tensorflow_quietly()
    except ImportError as err:  # pragma: no cover - exercised only without TF installed
        raise ImportError(
            "tfface needs TensorFlow 2.21, which comes from an extra: "
            "`pip install 'tfface[cpu]'` (tensorflow-cpu) or `pip install 'tfface[gpu]'` "
            "(tensorflow[and-cuda])."
        ) from err
    return tf


def start_program(flag_values) -> None:
    """What every absl program does first in ``main``: TensorFlow's INFO chatter off unless asked for with
    --verbosity, tfface's messages on stdout with settings written as the program's flags, and TensorFlow
    itself, or a clear message naming the extras that install it."""
    from absl import logging

    from tfface.messages import show_on_stdout

    if not flag_values["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    show_on_stdout(flag_values)
    require_tensorflow()
