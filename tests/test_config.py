"""Settings declared once: flags → RunConfig (sections) → config.json → RunConfig; recipes; flag ↔ declaration."""

import json

import pytest
import tfface.flags.evaluation  # noqa: F401
import tfface.flags.training  # noqa: F401
from absl import flags as absl_flags
from conftest import train_config
from tfface.flags import define

from tfface.config import EvaluateConfig, RunConfig
from tfface.errors import ConfigError
from tfface.methods.ddl import DDLSettings
from tfface.settings import SECTIONS, declarations


def test_flags_land_in_their_sections_and_config_json_reads_back():
    cfg = train_config("--ms_beta=7", "--triplet_mining=semi_hard", "--lr_boundaries=10,20", "--batch_size=32",
                       "--ddl_bins=51", "--ddl_abs=false", "--data=list", "--data_root=/x", "--discface_lambda=0.2",
                       "--feature_transform=sft", "--ftl_alpha_recon=0.5", "--eval_every=3", "--head=cosface")
    assert cfg.metric.ms_beta == 7.0 and cfg.metric.triplet_mining == "semi_hard"
    assert cfg.optim.lr_boundaries == (10, 20) and cfg.loop.batch_size == 32
    assert (cfg.ddl.bins, cfg.ddl.use_abs, cfg.data.source, cfg.data.root) == (51, False, "list", "/x")
    assert (cfg.discface.weight, cfg.sft.transform, cfg.ftl.alpha_recon, cfg.eval_every) == (0.2, "sft", 0.5, 3)
    assert cfg.head.kind == "cosface" and cfg.setting("head") == "cosface" and cfg.setting("ddl_abs") is False
    saved = json.loads(json.dumps({**cfg.to_dict(), "num_classes": 5}))
    assert saved["ddl"]["bins"] == 51 and saved["optim"]["lr_boundaries"] == [10, 20]
    assert RunConfig.from_dict({k: v for k, v in saved.items() if k != "num_classes"}) == cfg


def test_replace_and_of_speak_flag_names():
    cfg = RunConfig.of(steps=20, ddl_bins=5, data="list", loss="ms")
    assert (cfg.loop.steps, cfg.ddl.bins, cfg.data.source, cfg.loss) == (20, 5, "list", "ms")
    assert cfg.replace(ddl=DDLSettings()).ddl.bins == 101 and cfg.replace(ddl_gamma=2.0).ddl.bins == 5
    assert cfg.changed(["steps", "lr", "ddl_bins", "ddl_gamma"]) == ["steps", "ddl_bins"]
    assert cfg.section_flags("ddl")[:2] == ["ddl_attribute", "ddl_abs"]
    assert sorted(cfg.given()) == ["data", "ddl_bins", "loss", "steps"]
    with pytest.raises(ConfigError, match="`bins` is not a setting"):
        cfg.replace(bins=3)


def test_the_data_source_follows_the_paths_given():
    assert RunConfig().data.kind == "synthfaces"
    assert RunConfig.of(list_file="a.csv", data_root="r").data.kind == "list"
    assert RunConfig.of(data_root="r").data.kind == "folder"
    assert RunConfig.of(tfrecords="t-*.tfrecord").data.kind == "tfrecord"
    assert RunConfig.of(rec="ms1m/train.rec").data.kind == "mxrec"
    with pytest.raises(ConfigError, match="`tfrecords` and `list_file` name two training sets"):
        RunConfig.of(list_file="a.csv", tfrecords="t").validate()
    with pytest.raises(ConfigError, match="`rec` and `list_file` name two training sets"):
        RunConfig.of(list_file="a.csv", rec="train.rec").validate()


