"""Flags -> RunConfig (sections per concern and method) -> config.json -> RunConfig; recipes; flag ↔ setting."""

import dataclasses
import json

import pytest
from absl import flags as absl_flags
from conftest import train_config

import tfface.flags.evaluation  # noqa: F401
import tfface.flags.training  # noqa: F401
from tfface.config import DDLSettings, EvaluateConfig, RunConfig
from tfface.errors import ConfigError


def test_flags_land_in_their_sections_and_config_json_reads_back():
    cfg = train_config("--ms_beta=7", "--triplet_mining=semi_hard", "--lr_boundaries=10,20", "--batch_size=32",
                       "--ddl_bins=51", "--ddl_abs=false", "--data=list", "--data_root=/x", "--discface_lambda=0.2",
                       "--feature_transform=sft", "--ftl_alpha_recon=0.5", "--eval_every=3", "--head=cosface")
    assert cfg.metric.ms_beta == 7.0 and cfg.metric.triplet_mining == "semi_hard"
    assert cfg.optim.lr_boundaries == (10, 20) and cfg.optim.batch_size == 32
    assert (cfg.ddl.bins, cfg.ddl.use_abs, cfg.data.source, cfg.data.root) == (51, False, "list", "/x")
    assert (cfg.discface.weight, cfg.sft.transform, cfg.ftl.alpha_recon, cfg.eval.every) == (0.2, "sft", 0.5, 3)
    assert cfg.model.head == "cosface" and cfg.setting("head") == "cosface" and cfg.setting("ddl_abs") is False
    saved = json.loads(json.dumps({**cfg.to_dict(), "num_classes": 5}))
    assert saved["ddl"]["bins"] == 51 and saved["optim"]["lr_boundaries"] == [10, 20]
    assert RunConfig.from_dict(saved) == cfg


def test_replace_and_of_speak_flag_names():
    cfg = RunConfig.of(steps=20, ddl_bins=5, data="list", loss="ms")
    assert (cfg.optim.steps, cfg.ddl.bins, cfg.data.source, cfg.loss) == (20, 5, "list", "ms")
    assert cfg.replace(ddl=DDLSettings()).ddl.bins == 101 and cfg.replace(ddl_gamma=2.0).ddl.bins == 5
    assert cfg.changed(["steps", "lr", "ddl_bins", "ddl_gamma"]) == ["steps", "ddl_bins"]
    assert cfg.section_flags("ddl")[:2] == ["ddl_attribute", "ddl_abs"]
    with pytest.raises(ConfigError, match="`bins` is not a setting"):
        cfg.replace(bins=3)


def test_a_config_json_of_the_flat_era_still_reads():
    """Runs written before the sections existed saved every setting at the top, by flag name."""
    flat = {"data": "list", "list_file": "a.csv", "head": "cosface", "steps": 7, "ddl_ranges": ["0:1", "2:3"],
            "lr_boundaries": [3], "metric": {"ms_beta": 40}, "feature_transform": "sft", "num_classes": 3}
    cfg = RunConfig.from_dict(flat)
    assert (cfg.data.source, cfg.data.list_file, cfg.model.head, cfg.optim.steps) == ("list", "a.csv", "cosface", 7)
    assert cfg.ddl.ranges == ("0:1", "2:3") and cfg.optim.lr_boundaries == (3,) and cfg.metric.ms_beta == 40.0
    assert cfg.sft.transform == "sft"


def test_a_recipe_sets_what_it_names_and_command_line_flags_override_it(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"description": "a comment", "head": "cosface", "margin": 0.35, "steps": 7, "lr": 1,
                                  "ms_beta": 40, "lr_boundaries": [3, 5], "ddl": {"bins": 51}}))
    cfg = train_config(f"--config={recipe}", "--steps=9", "--ms_alpha=3")
    assert (cfg.model.head, cfg.model.margin, cfg.optim.steps, cfg.optim.lr) == ("cosface", 0.35, 9, 1.0)
    assert cfg.optim.lr_boundaries == (3, 5) and cfg.ddl.bins == 51
    assert isinstance(cfg.optim.lr, float) and cfg.metric.ms_beta == 40 and cfg.metric.ms_alpha == 3.0
    assert cfg.replace(head="arcface", margin=0.5, steps=1500, lr=0.1, lr_boundaries=(), ms_beta=50.0, ms_alpha=2.0,
                       ddl_bins=101) == RunConfig()  # nothing else moved off its default


