"""The README's quick start, run as written on small real data: the raw CelebA photos of 30 people.

Only what small data needs changes: the photos folder is a link to them, the split keeps 40 % of the people for
validation (so its impostor pairs can calibrate FAR 1e-2), training takes 40 steps, and the install line is
skipped (the tests run installed)."""

import contextlib
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SMALL_DATA = {"tfface-split": ["--val=0.4", "--test=0"], "train.py": ["--steps=40"]}


def quickstart_blocks() -> tuple[list[str], str]:
    """(shell lines, python code) between the README's quickstart markers."""
    text = (REPO / "README.md").read_text()
    shell = re.search(r"<!-- quickstart:shell -->\s*```bash\n(.*?)```", text, re.S).group(1)
    python = re.search(r"<!-- quickstart:python -->\s*```python\n(.*?)```", text, re.S).group(1)
    return [ln.split("  #")[0].strip() for ln in shell.splitlines() if ln.strip()], python


def as_command(line: str) -> list[str] | None:
    words = shlex.split(line)
    if words[0] == "pip":
        return None
    bin_dir = pathlib.Path(sys.executable).parent
    if words[0] == "python":
        words = [sys.executable, str(REPO / words[1]), *words[2:]]
    else:
        words = [str(bin_dir / words[0]), *words[1:]]
    words = [w.replace("--config=configs/", f"--config={REPO}/configs/") for w in words]
    for program, extra in SMALL_DATA.items():
        if words[1 if program == "train.py" else 0].endswith(program):
            words += extra
    return words


def test_the_quick_start_runs_as_written(tmp_path, shared_data):
    pytest.importorskip("dlib", reason="the quick start aligns photos: pip install 'tfface[align]'")
    (tmp_path / "photos").symlink_to(shared_data / "celeba_raw" / "images")
    shell, python = quickstart_blocks()
    assert len(shell) == 4 and shell[1].startswith("tfface-align") and "configs/small_real_faces.json" in shell[3]
    for line in shell:
        command = as_command(line)
        if command is None:
            continue
        out = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
        assert out.returncode == 0, (line, out.stdout[-1500:], out.stderr[-1500:])
    printed = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        with contextlib.redirect_stdout(printed):
            exec(compile(python, "README quick start", "exec"), {})
    finally:
        os.chdir(cwd)
    import json

    # `tensorboard --logdir runs/` shows the run's curves: TensorBoard's own reader finds them as scalars
    from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator

    logs = EventAccumulator(str(tmp_path / "runs/mine/logs"))
    logs.Reload()
    assert {"loss", "lr", "images_per_sec"} <= set(logs.PluginTagToContent("scalars"))
    assert [e.step for e in logs.Tensors("loss")][-1] == 40
    meta = json.loads((tmp_path / "runs/mine/export/tfface.json").read_text())
    assert meta["training_chip_sizes"] == [[112, 112]]  # tfface-align's chips; load(align=True) makes the same
    calibration = meta["calibration"]
    threshold = calibration["far"]["0.01"]["threshold"]
    assert re.fullmatch(rf"Verification\(score=[-0-9.e]+, same=(True|False), threshold={threshold!r}, far=0.01\)\n",
                        printed.getvalue()), printed.getvalue()
