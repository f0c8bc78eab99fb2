"""Rerunning a workdir with other settings (issue 16.3): structural changes are refused before anything is
written, harmless ones are said."""

import json

import pytest

from tfface.config import RunConfig
from tfface.errors import ConfigError
from tfface.programs.training import train


def test_a_rerun_with_another_model_is_refused_and_a_harmless_change_is_said(tiny_synth, tmp_path):
    work = tmp_path / "w"
    base = RunConfig.of(data="list", list_file=str(tiny_synth / "meta.csv"), image_size=32, embedding_size=16,
                        batch_size=16, steps=2, log_every=1, eval_pairs="", workdir=str(work))
    train(base, lambda s: None)
    written = (work / "config.json").read_text()
    for change, named in (({"image_size": 48}, "`image_size` 32 → 48"),
                          ({"head": "softmax"}, "`head` arcface → softmax"),  # a classifier with a bias
                          ({"backbone": "mobilefacenet"}, "`backbone` small_cnn → mobilefacenet")):
        with pytest.raises(ConfigError, match=f"holds a checkpoint of another model: {named}"):
            train(base.replace(**change), lambda s: None)
        assert (work / "config.json").read_text() == written  # not overwritten
    said = []
    train(base.replace(steps=3, lr=0.05, head="cosface", margin=0.35), said.append)  # one classifier, another margin
    assert any("resuming" in s and "`steps` 2 → 3" in s and "`lr` 0.1 → 0.05" in s and "`head` arcface → cosface" in s
               for s in said)
    assert any("resumed from" in s and "step 2" in s for s in said)
    assert json.loads((work / "config.json").read_text())["loop"]["steps"] == 3


def test_other_identities_are_refused(tiny_synth, tmp_path):
    work = tmp_path / "w"
    rows = (tiny_synth / "meta.csv").read_text().splitlines()
    fewer = tmp_path / "fewer.csv"
    keep = {r.split(",")[1] for r in rows[1:]}
    keep = set(sorted(keep)[:10])
    fewer.write_text("\n".join([rows[0], *(r for r in rows[1:] if r.split(",")[1] in keep)]) + "\n")
    base = RunConfig.of(data="list", list_file=str(tiny_synth / "meta.csv"), image_size=32, embedding_size=16,
                        batch_size=16, steps=2, log_every=1, eval_pairs="", workdir=str(work))
    train(base, lambda s: None)
    with pytest.raises(ConfigError, match=r"identities \d+ → 10"):
        train(base.replace(list_file=str(fewer), data_root=str(tiny_synth)), lambda s: None)


def _base(tiny_synth, work, **changes):
    return RunConfig.of(**{"data": "list", "list_file": str(tiny_synth / "meta.csv"), "image_size": 32,
                           "embedding_size": 16, "batch_size": 16, "steps": 2, "log_every": 1, "eval_pairs": "",
                           "workdir": str(work), **changes})


def test_the_same_number_of_other_identities_is_refused(tiny_synth, tmp_path):
    # a list naming the same count of people (here: two renamed) used to resume onto the old class weights
    work = tmp_path / "w"
    rows = (tiny_synth / "meta.csv").read_text().splitlines()
    names = sorted({r.split(",")[1] for r in rows[1:]})
    renamed = {names[0]: "zz_" + names[0], names[1]: "zz_" + names[1]}
    other = tmp_path / "renamed.csv"
    other.write_text("\n".join([rows[0], *(",".join([c[0], renamed.get(c[1], c[1]), *c[2:]])
                                            for c in (r.split(",") for r in rows[1:]))]) + "\n")
    train(_base(tiny_synth, work), lambda s: None)
    written = (work / "config.json").read_text()
    assert json.loads(written)["identities"]
    with pytest.raises(ConfigError, match=r"identities .the same number, \d+, but other names or another order"):
        train(_base(tiny_synth, work, list_file=str(other), data_root=str(tiny_synth), steps=3), lambda s: None)
    assert (work / "config.json").read_text() == written


