"""Flags -> RunConfig (including the nested metric-loss section) -> config.json -> RunConfig."""

import dataclasses
import json

import pytest
from absl import flags as absl_flags
from conftest import train_config

import tfface.flags.data  # noqa: F401
import tfface.flags.distribute  # noqa: F401
import tfface.flags.eval  # noqa: F401
import tfface.flags.evaluate  # noqa: F401
import tfface.flags.head  # noqa: F401
import tfface.flags.loss  # noqa: F401
import tfface.flags.method  # noqa: F401
import tfface.flags.model  # noqa: F401
import tfface.flags.train  # noqa: F401
from tfface.config import RunConfig
from tfface.errors import ConfigError


def test_flags_to_config_and_back():
    fv = absl_flags.FLAGS
    fv.unparse_flags()
    fv(["train.py", "--ms_beta=7", "--triplet_mining=semi_hard", "--lr_boundaries=10,20", "--batch_size=32"])
    try:
        cfg = RunConfig.from_flags(fv)
    finally:
        fv.unparse_flags()
    assert cfg.metric.ms_beta == 7.0 and cfg.metric.triplet_mining == "semi_hard"
    assert cfg.lr_boundaries == (10, 20) and cfg.batch_size == 32
    again = RunConfig.from_dict(json.loads(json.dumps({**dataclasses.asdict(cfg), "num_classes": 5})))
    assert again == cfg


def test_a_recipe_sets_what_it_names_and_command_line_flags_override_it(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"description": "a comment", "head": "cosface", "margin": 0.35, "steps": 7, "lr": 1,
                                  "ms_beta": 40, "lr_boundaries": [3, 5]}))
    cfg = train_config(f"--config={recipe}", "--steps=9", "--ms_alpha=3")
    assert (cfg.head, cfg.margin, cfg.steps, cfg.lr, cfg.lr_boundaries) == ("cosface", 0.35, 9, 1.0, (3, 5))
    assert isinstance(cfg.lr, float) and cfg.metric.ms_beta == 40 and cfg.metric.ms_alpha == 3.0
    assert cfg.replace(head="arcface", margin=0.5, steps=1500, lr=0.1, lr_boundaries=(), metric=RunConfig().metric) \
        == RunConfig()  # nothing else moved off its default


def test_a_runs_config_json_reproduces_its_config(tmp_path):
    run = RunConfig(head="cosface", loss="ms+head", sampler="pk", feature_transform="sft", ddl_ranges=("0:1", "2:3"),
                    lr_boundaries=(10, 20), workdir=str(tmp_path / "old"), imports=("x.py",))
    run = run.replace(metric=dataclasses.replace(run.metric, ms_beta=7.0))
    (tmp_path / "config.json").write_text(json.dumps({**dataclasses.asdict(run), "num_classes": 5}))
    again = train_config(f"--config={tmp_path / 'config.json'}", f"--workdir={tmp_path / 'new'}")
    assert again == run.replace(workdir=str(tmp_path / "new"))


def test_bad_recipes_name_the_file_and_the_setting(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"heda": "cosface", "steps": 3}))
    with pytest.raises(ConfigError, match=r"--config=.*bad.json: heda is not a setting"):
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


def test_every_flag_is_a_setting_with_the_same_default_and_every_setting_a_flag():
    flags_ = _train_flags()
    defaults = RunConfig()
    fields = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(RunConfig) if f.name != "metric"}
    fields.update({f.name: getattr(defaults.metric, f.name) for f in dataclasses.fields(defaults.metric)})
    not_settings = {"config"}
    assert set(flags_) - not_settings == set(fields), (set(flags_) ^ set(fields)) - not_settings
    for name, default in fields.items():
        flag = flags_[name].default
        if isinstance(default, tuple):
            flag = tuple(int(v) if name == "lr_boundaries" else v for v in (flag or ()))
        assert flag == default, (name, flag, default)
