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


def test_label_out_of_range_and_the_streaming_sampler(tiny_source, tmp_path):
    write_tfrecords(tiny_source, str(tmp_path / "tr"), shards=1)
    cfg = TrainInput(global_batch=8, image_size=32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="label out of range"):
        list(tfrecord_train_dataset(str(tmp_path / "tr-*.tfrecord"), 3, cfg).take(2))
    with pytest.raises(ConfigError, match="`sampler=pk` reads TFRecords at random"):
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


def _source_images(source):
    return {str(p): (tf.io.decode_png(tf.io.read_file(p)).numpy(), int(y)) for p, y in zip(source.paths,
                                                                                          source.labels)}


def test_the_writer_indexes_every_record_and_a_scan_agrees(tiny_source, tmp_path):
    from tfface.data.record_index import RecordIndex, RecordReader, index_path, load_or_build_index, scan_index

    files = write_tfrecords(tiny_source, str(tmp_path / "tr"), shards=3)
    written = RecordIndex.load(index_path(files))
    scanned = scan_index(files)
    assert len(written) == len(tiny_source) and (np.diff(written.labels) >= 0).all()
    for field in ("shard", "offset", "length", "labels"):
        np.testing.assert_array_equal(getattr(written, field), getattr(scanned, field))
    np.testing.assert_array_equal(written.class_counts(tiny_source.num_classes), tiny_source.class_counts)
    # every row reads back the Example of its label
    records = RecordReader(written).read(np.arange(len(written)))
    labels = [tf.train.Example.FromString(r).features.feature["label"].int64_list.value[0] for r in records]
    np.testing.assert_array_equal(labels, written.labels)
    # a changed shard is noticed and the index rebuilt
    with open(files[1], "ab") as fh:
        fh.write(open(files[1], "rb").read())  # the same records twice
    said = []
    again = load_or_build_index(files, said.append)
    assert any("does not match the shards" in s for s in said) and len(again) == len(written) + written.shard.tolist(
    ).count(1)


def test_pk_over_tfrecords_reads_the_batches_a_list_file_would(tiny_source, tmp_path):
    from tfface.data.pipeline import train_dataset
    from tfface.data.record_index import RecordIndex, index_path
    from tfface.data.tfrecords import indexed_record_dataset

    files = write_tfrecords(tiny_source, str(tmp_path / "tr"), shards=2)
    index = RecordIndex.load(index_path(files))
    cfg = TrainInput(global_batch=8, image_size=32, sampler="pk", pk_k=4, flip=True, seed=5)
    classes = tiny_source.num_classes
    got = list(indexed_record_dataset(index, classes, cfg).take(4))
    listed = list(train_dataset(tiny_source, cfg).take(4))
    images = _source_images(tiny_source)
    for (imgs, labels), (_, list_labels) in zip(got, listed):
        labels = labels.numpy()
        # P×K: 2 identities × 4 images, the same identities the list-file pipeline draws at this step
        assert [len(set(labels[i:i + 4])) for i in (0, 4)] == [1, 1] and labels[0] != labels[4]
        np.testing.assert_array_equal(labels, list_labels.numpy())
        for img, y in zip(imgs.numpy(), labels):
            assert any(lab == y and (np.array_equal(img, ref) or np.array_equal(img, ref[:, ::-1]))
                       for ref, lab in images.values())
    # per-replica slices and a resume see the same rows
    halves = list(indexed_record_dataset(index, classes, cfg, 0, tf.distribute.InputContext(
        num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=2)).take(4))
    for step in range(2):
        np.testing.assert_array_equal(np.concatenate([halves[2 * step + r][0] for r in range(2)]), got[step][0])
    resumed = list(indexed_record_dataset(index, classes, cfg, start_step=3).take(1))
    np.testing.assert_array_equal(resumed[0][0], got[3][0])


def test_train_py_trains_pk_over_tfrecords(tiny_synth, tmp_path):
    made = subprocess.run([sys.executable, "-m", "tfface.programs.make_tfrecords",
                           f"--list_file={tiny_synth / 'meta.csv'}", f"--out={tmp_path / 'rec' / 'train'}",
                           "--shards=2"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    assert (tmp_path / "rec" / "train-index.npz").exists()
    out = subprocess.run([sys.executable, str(REPO / "train.py"), "--data=tfrecord",
                          f"--tfrecords={tmp_path / 'rec' / 'train-*.tfrecord'}", "--sampler=pk", "--pk_k=4",
                          "--loss=triplet+head", "--image_size=32", "--embedding_size=16", "--batch_size=16",
                          "--steps=2", "--log_every=1", f"--workdir={tmp_path / 'w'}"], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "step 2/2" in out.stdout and "triplet" in out.stdout


def test_streamed_images_are_flipped_anew_at_every_epoch(tiny_source, tmp_path):
    """The flip is drawn per (step, position), not per file: over several epochs an image is seen both ways."""
    small = tiny_source.subset(np.arange(12))
    write_tfrecords(small, str(tmp_path / "tr"), shards=1)
    cfg = TrainInput(global_batch=4, image_size=32, flip=True, seed=1)
    seen = {}
    references = [(tf.io.decode_png(tf.io.read_file(p)).numpy(), str(p)) for p in small.paths]
    for images, _ in tfrecord_train_dataset(str(tmp_path / "tr-*.tfrecord"), small.num_classes, cfg).take(24):
        for img in images.numpy():
            for ref, path in references:
                if np.array_equal(img, ref):
                    seen.setdefault(path, set()).add("plain")
                elif np.array_equal(img, ref[:, ::-1]):
                    seen.setdefault(path, set()).add("flipped")
    assert sum(len(ways) == 2 for ways in seen.values()) >= 6
