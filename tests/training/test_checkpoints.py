"""A damaged newest checkpoint (truncated or missing data, empty index) falls back to the newest intact one
with a warning naming it, in train.py's resume and evaluate.py --checkpoint; the ``ckpt-N_temp`` folders an
interrupted save leaves are removed (issue 16.4)."""

import os
import pathlib

import pytest

from tfface.config import RunConfig
from tfface.programs.training import checkpoint_to_saved_model, train


def _run(tiny_synth, work, steps, said=None):
    cfg = RunConfig.of(data="list", list_file=str(tiny_synth / "meta.csv"), image_size=32, embedding_size=16,
                       batch_size=16, steps=steps, log_every=1, checkpoint_every=2, eval_pairs="", workdir=str(work))
    return train(cfg, (said.append if said is not None else lambda s: None))


def _damage(prefix: pathlib.Path, how: str) -> None:
    data = pathlib.Path(f"{prefix}.data-00000-of-00001")
    if how == "truncated data":
        data.write_bytes(data.read_bytes()[:300])
    elif how == "deleted data":
        data.unlink()
    elif how == "empty index":
        pathlib.Path(f"{prefix}.index").write_bytes(b"")


@pytest.mark.parametrize("how", ["truncated data", "deleted data", "empty index"])
def test_resume_falls_back_to_the_newest_intact_checkpoint(tiny_synth, tmp_path, how):
    work = tmp_path / "w"
    _run(tiny_synth, work, 4)
    _damage(work / "checkpoints" / "ckpt-4", how)
    os.makedirs(work / "checkpoints" / "ckpt-6_temp" / "part-00000-of-00001")  # an interrupted save …
    (work / "checkpoints" / ".saving").write_text("ckpt-6")  # … as its marker says
    os.makedirs(work / "checkpoints" / "ckpt-5_temp")  # not tfface's: no marker names it
    said = []
    _run(tiny_synth, work, 6, said)
    assert (work / "checkpoints" / "ckpt-5_temp").exists() and not (work / "checkpoints" / ".saving").exists()
    assert any("warning: checkpoint" in s and "ckpt-4 is damaged" in s for s in said), said
    assert any("resumed from" in s and "ckpt-2" in s for s in said)
    assert any("ckpt-6_temp" in s and "removed" in s for s in said)
    assert not (work / "checkpoints" / "ckpt-6_temp").exists()
    assert (work / "checkpoints" / "ckpt-6.index").exists()


def test_evaluate_checkpoint_falls_back_too(tiny_synth, tmp_path):
    work = tmp_path / "w"
    _run(tiny_synth, work, 4)
    _damage(work / "checkpoints" / "ckpt-4", "truncated data")
    assert (pathlib.Path(checkpoint_to_saved_model(str(work))) / "saved_model.pb").exists()


def test_a_full_disk_stops_with_a_message_and_the_rerun_resumes(tiny_synth, tmp_path, monkeypatch):
    import errno

    import tensorflow as tf

    from tfface.errors import StorageError

    work = tmp_path / "w"
    _run(tiny_synth, work, 2)
    real_save = tf.train.CheckpointManager.save

    def full_disk(self, checkpoint_number=None, **kwargs):
        os.makedirs(os.path.join(self.directory, f"ckpt-{checkpoint_number}_temp"), exist_ok=True)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(tf.train.CheckpointManager, "save", full_disk)
    with pytest.raises(StorageError, match="No space left on device.*resumes from .*ckpt-2"):
        _run(tiny_synth, work, 4)
    monkeypatch.setattr(tf.train.CheckpointManager, "save", real_save)
    said = []
    _run(tiny_synth, work, 4, said)
    assert any("resumed from" in s and "ckpt-2" in s for s in said)
    assert not (work / "checkpoints" / "ckpt-4_temp").exists() and (work / "checkpoints" / "ckpt-4.index").exists()


def test_folders_that_only_look_like_an_interrupted_save_are_kept(tiny_synth, tmp_path):
    work = tmp_path / "w"
    for name in ("ckpt-9_temp", "mine_temp", "ckpt-2_temp_abc123"):  # a user's, or another tool's
        os.makedirs(work / "checkpoints" / name)
        (work / "checkpoints" / name / "keep.txt").write_text("mine")
    _run(tiny_synth, work, 2)
    assert all((work / "checkpoints" / name / "keep.txt").exists()
               for name in ("ckpt-9_temp", "mine_temp", "ckpt-2_temp_abc123"))
