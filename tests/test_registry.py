"""Methods are looked up by name: the built-in ones, and one defined outside tfface (tests/toy_method.py)."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

from tfface.config import RunConfig
from tfface.errors import ConfigError
from tfface.registry import Registry, import_modules


def test_registry_refuses_a_taken_name_and_names_the_choices():
    reg = Registry("thing", "thing")
    reg.register("a", 1)
    reg.register("a", 1)  # the same part again (a module imported twice) is fine
    with pytest.raises(ConfigError, match="'a' is registered twice"):
        reg.register("a", 2)
    with pytest.raises(ConfigError, match="`thing=b`: no such thing; choose a, or register"):
        reg.get("b")


def test_unknown_method_and_missing_import_get_clear_errors(tmp_path):
    from tfface.programs.training import train

    with pytest.raises(ConfigError, match="`method=nope`: no such method; choose ddl, ftl, standard"):
        train(RunConfig.of(method="nope", workdir=str(tmp_path)))
    with pytest.raises(ConfigError, match="`imports=.*missing.py`: file not found"):
        import_modules([str(tmp_path / "missing.py")])
    with pytest.raises(ConfigError, match="`imports=no_such_module_xyz`: no module 'no_such_module_xyz'"):
        import_modules(["no_such_module_xyz"])


def test_a_method_defined_outside_the_package_trains_exports_and_evaluates(tiny_synth, tmp_path):
    work = tmp_path / "toy"
    run = subprocess.run([sys.executable, str(REPO / "train.py"), f"--imports={REPO / 'tests' / 'toy_method.py'}",
                          "--method=toy_label_smoothing", "--data=list", f"--list_file={tiny_synth / 'meta.csv'}",
                          f"--eval_pairs={tiny_synth / 'pairs.csv'}", "--image_size=32", "--embedding_size=16",
                          "--batch_size=16", "--steps=4", "--warmup_steps=1", "--log_every=2", f"--workdir={work}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "toy method: label smoothing 0.1" in run.stdout and "smoothed_ce" in run.stdout
    report = json.loads((work / "eval.json").read_text())
    assert json.loads((work / "config.json").read_text())["imports"] == [str(REPO / "tests" / "toy_method.py")]
    # evaluate.py --checkpoint rebuilds the toy method's embedder from config.json's imports
    ev = subprocess.run([sys.executable, str(REPO / "evaluate.py"), f"--checkpoint={work}",
                         f"--eval_pairs={tiny_synth / 'pairs.csv'}", f"--out={tmp_path / 'ev'}"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert json.loads((tmp_path / "ev" / "eval.json").read_text())["auc"] == pytest.approx(report["auc"], abs=1e-3)
    # a protocol defined in the same outside file runs through evaluate.py by name
    evaluate = [sys.executable, str(REPO / "evaluate.py"), f"--imports={REPO / 'tests' / 'toy_method.py'}",
                f"--model={work / 'export'}"]
    ev = subprocess.run([*evaluate, "--protocol=toy_gap", f"--eval_pairs={tiny_synth / 'pairs.csv'}"],
                        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ev.returncode == 0, ev.stderr[-3000:]
    gap = json.loads(ev.stdout.strip().splitlines()[-1])
    assert gap["protocol"] == "toy_gap" and gap["pairs"] > 0 and -2 <= gap["gap"] <= 2
    ev = subprocess.run([*evaluate, "--protocol=toy_gap"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ev.returncode == 1 and "error: --protocol=toy_gap needs --eval_pairs." in ev.stderr, ev.stderr[-2000:]
    ev = subprocess.run([*evaluate, "--protocol=nope"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "error: --protocol=nope: no such protocol; choose all_pairs, discface, distractors, distribution" \
        in ev.stderr and "toy_gap" in ev.stderr, ev.stderr[-2000:]
