"""A setting the run would not read stops it at once, before anything is written or rendered, with a message
naming the setting, why, and what would read it (the cases a user met, each)."""

import dataclasses
import subprocess
import sys

import pytest
from conftest import REPO

from tfface.config import RunConfig
from tfface.errors import ConfigError, DataError
from tfface.programs.training import train


def _refused(tmp_path, **settings) -> str:
    work, cache = tmp_path / "w", tmp_path / "cache"
    with pytest.raises(ConfigError) as err:
        train(RunConfig.of(workdir=str(work), cache_dir=str(cache), **settings), printer=lambda s: None)
    assert not work.exists() and not cache.exists()  # nothing written, nothing rendered
    return str(err.value)


def test_ddl_refuses_the_standard_programs_losses_and_terms(tmp_path):
    msg = _refused(tmp_path, method="ddl", init_checkpoint="runs/arcface", loss="triplet+head", discface_lambda=0.5,
                   feature_transform="sft")
    assert "are not read by `method=ddl`: DDL trains its margin head with the DDL term" in msg
    assert all(s in msg for s in ("`loss=triplet+head`", "`discface_lambda=0.5`", "`feature_transform=sft`"))
    assert "(read by `method=standard`)" in msg and "init_checkpoint" not in msg  # DDL reads that one


@pytest.mark.parametrize("settings,message", [
    ({"ftl_alpha_reg": 0.9}, "`ftl_alpha_reg=0.9` is not read by `method=standard` (read by `method=ftl`)"),
    ({"ddl_gamma": 1000.0}, "`ddl_gamma=1000` is not read by `method=standard` (read by `method=ddl`)"),
    ({"discface_num_bases": 4}, "`discface_num_bases=4` is not read: DiscFace is off (`discface_lambda=0`)"),
    ({"sft_lambda": 0.9}, "`sft_lambda=0.9` is not read: SFT is off (`feature_transform=none`)"),
    ({"pk_k": 8}, "`pk_k=8` is not read: it shapes `sampler=pk`, not `sampler=uniform`"),
    ({"lr_boundaries": (10,)}, "`lr_boundaries=10` is not read: it shapes `lr_schedule=piecewise`"),
    ({"optimizer": "adam", "momentum": 0.5}, "`momentum=0.5` is not read: `optimizer=adam` has no momentum"),
    ({"ms_beta": 40.0}, "`ms_beta=40` is not read: it is a setting of the ms loss, which neither `loss` nor"),
    ({"head": "softmax", "margin": 0.3}, "`margin=0.3` is not read: `head=softmax` has no margin"),
    ({"list_file": "a.csv", "data": "synthfaces"}, "`list_file=a.csv` is not read: the training data is "
                                                    "`data=synthfaces` (give `data=list`, or leave `data` out)"),
])
def test_the_standard_program_refuses_what_it_would_not_read(tmp_path, settings, message):
    assert message in _refused(tmp_path, **settings)


@pytest.mark.parametrize("settings,message", [
    ({"margin": 0.3}, "`margin=0.3` is not read by `method=ftl`: `ftl_head=softmax` has no margin"),
    ({"scale": 10.0}, "`scale=10` is not read by `method=ftl`: `ftl_head=softmax` has no scale"),
    ({"ftl_pose_threshold": 3.0}, "`ftl_pose_threshold=3` is not read: it bounds the `ftl_pose_attribute` column"),
    ({"ftl_pca_components": 5, "ftl_pca_energy": 0.9}, "`ftl_pca_energy=0.9` is not read: `ftl_pca_components=5` "
                                                       "fixes the PCA basis's size"),
    ({"lr": 0.01}, "`lr=0.01` is not read by `method=ftl`: FTL is its own program"),
    ({"embedding_size": 64}, "`embedding_size=64` is not read by `method=ftl`: FTL's features are `ftl_rich_dim`"),
])
def test_ftl_refuses_what_it_would_not_read(tmp_path, settings, message):
    assert message in _refused(tmp_path, method="ftl", **settings)


