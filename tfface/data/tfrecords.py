"""TFRecord shards: a writer command and a streaming training pipeline.

Records hold ``image`` (encoded JPEG/PNG bytes as in the source file), ``label`` (int64),
``path`` (bytes) and one float feature per numeric attribute. ``<prefix>-meta.json`` beside the
shards records the class names, and ``<prefix>-index.npz`` where each record lies
(:mod:`tfface.data.record_index`). The ``uniform`` sampler streams the shards front to back through a
shuffle buffer; the others (P×K, class-balanced) read records at random through the index.

    tfface-make-tfrecords --list_file=train.csv --out=/data/train --shards=16
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import tensorflow as tf

from tfface.data.decode import decode_image
from tfface.data.pipeline import (
    AUTOTUNE,
    TrainInput,
    finish_for_strategy,
    flip_and_augment,
    image_draws,
    sampled_rows,
    worker_slice,
)
from tfface.data.record_index import FRAME_FOOTER, FRAME_HEADER, RecordIndex, RecordReader, index_path, sorted_index
from tfface.data.sources import Source
from tfface.errors import ConfigError, DataError


def _bytes(v):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


def write_tfrecords(source: Source, prefix: str, shards: int = 8, seed: int = 0) -> list[str]:
    """Write the source's images (shuffled) into ``shards`` files ``<prefix>-XXXXX-of-YYYYY.tfrecord``."""
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    order = np.random.default_rng(seed).permutation(len(source))
    numeric = {k: v for k, v in source.attributes.items() if v.dtype.kind == "f"}
    names = [f"{prefix}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    writers = [tf.io.TFRecordWriter(n) for n in names]
    position = [0] * shards
    rows = []  # (shard, offset, length, label) of every record, for the random-access index
    for k, i in enumerate(order):
        with open(source.paths[i], "rb") as fh:
            data = fh.read()
        feats = {"image": _bytes(data), "path": _bytes(str(source.paths[i]).encode()),
                 "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(source.labels[i])]))}
        feats.update({a: tf.train.Feature(float_list=tf.train.FloatList(value=[float(v[i])]))
                      for a, v in numeric.items()})
        record = tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()
        writers[k % shards].write(record)
        rows.append((k % shards, position[k % shards] + FRAME_HEADER, len(record), int(source.labels[i])))
        position[k % shards] += FRAME_HEADER + len(record) + FRAME_FOOTER
    for w in writers:
        w.close()
    shard, offset, length, labels = (np.asarray(c) for c in zip(*rows))
    sorted_index(names, shard, offset, length, labels).save(index_path(names))
    with open(f"{prefix}-meta.json", "w") as fh:
        json.dump({"num_classes": source.num_classes, "class_names": list(source.class_names),
                   "images": len(source), "attributes": sorted(numeric)}, fh)
    return names


def read_meta(pattern: str) -> dict:
    """The ``-meta.json`` written with the shards that ``pattern`` matches."""
    files = sorted(glob.glob(pattern))
    if not files:
        raise DataError(f"`tfrecords={pattern}`: no files match.")
    meta = files[0].rsplit("-", 3)[0] + "-meta.json"
    if not os.path.isfile(meta):
        raise DataError(f"`tfrecords={pattern}`: {meta} is missing; write shards with "
                        "`tfface-make-tfrecords`.")
    with open(meta) as fh:
        return {**json.load(fh), "files": files}


def tfrecord_train_dataset(pattern: str, num_classes: int, cfg: TrainInput, start_step: int = 0,
                           input_context: tf.distribute.InputContext | None = None,
                           shuffle_buffer: int = 10000) -> tf.data.Dataset:
    """Per-replica batches streamed from shards: shuffled global batches, sliced per worker and replica
    (``sampler=uniform``; the other samplers read through the index, :func:`indexed_record_dataset`)."""
    if cfg.sampler != "uniform":
        raise ConfigError(f"`sampler={cfg.sampler}` reads TFRecords at random: use indexed_record_dataset.")
    files = sorted(glob.glob(pattern))
    if not files:
        raise DataError(f"`tfrecords={pattern}`: no files match.")
    lo, hi, per_replica = worker_slice(cfg.global_batch, input_context)
    spec = {"image": tf.io.FixedLenFeature([], tf.string), "label": tf.io.FixedLenFeature([], tf.int64),
            "path": tf.io.FixedLenFeature([], tf.string, default_value="")}

    def parse(record):
        ex = tf.io.parse_single_example(record, spec)
        label = tf.cast(ex["label"], tf.int32)
        tf.debugging.assert_less(label, num_classes, message=f"label out of range: a record's label is >= "
                                 f"{num_classes} classes; check `tfrecords` and its -meta.json")
        tf.debugging.assert_non_negative(label, message="negative label in `tfrecords`")
        return ex["image"], ex["path"], label

    ds = tf.data.Dataset.from_tensor_slices(files).repeat()
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(8, len(files)), num_parallel_calls=AUTOTUNE,
                       deterministic=True)
    ds = ds.shuffle(shuffle_buffer, seed=cfg.seed).batch(cfg.global_batch, drop_remainder=True)
    ds = tf.data.Dataset.zip(tf.data.Dataset.range(start_step, 2**62), ds.skip(start_step))
    ds = ds.map(lambda step, records: (records[lo:hi], *image_draws(cfg.seed, step, cfg.global_batch, lo, hi)))
    ds = ds.unbatch()

    def load(record, flip, seed):
        image, path, label = parse(record)
        return flip_and_augment(decode_image(image, path, cfg.image_size), flip, seed, cfg), label

    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True).batch(per_replica, drop_remainder=True)
    return finish_for_strategy(ds)


def indexed_record_dataset(index: RecordIndex, num_classes: int, cfg: TrainInput, start_step: int = 0,
                           input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Per-replica batches from shards read at random through their index: every sampler (P×K, class-balanced,
    uniform) picks rows exactly as from a list file with the same images per class."""
    rows, per_replica = sampled_rows(index.class_counts(num_classes), cfg, start_step, input_context)
    reader = RecordReader(index)
    labels = tf.constant(index.labels, tf.int32)
    spec = {"image": tf.io.FixedLenFeature([], tf.string),
            "path": tf.io.FixedLenFeature([], tf.string, default_value="")}

    def read(batch_rows, flips, seeds):
        records = tf.io.parse_example(reader.read_tensor(batch_rows), spec)
        return records["image"], records["path"], tf.gather(labels, batch_rows), flips, seeds

    def load(image, path, label, flip, seed):
        return flip_and_augment(decode_image(image, path, cfg.image_size), flip, seed, cfg), label

    ds = rows.map(read, num_parallel_calls=AUTOTUNE, deterministic=True).unbatch()
    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return finish_for_strategy(ds.batch(per_replica, drop_remainder=True))