def test_a_rerun_that_trains_nothing_leaves_the_record_untouched(tiny_synth, tmp_path):
    work = tmp_path / "w"
    base = _base(tiny_synth, work, steps=3, eval_pairs=str(tiny_synth / "pairs.csv"))
    report = train(base, lambda s: None)
    written = (work / "config.json").read_text()
    stamps = {p: p.stat().st_mtime_ns for p in (work / "eval.json", work / "export" / "tfface.json")}
    said = []
    again = train(base.replace(sampler="balanced", lr=0.01), said.append)  # finished: changes are not used
    assert again == report and any("nothing to do" in s and "`sampler` uniform → balanced" in s for s in said)
    assert (work / "config.json").read_text() == written
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # export and eval.json not rewritten
    with pytest.raises(ConfigError, match=r"`steps=2`: the run in .* is already at step 3, and a run does not go back"):
        train(base.replace(steps=2), lambda s: None)
    assert (work / "config.json").read_text() == written


def test_a_run_whose_checkpoints_are_all_damaged_needs_restart(tiny_synth, tmp_path):
    work = tmp_path / "w"
    base = _base(tiny_synth, work)
    train(base, lambda s: None)
    for index in (work / "checkpoints").glob("*.index"):
        index.write_bytes(b"")
    written = (work / "config.json").read_text()
    with pytest.raises(ConfigError, match=r"holds a run's results \(checkpoints \(\d, none readable\), export\) but "
                                          "no checkpoint that reads back.*Add `restart`"):
        train(base, lambda s: None)  # used to train from step 0 over the finished run in silence
    assert (work / "config.json").read_text() == written
    said = []
    train(base.replace(restart=True), said.append)
    aside = list(work.glob("checkpoints.damaged-*"))
    assert len(aside) == 1 and list(aside[0].glob("*.index")) and any("restarting" in s for s in said)
    assert (work / "checkpoints" / "ckpt-2.index").stat().st_size > 0
    with pytest.raises(ConfigError, match="holds a readable checkpoint at step 2"):
        train(base.replace(restart=True, steps=3), lambda s: None)


def test_a_run_that_fails_before_training_leaves_no_workdir(tiny_synth, tmp_path):
    from tfface.errors import DataError

    bad = tmp_path / "bad.csv"
    bad.write_text("path,identity\nnope.png,a\nnope2.png,b\n")
    with pytest.raises(DataError):
        train(_base(tiny_synth, tmp_path / "w", list_file=str(bad)), lambda s: None)
    assert not (tmp_path / "w").exists()
    with pytest.raises(ConfigError, match="`image_size=40` must be a multiple of 16"):
        train(_base(tiny_synth, tmp_path / "w", image_size=40), lambda s: None)
    assert not (tmp_path / "w").exists()


def test_after_divergence_the_advice_names_a_checkpoint_whose_embeddings_are_finite(tiny_synth, tmp_path):
    # lr=1e6 leaves the weights finite but near 1e27 within a step or two: such a checkpoint used to be written
    # and named as "the last finite checkpoint", though its embeddings are NaN
    from tfface.errors import NonFiniteLossError
    from tfface.finite import check_embeddings
    from tfface.registry import METHODS
    from tfface.training.checkpoints import latest_step

    work = tmp_path / "w"
    base = _base(tiny_synth, work, checkpoint_every=1)
    train(base, lambda s: None)
    with pytest.raises(NonFiniteLossError) as err:
        train(base.replace(steps=6, lr=1e6), lambda s: None)
    step = latest_step(str(work))
    named = f"the last checkpoint whose model and embeddings are finite is {work}/checkpoints/ckpt-{step}"
    assert named in str(err.value)
    embedder, _ = METHODS.get("standard").restore_embedder(str(work))
    check_embeddings(lambda x: embedder(x, training=False), 32, "the checkpoint named")  # finite, not overflowing
