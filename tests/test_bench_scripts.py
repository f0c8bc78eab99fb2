"""The scripts users with other hardware run must work: bench/gpu_check.sh in its CPU (--tiny) mode."""

import json
import os
import subprocess
import sys

from conftest import REPO


def test_gpu_check_runs_tiny_on_the_cpu(tmp_path):
    out = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), "--tiny", f"--out={tmp_path / 'g.json'}"],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "g.json").read_text())
    assert result["tiny"] and not result["gpu"] and len(result["rows"]) == 4
    assert {(r["precision"], r["steps_per_loop"]) for r in result["rows"]} == {("float32", 1), ("float32", 10),
                                                                               ("bf16", 1), ("bf16", 10)}
    assert all(r["img_s"] > 0 for r in result["rows"])
