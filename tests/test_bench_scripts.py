"""The scripts users with other hardware run must work: bench/gpu_check.sh in its CPU (--tiny) mode, and
bench/partial_fc.py at a small size."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO


def test_gpu_check_runs_tiny_on_the_cpu(tmp_path):
    out = subprocess.run(["bash", str(REPO / "bench" / "gpu_check.sh"), "--tiny", f"--out={tmp_path / 'g.json'}"],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHON": sys.executable})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "g.json").read_text())
    assert result["tiny"] and not result["gpu"] and len(result["rows"]) == 6
    assert {(r["precision"], r["steps_per_loop"]) for r in result["rows"][:4]} == {
        ("float32", 1), ("float32", 10), ("bf16", 1), ("bf16", 10)}
    assert [(r["head"], r["sample_rate"], r["classes"]) for r in result["rows"][4:]] == [
        ("sharded over 1", 1.0, 2000), ("sharded over 1", 0.1, 2000)]
    assert all(r["img_s"] > 0 for r in result["rows"])


def test_partial_fc_bench_runs_small(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "bench" / "partial_fc.py"), "--classes=500", "--dim=8",
                          "--steps=1", "--warmup=1", "--rates=0.5", f"--out={tmp_path / 'p.json'}"],
                         capture_output=True, text=True, timeout=600, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    runs = json.loads((tmp_path / "p.json").read_text())["runs"]
    assert [(r["head"], r["rate"], r["status"]) for r in runs] == [("full", 1.0, "ok"), ("sharded", 0.5, "ok")]
    assert all(r["peak_rss_gb_per_replica"] > 0.1 and r["step_s"] > 0 for r in runs)
    assert (tmp_path / "p.png").stat().st_size > 10_000


def real_recipe(tmp_path):
    """(run, stage): the real-face recipe bench in --quick mode, and a stage of it that must succeed."""
    data = REPO.parent / "shared" / "data"
    if not (data / "celeba" / "meta.csv").exists():
        pytest.skip(f"the shared research data is not beside the clone ({data})")

    def run(*flags):
        return subprocess.run([sys.executable, str(REPO / "bench" / "real_recipe.py"), "--quick", "--pairs=200",
                               f"--workdir={tmp_path / 'runs'}", f"--out={tmp_path / 'r.json'}", *flags],
                              capture_output=True, text=True, timeout=600, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO)})

    def stage(*flags):
        out = run(*flags)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads((tmp_path / "r.json").read_text())

    return run, stage


def head_aug_stage(stage) -> list[dict]:
    runs = stage("--stage=head_aug")["runs"]
    assert [r["settings"]["augment"] for r in runs] == ["none", "light"]
    assert all(0.3 < r["scores"]["celeba"]["accuracy"] < 1 and r["train_seconds"] > 0 for r in runs)
    assert all(r["train_end"]["step"] == 20 and 0 <= r["train_end"]["top1"] <= 1 and r["train_end"]["loss"] > 0
               for r in runs)
    return runs


@pytest.mark.slow  # five more runs of the bench, beside the first stage and the final comparison below
def test_real_recipe_quick_runs_the_middle_stages(tmp_path):
    _, stage = real_recipe(tmp_path)
    head_aug_stage(stage)
    backbone = [r for r in stage("--stage=backbone")["runs"] if r["stage"] == "backbone"]
    assert [(r["settings"]["backbone"], r["settings"]["augment"]) for r in backbone] == [("small_cnn", "none"),
                                                                                          ("small_cnn", "light")]
    families = [r for r in stage("--stage=families")["runs"] if r["stage"] == "families"]
    assert [{k: v for k, v in r["settings"].items() if k.startswith("aug_")} for r in families] == [
        {"aug_crop": 0.1}, {"aug_rotate": 5.0}]  # the light preset's first two families, each on its own
    schedule = [r for r in stage("--stage=schedule")["runs"] if r["stage"] == "schedule"]
    assert [(r["settings"].get("lr", 0.1), r["settings"].get("lr_schedule", "cosine")) for r in schedule] == [
        (0.1, "cosine"), (0.05, "cosine")]
    escape = [r for r in stage("--stage=escape")["runs"] if r["stage"] == "escape"]
    assert [(r["settings"].get("scale_warmup_steps", 0), r["settings"]["augment"]) for r in escape] == [
        (0, "none"), (0, "light"), (500, "none"), (500, "light")]


@pytest.mark.slow  # the reproduction benches' own check: 1–2 min each, run with -m slow
def test_real_recipe_quick_runs_a_stage_and_the_final_comparison(tmp_path):
    run, stage = real_recipe(tmp_path)
    runs = head_aug_stage(stage)
    assert (tmp_path / "r.png").stat().st_size > 10_000
    recipe = {**runs[1]["settings"]}
    result = stage("--stage=final", "--seeds=2", f"--recipe={json.dumps(recipe)}",
                   f"--write_config={tmp_path / 'recipe.json'}")
    final = [r for r in result["runs"] if r["stage"] == "final"]
    assert sorted((r["settings"]["augment"], r["seed"]) for r in final) == [("light", 0), ("light", 1), ("none", 0),
                                                                            ("none", 1)]
    v = result["verdict"]
    assert v["recipe"] == recipe and v["seeds"] == [0, 1]
    acc = {(r["settings"]["augment"], r["seed"]): r["scores"]["celeba"]["accuracy"] for r in final}
    gains = [acc["light", s] - acc["none", s] for s in (0, 1)]
    assert abs(v["accuracy"]["gain_mean"] - sum(gains) / 2) < 1e-9
    lo, hi = v["accuracy"]["gain_ci95"]
    assert lo <= v["accuracy"]["gain_mean"] <= hi
    spread = max(abs(acc["none", 0] - acc["none", 1]), abs(acc["light", 0] - acc["light", 1]))
    assert abs(v["accuracy"]["seed_spread"] - spread) < 1e-9
    assert v["accuracy"]["gain_exceeds_spread"] == (v["accuracy"]["gain_mean"] > spread)
    # the recipe as a train.py config: the verdict's settings as the sweep trained them
    from tfface.config import RunConfig

    assert json.loads((tmp_path / "recipe.json").read_text()) == v["config"]
    cfg = RunConfig.from_file(tmp_path / "recipe.json")
    assert all(cfg.setting(k) == value for k, value in recipe.items())
    assert (cfg.setting("batch_size"), cfg.setting("warmup_steps"), cfg.setting("lr")) == (64, 100, 0.1)
    other = run("--stage=final", "--seeds=2", f"--recipe={json.dumps({**recipe, 'augment': 'medium'})}")
    assert other.returncode != 0 and "already holds final runs of another recipe" in other.stderr, other.stderr[-2000:]


@pytest.mark.slow  # the reproduction benches' own check: 1–2 min each, run with -m slow
def test_reproduce_quick_runs_methods_with_paired_verdicts(tmp_path):
    def reproduce(*flags, timeout=900, stage="methods"):
        return subprocess.run([sys.executable, str(REPO / "bench" / "reproduce.py"), f"--stage={stage}", "--quick",
                               f"--workdir={tmp_path / 'runs'}", f"--out={tmp_path / 'r.json'}", *flags],
                              capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env={**os.environ, "PYTHONPATH": str(REPO), "TFFACE_CACHE": str(tmp_path / "cache")})

    out = reproduce("--methods=sft,ida")
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    arms = [(r["scenario"], r["arm"]) for r in result["runs"]]
    assert arms == [("longtail", "baseline"), ("longtail", "sft"), ("density", "baseline"), ("density", "ida")]
    runs = {r["arm"]: r for r in result["runs"]}
    assert runs["sft"]["settings"]["feature_transform"] == "sft" and runs["baseline"]["gap"]["value"] is not None
    assert set(runs["sft"]["scores"]["probes"]["rank1"]) == {"head", "tail"}
    assert runs["ida"]["scores"]["heldout_far"]["score"] == "ida_r"
    verdicts = {(v["method"], v["measure"]): v for v in result["verdicts"]}
    assert set(verdicts) == {("sft", "probes.rank1.tail"), ("sft", "verification.tar_at_far.0.01"),
                             ("ida", "heldout_far.unevenness_log10"), ("ida", "heldout_far.far_mean.family")}
    tail = verdicts["sft", "probes.rank1.tail"]
    assert tail["method_values"][0] == runs["sft"]["scores"]["probes"]["rank1"]["tail"]
    assert tail["difference"]["per_seed"] == [tail["method_values"][0] - tail["reference_values"][0]]
    assert tail["verdict"] == "inconclusive"  # one seed: no interval
    checks = reproduce("--methods=ida", stage="checks")  # IDA at other τ: the baseline's embeddings rescored
    assert checks.returncode == 0, checks.stderr[-2000:]
    result = json.loads((tmp_path / "r.json").read_text())
    taus = {r["arm"]: r["settings"]["ida_tau"] for r in result["runs"] if r["arm"].startswith("ida_tau_")}
    assert taus == {"ida_tau_2": 2.0, "ida_tau_4": 4.0, "ida_tau_8": 8.0}
    report = subprocess.run([sys.executable, str(REPO / "bench" / "reproduction_report.py"),
                             f"--results={tmp_path / 'r.json'}"], capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    md = (tmp_path / "reproduction.md").read_text()
    assert md.count("**inconclusive**") == 4 and "| longtail |" in md and "| density |" in md
    assert "| ida_tau_8 |" in md
    assert all((tmp_path / f"reproduction_{m}.png").stat().st_size > 10_000 for m in ("sft", "ida"))
    rerun = reproduce("--methods=sft", "--image_size=48", timeout=300)
    assert rerun.returncode != 0 and "run with other settings" in rerun.stderr  # not mixed into the comparison
    assert json.loads((tmp_path / "r.json").read_text())["runs"] == result["runs"]
    wall = json.loads((tmp_path / "runs" / "quick" / "budget.json").read_text())["wall_seconds"]
    assert set(wall) == {"methods", "checks"} and all(v > 0 for v in wall.values())  # the calls above, added up
    # a run's workdir left by other settings (an earlier version of an arm) is not reused as this arm's
    stale = reproduce("--methods=sft", "--image_size=48", f"--out={tmp_path / 'other.json'}", timeout=300)
    assert stale.returncode != 0 and "holds a run trained with other settings (image_size 32 → 48" in stale.stderr
    assert not (tmp_path / "other.json").exists()
    # a checkout without the runs' cache: a recorded baseline whose arm has not run is retrained for the arm
    shutil.rmtree(tmp_path / "runs")
    kept = {**result, "runs": [r for r in result["runs"] if r["arm"] != "ida"]}
    (tmp_path / "r.json").write_text(json.dumps(kept))
    again = reproduce("--methods=ida", timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    rerun_ida = [r for r in json.loads((tmp_path / "r.json").read_text())["runs"] if r["arm"] == "ida"]
    assert len(rerun_ida) == 1 and rerun_ida[0]["scores"]["heldout_far"]["score"] == "ida_r"
    assert (tmp_path / "runs" / "quick" / "density_baseline_seed-0" / "export" / "saved_model.pb").exists()


@pytest.mark.slow  # the reproduction benches' own check: 1–2 min each, run with -m slow
def test_reproduce_real_quick_runs_the_real_benches_into_the_report(tmp_path, shared_data):
    def reproduce_real(timeout: int) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(REPO / "bench" / "reproduce.py"), "--stage=real", "--quick",
                               "--methods=sft,ida", f"--workdir={tmp_path / 'runs'}",
                               f"--results_dir={tmp_path / 'res'}"], capture_output=True, text=True, timeout=timeout,
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})

    out = reproduce_real(900)
    assert out.returncode == 0, out.stderr[-2000:]
    real = tmp_path / "res" / "reproduction_real"
    summary = json.loads((real / "summary.json").read_text())
    assert [(v["method"], v["measure"]) for v in summary["verdicts"]] == [
        ("sft", "tail-class top-1 (%)"), ("sft", "open-set TAR@FAR=1e-2 (%)"), ("ida", "TAR@FAR=0.01 (%)"),
        ("ida", "TAR@FAR=0.001 (%)")]
    sft_runs = json.loads((real / "sft_seed-0.json").read_text())["runs"]
    assert summary["verdicts"][0]["method_values"] == [next(r["tail_acc"] for r in sft_runs if r["method"] == "sft")]
    assert set(summary["seconds"]) == {"sft_seed-0.json", "ida.json"}
    rounding = 0.05 * (len(summary["seconds"]) + 1)  # each figure is written to 0.1 s
    assert json.loads((tmp_path / "res" / "budget.json").read_text())["wall_seconds"]["real"] >= sum(
        summary["seconds"].values()) - rounding  # every bench call, and what the stage did around them
    again = reproduce_real(300)
    assert again.returncode == 0 and "[real]" not in again.stdout  # the seeds done are not run again
    shutil.copy(REPO / "bench" / "results" / "reproduction.json", tmp_path / "r.json")  # the committed scenarios
    report = subprocess.run([sys.executable, str(REPO / "bench" / "reproduction_report.py"),
                             f"--results={tmp_path / 'r.json'}", f"--real={real / 'summary.json'}"],
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-2000:]
    md = (tmp_path / "reproduction.md").read_text()
    assert md.count("| real faces |") == 4 and "paired bootstrap over the pairs" in md


@pytest.mark.slow  # trains for 30 steps; the committed numbers come from its full run
def test_align_celeba_raw_quick_compares_chips_and_raw_photos(tmp_path, shared_data):
    pytest.importorskip("dlib", reason="alignment needs dlib: pip install 'tfface[align]'")
    out = subprocess.run([sys.executable, str(REPO / "bench" / "align_celeba_raw.py"), "--quick",
                          f"--out={tmp_path / 'a.json'}"], capture_output=True, text=True, timeout=900,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["fidelity"]["faces_found_as_reference"] == 146 and report["fidelity"]["compared"] == 143
    assert report["verification"]["pairs"] == 143 * 142 // 2
    assert report["verification"]["score_correlation"] > 0.99  # aligning the raw photos ≈ the reference chips
    assert (tmp_path / "a.png").stat().st_size > 0
