"""Two MultiWorkerMirroredStrategy processes on 127.0.0.1 run train.py for a few steps."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import REPO

from tfface.training.loopback import loopback_tf_configs

TIMEOUT = 300


def test_two_workers_train_on_loopback(tiny_synth, tmp_path):
    workdir = tmp_path / "run"
    args = [sys.executable, str(REPO / "train.py"), "--data=list", f"--list_file={tiny_synth / 'meta.csv'}",
            f"--eval_pairs={tiny_synth / 'pairs.csv'}", "--image_size=32", "--embedding_size=16",
            "--batch_size=16", "--steps=3", "--log_every=1", "--warmup_steps=1", f"--workdir={workdir}"]
    procs = []
    for i, tf_config in enumerate(loopback_tf_configs(2)):
        env = {**os.environ, "TF_CONFIG": tf_config}
        log = open(tmp_path / f"worker{i}.log", "w")
        # a new session per worker, so a timeout can SIGKILL the whole group: a worker whose peer
        # never comes up blocks in the collective set-up and ignores SIGTERM
        procs.append(subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
                                      start_new_session=True))
    deadline = time.time() + TIMEOUT
    try:
        while time.time() < deadline and any(p.poll() is None for p in procs):
            time.sleep(1)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    assert all(p.returncode == 0 for p in procs), f"timed out or failed:\n{logs[0][-3000:]}\n{logs[1][-3000:]}"
    assert "2 replica(s)" in logs[0] and "step 3/3" in logs[0]
    assert "margin head sharded over 2 replica(s)" in logs[0]  # Partial FC is on by default with 2 replicas
    assert (workdir / "checkpoints" / "ckpt-3.index").exists()
    import numpy as np
    import tensorflow as tf

    ckpt = str(workdir / "checkpoints" / "ckpt-3")
    classes = json.loads((workdir / "config.json").read_text())["num_classes"]
    kernel = tf.train.load_variable(ckpt, "head/classifier/kernel/.ATTRIBUTES/VARIABLE_VALUE")
    momentum = tf.train.load_variable(ckpt, "head/classifier/momentum/.ATTRIBUTES/VARIABLE_VALUE")
    assert kernel.shape == momentum.shape == (16, classes)  # both workers' shards, whole
    half = (classes + 1) // 2
    assert np.abs(momentum[:, :half]).max() > 0 and np.abs(momentum[:, half:]).max() > 0  # each shard trained
    report = json.loads((workdir / "eval.json").read_text())
    assert 0.0 <= report["accuracy"] <= 1.0 and report["pairs"] > 0
    assert not any(n.startswith(".worker-") for n in os.listdir(workdir))  # worker 1 cleaned up
