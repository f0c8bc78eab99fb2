"""Every numeric setting declares a range and a run outside it stops before anything is written."""

import pathlib

import pytest

from tfface.config import EvaluateConfig, RunConfig
from tfface.errors import ConfigError, DataError

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind", [RunConfig, EvaluateConfig])
def test_every_numeric_setting_declares_a_range(kind):
    numeric = [f for f, d in kind.declarations().items() if d.kind in ("int", "float", "ints")]
    assert len(numeric) >= 10
    assert [f for f in numeric if kind.declarations()[f].limit is None] == []
    kind().validate()  # the defaults hold


def test_the_shipped_recipes_hold():
    for recipe in sorted((REPO / "configs").glob("*.json")):
        RunConfig.from_file(recipe).validate()


@pytest.mark.parametrize("setting,message", [
    ({"steps": -5}, "`steps=-5` must be ≥ 1"),
    ({"steps": 0}, "`steps=0` must be ≥ 1"),
    ({"batch_size": 0}, "`batch_size=0` must be ≥ 2"),
    ({"batch_size": -4}, "`batch_size=-4` must be ≥ 2"),
    ({"image_size": 0}, "`image_size=0` must be ≥ 8"),
    ({"lr": float("nan")}, "`lr=nan` must be > 0"),
    ({"lr_boundaries": (100, 0)}, "`lr_boundaries=100,0` must be ≥ 1"),
    ({"head": "arcface", "margin": 5.0}, "`margin=5` with `head=arcface` must be in \\[0, 1.5708\\)"),
    ({"head": "cosface", "margin": -2.0}, "`margin=-2` with `head=cosface` must be in \\[0, 1\\)"),
    ({"head": "combined", "m1": 0.5}, "`m1=0.5` with `head=combined` must be in \\[1, 4\\]"),
    ({"dropout": 1.0}, "`dropout=1` must be in \\[0, 1\\)"),
    ({"optimizer": "lamb"}, "`optimizer=lamb`: choose sgd, adam, adamw"),
])
def test_out_of_range_settings_are_refused(setting, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.of(**setting).validate()


def test_a_bad_integer_list_names_its_setting():
    with pytest.raises(ConfigError, match="`lr_boundaries=abc` must be whole numbers"):
        RunConfig.from_dict({"lr_boundaries": ["abc"]})


def test_evaluate_settings_are_checked():
    with pytest.raises(ConfigError, match="`ida_k=0` must be ≥ 1"):
        EvaluateConfig.of(ida_k=0).validate()


def test_a_single_identity_is_refused(tmp_path):
    from tfface.data.build import training_data

    (tmp_path / "one.csv").write_text("path,identity\na.png,x\nb.png,x\n")
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"")  # existence is checked before the identities are counted
    with pytest.raises(DataError, match="has 1 identity; training needs at least 2"):
        training_data(RunConfig.of(data="list", list_file=str(tmp_path / "one.csv")), log=lambda s: None)


def test_train_refuses_before_writing_anything(tmp_path):
    from tfface.programs.training import train

    with pytest.raises(ConfigError, match="`steps=-5`"):
        train(RunConfig.of(steps=-5, workdir=str(tmp_path / "w")))
    assert not (tmp_path / "w").exists()
