"""train.py with the sharded margin head (Partial FC): on by default with 2 replicas, sampling, a resume on
another replica count, IDA's ``head`` anchors from the sharded checkpoint, and the refusals."""

import json
import subprocess
import sys

from conftest import REPO


def _run(args, cwd, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_sharded_head_trains_resumes_on_one_replica_and_serves_ida(tiny_synth, tmp_path):
    work = tmp_path / "run"
    common = [str(REPO / "train.py"), "--data=list", f"--list_file={tiny_synth / 'meta.csv'}", "--image_size=32",
              "--embedding_size=16", "--batch_size=16", "--log_every=1", "--warmup_steps=1", "--sampler=pk",
              "--pk_k=4", "--checkpoint_every=2", f"--workdir={work}"]
    out = _run([*common, "--steps=2", "--cpu_replicas=2", "--sample_rate=0.5"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "margin head sharded over 2 replica(s)" in out.stdout and "0.5 of them sampled per step" in out.stdout
    config = json.loads((work / "config.json").read_text())
    assert config["head_sharded"] is True

    out = _run([*common, "--steps=4", "--sample_rate=0.5"], tmp_path)  # one replica: the checkpoint is re-sharded
    assert out.returncode == 0, out.stderr[-3000:]
    assert "resumed from" in out.stdout and "margin head sharded over 1 replica(s)" in out.stdout
    assert "step 4/4" in out.stdout

    out = _run([*common, "--steps=6", "--head_shards=off"], tmp_path)
    assert out.returncode == 1 and "holds a checkpoint of a sharded head" in out.stderr
    assert "--head_shards=on" in out.stderr

    ev = _run([str(REPO / "evaluate.py"), f"--checkpoint={work}", f"--eval_pairs={tiny_synth / 'pairs.csv'}",
               "--score=ida_r", "--ida_anchors=head", "--ida_k=3", f"--out={tmp_path / 'ev'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert json.loads((tmp_path / "ev" / "eval_ida_r.json").read_text())["score"] == "ida_r"


def test_what_the_sharded_head_cannot_do_is_refused(tiny_synth, tmp_path):
    common = [str(REPO / "train.py"), "--data=list", f"--list_file={tiny_synth / 'meta.csv'}", "--image_size=32",
              "--embedding_size=16", "--batch_size=16", "--steps=1", f"--workdir={tmp_path / 'w'}"]
    out = _run([*common, "--head_shards=on", "--head=softmax"], tmp_path)
    assert out.returncode == 1 and "--head_shards=on: --head=softmax is not a normalised margin" in out.stderr
    out = _run([*common, "--head_shards=off", "--sample_rate=0.5"], tmp_path)
    assert out.returncode == 1 and "--sample_rate=0.5 samples the classes of a sharded head" in out.stderr
    out = _run([*common, "--sample_rate=0.5", "--discface_lambda=0.1"], tmp_path)
    assert out.returncode == 1 and "needs the sharded head, and --discface_lambda" in out.stderr
    out = _run([*common, "--head_shards=on", "--optimizer=adam"], tmp_path)
    assert out.returncode == 1 and "--optimizer=adam: the shards' own update is SGD's" in out.stderr
    out = _run([a for a in common if not a.startswith("--embedding_size")] + ["--head_shards=on", "--method=ftl"],
               tmp_path)
    assert out.returncode == 1 and "--head_shards=on" in out.stderr and "not read by --method=ftl" in out.stderr