def test_ftl_reads_the_margins_of_a_margin_head(tmp_path):
    """With `ftl_head=cosface` the scale and margin are FTL's classifier's: read, not refused (the run then stops
    on its missing list file, past the settings)."""
    with pytest.raises(DataError, match="nope.csv"):
        train(RunConfig.of(method="ftl", ftl_head="cosface", margin=0.3, scale=10.0, ftl_alpha_reg=0.0,
                           list_file=str(tmp_path / "nope.csv"), workdir=str(tmp_path / "w")), printer=lambda s: None)


def test_ftl_stage_one_reads_the_augmentation(tiny_source, monkeypatch):
    """FTL's stage-1 batches go through the run's augmentation (they dropped it before)."""
    import numpy as np

    from tfface.data import pipeline
    from tfface.data.build import train_input
    from tfface.methods import ftl
    from tfface.transforms.ftl import FTLStats

    cfg = RunConfig.of(method="ftl", augment="medium", batch_size=4, image_size=32)
    stats = FTLStats(np.zeros((tiny_source.num_classes, 2)), np.eye(2), np.arange(8), 1.0)
    regular = np.arange(tiny_source.num_classes) % 2 == 0
    seen, real = [], pipeline.train_dataset
    monkeypatch.setattr(pipeline, "train_dataset", lambda src, spec, start, ctx: seen.append(spec) or real(
        src, spec, start, ctx))
    ftl.stage1_dataset(tiny_source, stats, regular, cfg)(0, None)
    assert [s.augment for s in seen] == [train_input(cfg).augment] * 2 and seen[0].augment.active
    assert dataclasses.replace(seen[0], sampler="uniform") == seen[0]


def test_a_list_file_selects_the_list_source(tmp_path):
    """`--list_file` with `--data_root` and no `--data` trains on the list (before, SynthFaces was rendered)."""
    cfg = RunConfig.of(list_file="faces.csv", data_root="faces")
    assert cfg.data.kind == "list"
    with pytest.raises(DataError, match="faces.csv"):
        train(cfg.replace(workdir=str(tmp_path / "w"), list_file=str(tmp_path / "faces.csv")), printer=lambda s: None)


def test_the_program_names_the_flags(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "train.py"), "--method=ddl", "--loss=triplet+head",
                          f"--workdir={tmp_path / 'w'}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and "error: --loss=triplet+head is not read by --method=ddl" in out.stderr
    assert not (tmp_path / "w").exists()


def test_a_flagfile_line_without_dashes_is_refused_not_dropped(tmp_path):
    (tmp_path / "train.txt").write_text("--steps=2\nlr=0.5\n# a comment\n")
    (tmp_path / "evaluate.txt").write_text("--eval_batch=8\nprotocol=all_pairs\n")
    for program, stray in (("train.py", "'lr=0.5'"), ("evaluate.py", "'protocol=all_pairs'")):
        flagfile = tmp_path / f"{program[:-3]}.txt"
        out = subprocess.run([sys.executable, str(REPO / program), f"--flagfile={flagfile}", "--model=m"
                              if program == "evaluate.py" else f"--workdir={tmp_path / 'w'}"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert out.returncode == 1 and stray in out.stderr and "not a flag" in out.stderr, out.stderr[-1000:]
    assert not (tmp_path / "w").exists()


def test_a_recipe_imports_its_modules_only_when_the_user_allows_it(tmp_path):
    # a --config recipe naming a Python file used to import (run) it without a word
    toy = REPO / "tests" / "toy_method.py"
    recipe = tmp_path / "recipe.json"
    recipe.write_text(f'{{"imports": ["{toy}"], "method": "toy_label_smoothing"}}')

    def train_py(*args):
        return subprocess.run([sys.executable, str(REPO / "train.py"), f"--config={recipe}", *args, "--helpfull"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)

    refused = train_py()
    assert refused.returncode == 1 and f"error: --config={recipe} names Python code to import ({toy})" in \
        refused.stderr and "--trust_imports" in refused.stderr, refused.stderr[-2000:]
    for allowed in (train_py("--trust_imports"), train_py(f"--imports={toy}")):
        assert allowed.returncode == 0 and "--toy_projection" in allowed.stdout, allowed.stderr[-2000:]
    assert f"importing {toy} (named by --config={recipe})" in train_py("--trust_imports").stdout
