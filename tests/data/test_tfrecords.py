"""TFRecord writer/reader round trip, per-replica slicing and bad labels; the image check command."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO

from tfface.data.pipeline import TrainInput
from tfface.data.tfrecords import read_meta, tfrecord_train_dataset, write_tfrecords
from tfface.errors import ConfigError


def test_round_trip_and_replica_slices(tiny_source, tmp_path):
    write_tfrecords(tiny_source, str(tmp_path / "tr"), shards=3)
    meta = read_meta(str(tmp_path / "tr-*.tfrecord"))
    assert meta["num_classes"] == tiny_source.num_classes and meta["images"] == len(tiny_source)
    cfg = TrainInput(global_batch=8, image_size=32, flip=False, seed=1)
    pattern = str(tmp_path / "tr-*.tfrecord")
    whole = list(tfrecord_train_dataset(pattern, meta["num_classes"], cfg).take(3))
    # every (image, label) read back is one of the source's (image, label)
    by_label = {}
    for p, y in zip(tiny_source.paths, tiny_source.labels):
        by_label.setdefault(int(y), []).append(tf.io.decode_png(tf.io.read_file(p)).numpy())
    for img, y in zip(whole[0][0].numpy(), whole[0][1].numpy()):
        assert any(np.array_equal(img, ref) for ref in by_label[int(y)])
    halves = [list(tfrecord_train_dataset(pattern, meta["num_classes"], cfg, 0, tf.distribute.InputContext(
        num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)).take(6))]
    for step in range(3):
        labels = np.concatenate([halves[0][2 * step + r][1].numpy() for r in range(2)])
        np.testing.assert_array_equal(labels, whole[step][1].numpy())
    resumed = list(tfrecord_train_dataset(pattern, meta["num_classes"], cfg, start_step=2).take(1))
    np.testing.assert_array_equal(resumed[0][1].numpy(), whole[2][1].numpy())


def test_label_out_of_range_and_sampler(tiny_source, tmp_path):
    write_tfrecords(tiny_source, str(tmp_path / "tr"), shards=1)
    cfg = TrainInput(global_batch=8, image_size=32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="label out of range"):
        list(tfrecord_train_dataset(str(tmp_path / "tr-*.tfrecord"), 3, cfg).take(2))
    with pytest.raises(ConfigError, match="`sampler=pk`"):
        tfrecord_train_dataset(str(tmp_path / "tr-*.tfrecord"), 40, dataclasses.replace(cfg, sampler="pk"))


def test_check_command_lists_bad_files(tmp_path):
    from PIL import Image

    (tmp_path / "a").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a" / "good.png")
    (tmp_path / "a" / "bad.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "a" / "empty.jpg").write_bytes(b"")
    out = subprocess.run([sys.executable, "-m", "tfface.programs.check_data", f"--data_root={tmp_path}"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "bad.png" in out.stdout and "empty.jpg" in out.stdout and "good.png" not in out.stdout
    assert "3 images checked, 2 bad" in out.stdout
