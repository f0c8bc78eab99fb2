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


def _train(tmp_path, *args):
    return subprocess.run([sys.executable, str(REPO / "train.py"), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)


def test_a_method_defined_outside_the_package_trains_exports_and_evaluates(tiny_synth, tmp_path):
    """tests/toy_method.py declares its own section (toy_smoothing, and toy_projection, structural): its flags,
    checks, config.json section and resume comparison come from that declaration, with no edit under tfface/."""
    work, toy = tmp_path / "toy", f"--imports={REPO / 'tests' / 'toy_method.py'}"
    common = [toy, "--method=toy_label_smoothing", "--data=list", f"--list_file={tiny_synth / 'meta.csv'}",
              f"--eval_pairs={tiny_synth / 'pairs.csv'}", "--image_size=32", "--embedding_size=16",
              "--batch_size=16", "--warmup_steps=1", "--log_every=2", f"--workdir={work}", "--toy_smoothing=0.2",
              "--toy_projection=8"]
    run = _train(tmp_path, *common, "--steps=4")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "toy method: label smoothing 0.2, projection 8" in run.stdout and "smoothed_ce" in run.stdout
    saved = json.loads((work / "config.json").read_text())
    assert saved["user_modules"]["imports"] == [str(REPO / "tests" / "toy_method.py")]
    assert saved["toy"] == {"smoothing": 0.2, "projection": 8}
    # resumed with more steps; a changed structural setting of its own is refused, before anything is written
    again = _train(tmp_path, *common, "--steps=6")
    assert again.returncode == 0 and "resumed from" in again.stdout, again.stderr[-3000:]
    assert "step 6/6" in again.stdout and "step 1/" not in again.stdout
    changed = _train(tmp_path, *common[:-1], "--toy_projection=4", "--steps=8")
    assert changed.returncode == 1 and "--toy_projection 8 → 4" in changed.stderr, changed.stderr[-2000:]
    assert json.loads((work / "config.json").read_text()) == {**saved, "loop": {**saved["loop"], "steps": 6}}
    # its settings are checked, listed in --helpfull, and refused when another method is run
    bad = _train(tmp_path, toy, "--method=toy_label_smoothing", "--toy_smoothing=2", f"--workdir={tmp_path / 'b'}")
    assert bad.returncode == 1 and "--toy_smoothing=2 must be in [0, 1]" in bad.stderr, bad.stderr[-2000:]
    helpfull = _train(tmp_path, toy, "--helpfull")
    assert "--toy_projection" in helpfull.stdout and "label smoothing" in helpfull.stdout
    other = _train(tmp_path, toy, "--toy_smoothing=0.3", f"--workdir={tmp_path / 'o'}")
    assert other.returncode == 1 and ("--toy_smoothing=0.3 is not read by --method=standard (read by "
                                      "--method=toy_label_smoothing)") in other.stderr, other.stderr[-2000:]
    assert not (tmp_path / "b").exists() and not (tmp_path / "o").exists()
    report = json.loads((work / "eval.json").read_text())  # of the resumed run's 6 steps
    # evaluate.py --checkpoint rebuilds the toy method's embedder from config.json's imports, once the user
    # allows the code the workdir names to run (it used to import and run it without a word)
    check = [sys.executable, str(REPO / "evaluate.py"), f"--checkpoint={work}",
             f"--eval_pairs={tiny_synth / 'pairs.csv'}", f"--out={tmp_path / 'ev'}"]
    ev = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ev.returncode == 1 and f"error: {work / 'config.json'} names Python code to import" in ev.stderr and \
        "--trust_imports" in ev.stderr, ev.stderr[-3000:]
    assert not (tmp_path / "ev").exists()
    ev = subprocess.run([*check, "--trust_imports"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ev.returncode == 0, ev.stderr[-3000:]
    assert f"importing {REPO / 'tests' / 'toy_method.py'} (named by {work / 'config.json'})" in ev.stdout
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
