"""Import-time behaviour: oneDNN default, and a clear message when TensorFlow is missing."""

import os
import subprocess
import sys

from conftest import REPO


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


def test_missing_tensorflow_names_the_extras():
    # a None entry in sys.modules makes `import tensorflow` raise ImportError, as if it were not installed
    out = _python("import sys; sys.modules['tensorflow'] = None\nimport tfface")
    assert out.returncode != 0
    assert "pip install 'tfface[cpu]'" in out.stderr and "tfface[gpu]" in out.stderr


def test_onednn_default_and_override():
    code = "import os, tfface; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])"
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.strip() == "1"
    assert _python(code, TF_ENABLE_ONEDNN_OPTS="0").stdout.strip() == "0"