def test_a_config_json_of_the_flat_era_still_reads():
    """Runs written before the sections existed saved every setting at the top, by flag name."""
    flat = {"data": "list", "list_file": "a.csv", "head": "cosface", "steps": 7, "ddl_ranges": ["0:1", "2:3"],
            "lr_boundaries": [3], "metric": {"ms_beta": 40}, "feature_transform": "sft"}
    cfg = RunConfig.from_dict(flat)
    assert (cfg.data.source, cfg.data.list_file, cfg.head.kind, cfg.loop.steps) == ("list", "a.csv", "cosface", 7)
    assert cfg.ddl.ranges == ("0:1", "2:3") and cfg.optim.lr_boundaries == (3,) and cfg.metric.ms_beta == 40.0
    assert cfg.sft.transform == "sft"


def test_a_config_json_of_the_previous_sections_still_reads():
    """Runs written before the settings moved to their components' sections (the head in `model`, the steps in
    `optim`, the in-training evaluation in `eval`) read back into the new sections; a recipe may not do that."""
    older = {"method": "standard", "model": {"backbone": "small_cnn", "head": "cosface", "scale": 30.0,
                                             "head_shards": "off", "init_checkpoint": None},
             "optim": {"steps": 7, "batch_size": 32, "lr": 0.5}, "eval": {"every": 3, "flip": False}}
    cfg = RunConfig.from_dict(older)
    assert (cfg.head.kind, cfg.head.scale, cfg.sharding.head_shards) == ("cosface", 30.0, "off")
    assert (cfg.loop.steps, cfg.loop.batch_size, cfg.optim.lr, cfg.eval_every, cfg.eval.flip) == (7, 32, 0.5, 3, False)
    with pytest.raises(ConfigError, match=r"model.head \(`head` is a setting of section 'head'\)"):
        RunConfig.from_dict(older, source="recipe.json")


def test_a_recipe_sets_what_it_names_and_command_line_flags_override_it(tmp_path):
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"description": "a comment", "head": "cosface", "margin": 0.35, "steps": 7, "lr": 1,
                                  "ms_beta": 40, "lr_boundaries": [3, 5], "ddl": {"bins": 51}}))
    cfg = train_config(f"--config={recipe}", "--steps=9", "--ms_alpha=3")
    assert (cfg.head.kind, cfg.head.margin, cfg.loop.steps, cfg.optim.lr) == ("cosface", 0.35, 9, 1.0)
    assert cfg.optim.lr_boundaries == (3, 5) and cfg.ddl.bins == 51
    assert isinstance(cfg.optim.lr, float) and cfg.metric.ms_beta == 40 and cfg.metric.ms_alpha == 3.0
    assert cfg.replace(head="arcface", margin=0.5, steps=1500, lr=0.1, lr_boundaries=(), ms_beta=50.0, ms_alpha=2.0,
                       ddl_bins=101) == RunConfig()  # nothing else moved off its default


def test_a_runs_config_json_reproduces_its_config(tmp_path):
    run = RunConfig.of(head="cosface", loss="ms+head", sampler="pk", feature_transform="sft", ddl_ranges=("0:1", "2:3"),
                       lr_boundaries=(10, 20), workdir=str(tmp_path / "old"), ms_beta=7.0)
    (tmp_path / "config.json").write_text(json.dumps({**run.to_dict(), "num_classes": 5, "head_sharded": False}))
    again = train_config(f"--config={tmp_path / 'config.json'}", f"--workdir={tmp_path / 'new'}")
    assert again == run.replace(workdir=str(tmp_path / "new"))


def test_bad_recipes_name_the_file_and_the_setting(tmp_path):
    bad = tmp_path / "bad.json"
    cases = [({"heda": "cosface", "steps": 3}, r"`config=.*bad.json`: heda is not a setting"),
             ({"ddl": {"binz": 3}}, r"ddl.binz is not a setting"),
             ({"ddl": {"lr": 0.1}}, r"ddl.lr \(`lr` is a setting of section 'optim'\) is not a setting"),
             ({"steps": "many"}, r"`config=.*bad.json`: `steps=many` must be a whole number"),
             ({"flip": 1}, r"`flip=1` must be true or false"),
             ({"lr_boundaries": ["abc"]}, r"`lr_boundaries=abc` must be whole numbers")]
    for raw, message in cases:
        bad.write_text(json.dumps(raw))
        with pytest.raises(ConfigError, match=message):
            train_config(f"--config={bad}")
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        train_config(f"--config={bad}")
    with pytest.raises(ConfigError, match="file not found"):
        train_config(f"--config={tmp_path / 'missing.json'}")


