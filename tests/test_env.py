"""Import-time behaviour: `import tfface` has no side effect; the programs turn oneDNN on by default and name the
extras when TensorFlow is missing."""

import os
import subprocess
import sys

from conftest import REPO


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_import_tfface_changes_nothing():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")}
    code = ("import os, sys, tfface; print('tensorflow' in sys.modules, 'TF_ENABLE_ONEDNN_OPTS' in os.environ, "
            "'TF_CPP_MIN_LOG_LEVEL' in os.environ)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.split() == ["False", "False", "False"], out.stderr[-2000:]


def test_missing_tensorflow_names_the_extras():
    # a None entry in sys.modules makes `import tensorflow` raise ImportError, as if it were not installed
    for program in ("train.py", "evaluate.py"):
        out = _python(f"import runpy, sys; sys.modules['tensorflow'] = None; sys.argv = ['{program}']\n"
                      f"runpy.run_path('{program}', run_name='__main__')")
        assert out.returncode != 0
        assert "pip install 'tfface[cpu]'" in out.stderr and "tfface[gpu]" in out.stderr, out.stderr[-2000:]


def test_onednn_default_and_override():
    code = ("import os; from tfface.env import configure_tf_env; configure_tf_env(); "
            "print(os.environ['TF_ENABLE_ONEDNN_OPTS'])")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.strip() == "1"
    assert _python(code, TF_ENABLE_ONEDNN_OPTS="0").stdout.strip() == "0"

