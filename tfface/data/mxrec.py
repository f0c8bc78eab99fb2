"""insightface's training sets as MXNet RecordIO (``train.rec``, ``train.idx``, ``property``) fed to the trainer
directly: an index of every image's bytes and label, read at random through a memory map, so every sampler
(P×K, class-balanced, uniform) draws rows as it would from a list file with the same images per class, and a
resumed run or N replicas see the batches one device would."""

from __future__ import annotations

import dataclasses
import pathlib
import struct

import numpy as np
import tensorflow as tf

import tfface.messages as messages
from tfface.data.decode import decode_image
from tfface.data.pipeline import AUTOTUNE, TrainInput, finish_for_strategy, flip_and_augment, sampled_rows
from tfface.data.recordio import IR_FORMAT, IR_SIZE, LENGTH_BITS, MAGIC, RecFile, read_property
from tfface.errors import DataError


@dataclasses.dataclass(frozen=True)
class RecIndex:
    """The image records of a .rec sorted by label: where each image's bytes are and its label.

    ``start``/``length`` locate the image bytes in the file; a record that dmlc-core cut in parts (its payload
    held the magic) has ``start`` −1 and its image kept in ``split`` by row."""

    rec: str
    start: np.ndarray  # int64 [n]
    length: np.ndarray  # int64 [n]
    labels: np.ndarray  # int32 [n], ascending
    keys: np.ndarray  # int64 [n]: the record's key in the .idx
    num_classes: int
    split: dict = dataclasses.field(default_factory=dict)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)


def index_rec(rec_path: str, log=messages.info) -> RecIndex:
    """Read every image record's header once: its label (the first of a label array) and where its image
    bytes lie. A label outside the ``property`` file's class count is an error naming the record."""
    rec = RecFile(rec_path)
    classes, _, _ = read_property(pathlib.Path(rec_path).parent)
    keys = rec.image_keys()
    log(f"indexing {len(keys)} records of {rec_path} …")
    buffer = rec.buffer()
    start, length, labels, split = (np.empty(len(keys), np.int64), np.empty(len(keys), np.int64),
                                    np.empty(len(keys), np.int64), {})
    for row, key in enumerate(keys):
        offset = rec.offsets[key]
        magic, lrec = struct.unpack_from("<II", buffer, offset) if offset + 8 <= rec.size else (0, 0)
        flag, size = lrec >> LENGTH_BITS, lrec & ((1 << LENGTH_BITS) - 1)
        if magic == MAGIC and flag == 0 and offset + 8 + size <= rec.size and size >= IR_SIZE:
            ir_flag, label = struct.unpack_from(IR_FORMAT, buffer, offset + 8)[:2]
            skip = IR_SIZE + 4 * ir_flag
            if size < skip:
                raise DataError(f"{rec_path} record {key}: its header announces {ir_flag} labels, more than its "
                                f"{size} bytes hold.")
            if ir_flag:  # a label array: the class is its first value
                label = struct.unpack_from("<f", buffer, offset + 8 + IR_SIZE)[0]
            start[row], length[row], labels[row] = offset + 8 + skip, size - skip, int(label)
        else:  # in parts, or damaged: the framing reader says which
            record = rec.record(key)
            start[row], length[row], labels[row] = -1, len(record.image), int(record.label[0])
            split[row] = record.image
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{rec_path} record {keys[row]}: label {labels[row]} is outside the {classes} classes of "
                        f"{pathlib.Path(rec_path).parent / 'property'}.")
    order = np.argsort(labels, kind="stable")
    position = {int(old): new for new, old in enumerate(order)}
    return RecIndex(str(rec_path), start[order], length[order], labels[order].astype(np.int32),
                    np.asarray(keys, np.int64)[order], classes, {position[r]: b for r, b in split.items()})


class RecReader:
    """The image bytes of given index rows, cut from the memory-mapped .rec."""

    def __init__(self, index: RecIndex):
        self.index = index
        self._rec = None

    def read(self, rows: np.ndarray) -> np.ndarray:
        if self._rec is None:  # opened on first use, in the process that reads
            self._rec = RecFile(self.index.rec).buffer()
        ix, buffer = self.index, self._rec
        return np.array([ix.split[r] if ix.start[r] < 0 else buffer[ix.start[r]:ix.start[r] + ix.length[r]]
                         for r in rows], dtype=object)

    def read_tensor(self, rows: tf.Tensor) -> tf.Tensor:
        images = tf.numpy_function(self.read, [rows], tf.string, stateful=False)
        images.set_shape([None])
        return images


def rec_train_dataset(index: RecIndex, cfg: TrainInput, start_step: int = 0,
                      input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Per-replica batches of a .rec's images, drawn by the sampler of ``cfg`` from ``start_step`` on."""
    rows, per_replica = sampled_rows(index.class_counts(), cfg, start_step, input_context)
    reader = RecReader(index)
    labels = tf.constant(index.labels, tf.int32)
    name = tf.constant(index.rec)

    def read(batch_rows, flips, seeds):
        return reader.read_tensor(batch_rows), tf.gather(labels, batch_rows), flips, seeds

    def load(image, label, flip, seed):
        return flip_and_augment(decode_image(image, name, cfg.image_size), flip, seed, cfg), label

    ds = rows.map(read, num_parallel_calls=AUTOTUNE, deterministic=True).unbatch()
    ds = ds.map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return finish_for_strategy(ds.batch(per_replica, drop_remainder=True))