def _flags_of(modules_prefixes) -> dict:
    fv = absl_flags.FLAGS
    return {f.name: f for m, of in fv.flags_by_module_dict().items() if m.startswith(modules_prefixes) for f in of}


@pytest.mark.parametrize("kind", [RunConfig, EvaluateConfig])
def test_every_setting_is_one_flag_made_from_its_declaration(kind):
    """The flags are generated: each has its setting's default, help, choices and the declaring module."""
    fv = absl_flags.FLAGS
    for program in ("train", "evaluate"):
        define(program)  # as the programs do after --imports (another test may have imported a section since)
    declared = kind.declarations()
    assert len(declared) > 30
    for flag, d in declared.items():
        assert flag in fv, flag
        f = fv[flag]
        assert (tuple(f.default) if isinstance(f.default, list) else f.default) == d.default, flag
        assert f.help.endswith(d.help) and d.help, flag  # (enum flags put their choices first)
        if d.choices and d.kind == "str":
            assert list(f.parser.enum_values) == list(d.choices), flag
        assert f in fv.flags_by_module_dict()[d.module], f"{flag} is listed under {d.module} in --helpfull"
    # and no tfface flag stands without a declaration (but --config, which names a recipe)
    ours = {n for m, of in fv.flags_by_module_dict().items() if m.startswith("tfface") for n in (f.name for f in of)}
    assert ours - set(declarations("train")) - set(declarations("evaluate")) == {"config"}


def test_every_section_is_declared_once_beside_its_code():
    modules = {name: c.__module__ for name, c in SECTIONS.items()}
    assert modules["ddl"] == "tfface.methods.ddl" and modules["data"] == "tfface.data.build"
    assert modules["head"] == "tfface.heads.classifier" and modules["optim"] == "tfface.training.optim"
    assert all(not m.startswith(("tfface.config", "tfface.flags")) for m in modules.values())


def test_evaluate_settings_from_flags():
    fv = absl_flags.FLAGS
    fv.unparse_flags()
    fv(["evaluate.py", "--model=m", "--ida_k=5", "--score=ida_r", "--gallery_per_id=2", "--eval_root=r"])
    try:
        cfg = EvaluateConfig.from_flags(fv)
    finally:
        fv.unparse_flags()
    assert (cfg.model, cfg.ida.k, cfg.score, cfg.lists.gallery_per_id, cfg.eval.root) == ("m", 5, "ida_r", 2, "r")
    assert cfg.out_dir() == "." and cfg.out_dir("tflite") == "./tflite" and cfg.replace(out="o").out_dir("x") == "o"


def test_the_recipe_schema_is_generated_from_the_declarations():
    schema = RunConfig.schema()
    props = schema["properties"]
    assert props["steps"]["type"] == "integer" and props["steps"]["minimum"] == 1
    assert props["sampler"]["enum"] == ["uniform", "balanced", "pk"]
    flag, section = props["head"]["anyOf"]  # `head` names a setting and a section
    assert flag["enum"] == ["softmax", "normface", "cosface", "arcface", "combined"]
    assert "margin" in section["properties"]
    assert props["ddl"]["properties"]["bins"]["default"] == 101 and schema["additionalProperties"] is False
    assert set(props) - {"description"} == set(RunConfig.declarations()) | {
        n for n, c in SECTIONS.items() if "train" in c.PROGRAMS}
