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
    for change, named in (({"image_size": 40}, "`image_size` 32 → 40"), ({"backbone": "mobilefacenet"},
                                                                          "`backbone` small_cnn → mobilefacenet")):
        with pytest.raises(ConfigError, match=f"holds a checkpoint of another model: {named}"):
            train(base.replace(**change), lambda s: None)
        assert (work / "config.json").read_text() == written  # not overwritten
    said = []
    train(base.replace(steps=3, lr=0.05), said.append)
    assert any("resuming" in s and "`steps` 2 → 3" in s and "`lr` 0.1 → 0.05" in s for s in said)
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
