"""Every bench script runs: each in a quick (tiny-size) mode, writing its result where the test says, so a change
that breaks a bench is caught here rather than by the next person who runs it. The four that take more than
about 20 s even when tiny are marked slow (run them with -m slow)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

TRAIN = "--steps=2,--synth_identities=20,--synth_heldout=10,--synth_max_images=8,--image_size=32,--batch_size=16," \
        "--embedding_size=16"
SLOW = pytest.mark.slow


def bench(script: str, *args, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([sys.executable, str(REPO / "bench" / script), *args], capture_output=True, text=True,
                         timeout=timeout, cwd=REPO, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _needs(shared_data, *names):
    for name in names:
        if not (shared_data / name).exists():
            pytest.skip(f"{shared_data / name} is absent (the research data kept beside the clone)")


def test_ida_search(tmp_path):
    bench("ida_search.py", "--queries=50", "--anchors=500", "--dims=16", f"--out={tmp_path / 'r.json'}")
    row = json.loads((tmp_path / "r.json").read_text())["rows"][0]
    assert row["topk_agreement"] == 1.0 and row["tfface_queries_per_s"] > 0  # the exact search agrees with faiss


def test_eval_speed(tmp_path):
    bench("eval_speed.py", "--pair_images=120", "--scores=20000", "--repeats=1", f"--out={tmp_path / 'r.json'}")
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["roc_15M"]["curves_agree"] and result["roc_15M"]["tar_at_far_agree"]
    assert [r["images"] for r in result["all_pairs"]] == [120]


def test_ftl_mlreg_toy(tmp_path):
    bench("ftl_mlreg_toy.py", "--steps=3", "--identities=3", f"--out={tmp_path / 'r.json'}")
    assert json.loads((tmp_path / "r.json").read_text())["steps"] == 3 and (tmp_path / "r.png").stat().st_size > 5_000


def test_discface_toy(tmp_path):
    bench("discface_toy.py", "--steps=20", f"--out={tmp_path}")
    result = json.loads((tmp_path / "discface_toy.json").read_text())
    assert set(result) == {"CosFace", "Cos-DiscFace"} and result["Cos-DiscFace"]["lambda"] == 0.2
    assert (tmp_path / "discface_toy.png").stat().st_size > 10_000


def test_main_job(tmp_path):
    bench("main_job.py", f"--train_args={TRAIN}", f"--out={tmp_path / 'r.json'}")
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["seconds"] > 0 and 0 <= result["accuracy"] <= 1 and result["train_args"][0] == "--steps=2"


def test_ida_real(tmp_path, shared_data):
    _needs(shared_data, "embeddings", "celeba")
    bench("ida_real.py", f"--data={shared_data}", "--ssr_steps=5", f"--out={tmp_path / 'r.json'}")
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["k"] == 10 and result["pairs"] and result["results"]


def test_ida_low_far(tmp_path, shared_data):
    _needs(shared_data, "embeddings", "celeba")
    bench("ida_low_far.py", f"--data={shared_data}", "--embeddings=dlib", "--folds=1", "--ssr_steps=5",
          "--bootstrap=5", f"--workdir={tmp_path / 'w'}", f"--out={tmp_path / 'r.json'}")
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["runs"] and result["images"] > 0 and (tmp_path / "r.png").exists()


def test_readme_tables_are_those_of_the_committed_results(tmp_path):
    copy = shutil.copy(REPO / "README.md", tmp_path / "README.md")
    subprocess.run([sys.executable, str(REPO / "bench" / "readme_tables.py"), str(copy)], check=True, timeout=120)
    assert (tmp_path / "README.md").read_text() == (REPO / "README.md").read_text()


def test_bad_inputs_runs_a_subset(tmp_path, shared_data):
    _needs(shared_data, "att")
    out = bench("bad_inputs.py", f"--data={shared_data}", "--cases=steps=0,missing list file",
                f"--out={tmp_path / 'b.json'}")
    cases = json.loads((tmp_path / "b.json").read_text())["cases"]
    assert set(cases) == {"steps=0", "missing list file"} and all(c["good"] for c in cases.values())
    assert "2 of 2 cases good" in out.stdout and (tmp_path / "b.md").exists()


def test_throughput(tmp_path):
    bench("throughput.py", "--configs=small_cnn:32:8", "--steps=1", "--rounds=1", "--classes=10",
          f"--out={tmp_path / 'r.json'}")
    row = json.loads((tmp_path / "r.json").read_text())["rows"][0]
    assert row["tfface_arcface_img_s"] > 0 and row["ratio"] > 0


def test_sft_overhead(tmp_path):
    bench("sft_overhead.py", "--configs=small_cnn:32:8:16", "--steps=1", "--rounds=1", "--classes=10",
          f"--out={tmp_path / 'r.json'}")
    assert json.loads((tmp_path / "r.json").read_text())["rows"]


@SLOW
def test_tflite_export(tmp_path):
    bench("tflite_export.py", f"--workdir={tmp_path / 'w'}", f"--train_args={TRAIN}", f"--out={tmp_path / 't.json'}")
    assert {"none", "saved_model"} <= set(json.loads((tmp_path / "t.json").read_text())["variants"])


@SLOW
def test_metric_losses(tmp_path, shared_data):
    _needs(shared_data, "celeba")
    bench("metric_losses.py", f"--celeba={shared_data / 'celeba'}", "--losses=triplet", "--steps=2",
          "--batch_size=16", f"--out={tmp_path / 'r.json'}")
    assert set(json.loads((tmp_path / "r.json").read_text())["results"]) == {"untrained", "triplet"}


@SLOW
def test_discface_longtail(tmp_path):
    bench("discface_longtail.py", "--dataset=synthfaces", "--seeds=0", "--steps=2", f"--out={tmp_path / 'r.json'}")
    assert json.loads((tmp_path / "r.json").read_text())["runs"]


@SLOW
def test_ddl_yaleb(tmp_path, shared_data):
    _needs(shared_data, "yaleb")
    bench("ddl_yaleb.py", f"--yaleb={shared_data / 'yaleb'}", "--seeds=0", "--pretrain_steps=2", "--finetune_steps=2",
          "--arms=arcface,ddl", f"--out={tmp_path / 'r.json'}")
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["arms"] == ["arcface", "ddl"] and result["runs"]
