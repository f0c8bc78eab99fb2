"""train.py as a user runs it with bad settings or a diverging run: a one-line error and exit code 1, never an
exported model that looks fine (issue 16)."""

import subprocess
import sys

from conftest import REPO


def _train(args, tmp_path):
    return subprocess.run([sys.executable, str(REPO / "train.py"), "--image_size=32", "--batch_size=16",
                           "--log_every=1", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_a_diverging_run_exits_1_without_an_export(tiny_synth, tmp_path):
    # --lr=1e6: three steps leave every weight finite but the features near 1e25, which normalise to zeros
    # (it used to export them and print "accuracy 50.00%" with exit code 0)
    out = _train(["--data=list", f"--list_file={tiny_synth / 'meta.csv'}", f"--eval_pairs={tiny_synth / 'pairs.csv'}",
                  "--lr=1e6", "--steps=3", f"--workdir={tmp_path / 'w'}"], tmp_path)
    assert out.returncode == 1, out.stderr[-2000:]
    # where the divergence shows depends on the CPU's kernels (oneDNN on: huge finite features, refused at
    # export; off: a NaN loss first) — either way a one-line error naming --lr, no export, no accuracy
    assert ("too large to normalise" in out.stderr or "NaN or Inf" in out.stderr) and "--lr" in out.stderr
    assert "Traceback" not in out.stderr and "accuracy" not in out.stdout
    assert not (tmp_path / "w" / "export").exists()


def test_degenerate_settings_exit_1_before_training(tiny_synth, tmp_path):
    data = ["--data=list", f"--list_file={tiny_synth / 'meta.csv'}", f"--workdir={tmp_path / 'w'}"]
    for args, message in ((["--head=arcface", "--margin=5"], "error: --margin=5 with --head=arcface must be in"),
                          (["--steps=-5"], "error: --steps=-5 must be ≥ 1"),
                          (["--lr_boundaries=abc"], "error: --lr_boundaries=abc must be whole numbers")):
        out = _train([*data, *args], tmp_path)
        assert out.returncode == 1 and message in out.stderr, (args, out.stderr[-2000:])
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "w").exists()


def test_kill_9_at_any_moment_resumes_to_the_uninterrupted_result(tiny_synth, tmp_path):
    import os
    import signal
    import time

    import numpy as np
    import tensorflow as tf

    args = ["--data=list", f"--list_file={tiny_synth / 'meta.csv'}", "--steps=30", "--checkpoint_every=1",
            "--embedding_size=16", "--eval_pairs="]
    straight = _train([*args, f"--workdir={tmp_path / 'straight'}"], tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]
    work = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(REPO / "train.py"), "--image_size=32", "--batch_size=16",
                             "--log_every=1", *args, f"--workdir={work}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not (work / "checkpoints" / "ckpt-5.index").exists():
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # mid-step or mid-save, wherever it is
    proc.wait()
    resumed = _train([*args, f"--workdir={work}"], tmp_path)
    assert resumed.returncode == 0 and "resumed from" in resumed.stdout, resumed.stderr[-2000:]
    a = tf.train.load_checkpoint(str(tmp_path / "straight" / "checkpoints" / "ckpt-30"))
    b = tf.train.load_checkpoint(str(work / "checkpoints" / "ckpt-30"))
    names = [n for n in a.get_variable_to_shape_map() if "backbone" in n and "VARIABLE_VALUE" in n]
    assert len(names) > 10
    for n in names:
        np.testing.assert_array_equal(a.get_tensor(n), b.get_tensor(n), err_msg=n)