def test_a_runs_config_json_reproduces_its_config(tmp_path):
    run = RunConfig.of(head="cosface", loss="ms+head", sampler="pk", feature_transform="sft", ddl_ranges=("0:1", "2:3"),
                       lr_boundaries=(10, 20), workdir=str(tmp_path / "old"), imports=("x.py",), ms_beta=7.0)
    (tmp_path / "config.json").write_text(json.dumps({**run.to_dict(), "num_classes": 5}))
    again = train_config(f"--config={tmp_path / 'config.json'}", f"--workdir={tmp_path / 'new'}")
    assert again == run.replace(workdir=str(tmp_path / "new"))


def test_bad_recipes_name_the_file_and_the_setting(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"heda": "cosface", "steps": 3}))
    with pytest.raises(ConfigError, match=r"`config=.*bad.json`: heda is not a setting"):
        train_config(f"--config={bad}")
    bad.write_text(json.dumps({"ddl": {"binz": 3}}))
    with pytest.raises(ConfigError, match=r"ddl.binz is not a setting"):
        train_config(f"--config={bad}")
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        train_config(f"--config={bad}")
    with pytest.raises(ConfigError, match="file not found"):
        train_config(f"--config={tmp_path / 'missing.json'}")


def _train_flags() -> dict:
    """train.py's flags: those of tfface.flags (not absl's own, not evaluate.py's tfface.flags.evaluate)."""
    fv = absl_flags.FLAGS
    return {name: fv[name] for name, module in
            ((n, m) for m, flags_of in fv.flags_by_module_dict().items() for n in (f.name for f in flags_of))
            if module.startswith("tfface.flags.") and module != "tfface.flags.evaluate"}


def test_every_flag_is_one_setting_with_its_default_and_every_setting_a_flag():
    flags_ = _train_flags()
    paths = RunConfig.flag_paths()
    assert set(flags_) - {"config"} == set(paths), set(flags_) ^ set(paths)
    defaults = RunConfig()
    for name in paths:
        flag = flags_[name].default
        assert (tuple(flag) if isinstance(flag, list) else flag) == defaults.setting(name), name
    # every field of every section is reached by exactly one flag
    fields = [(s, f.name) for s, kind in RunConfig.sections().items() for f in dataclasses.fields(kind)]
    fields += [(None, f.name) for f in dataclasses.fields(RunConfig) if f.name not in RunConfig.sections()]
    reached = [(s, f.name) for s, f in paths.values()]
    assert sorted(reached, key=str) == sorted(fields, key=str)


def test_every_evaluate_flag_is_one_setting_with_its_default():
    fv = absl_flags.FLAGS
    modules = ("tfface.flags.eval", "tfface.flags.evaluate", "tfface.flags.imports")
    flags_ = {f.name: f for m, of in fv.flags_by_module_dict().items() if m in modules for f in of}
    paths = EvaluateConfig.flag_paths()
    assert set(flags_) == set(paths), set(flags_) ^ set(paths)
    defaults = EvaluateConfig()
    for name in paths:
        flag = flags_[name].default
        assert (tuple(flag) if isinstance(flag, list) else flag) == defaults.setting(name), name
    fv.unparse_flags()
    fv(["evaluate.py", "--model=m", "--ida_k=5", "--score=ida_r", "--gallery_per_id=2", "--eval_root=r"])
    try:
        cfg = EvaluateConfig.from_flags(fv)
    finally:
        fv.unparse_flags()
    assert (cfg.model, cfg.ida.k, cfg.score, cfg.lists.gallery_per_id, cfg.eval.root) == ("m", 5, "ida_r", 2, "r")
    assert cfg.out_dir() == "." and cfg.out_dir("tflite") == "./tflite" and cfg.replace(out="o").out_dir("x") == "o"
