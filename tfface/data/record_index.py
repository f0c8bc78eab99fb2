"""Random access into TFRecord shards: an index of where each record lies, and a batched reader.

TensorFlow reads TFRecords only front to back, so a sampler that picks images by class (P×K, class-balanced)
could not use them. The index holds, per record, its shard, the byte offset and length of its serialised
``tf.train.Example`` and its label (sorted by label, like a :class:`tfface.data.sources.Source`), plus each
shard's size to notice a changed shard. ``tfface-make-tfrecords`` writes it as ``<prefix>-index.npz``;
shards without one are scanned once (the frame headers for the offsets, a tf.data pass for the labels) and the
index is saved beside them when the folder is writable.

The reader memory-maps the shards and cuts a whole batch of records in one call (one ``tf.numpy_function`` per
batch, not per image: per image, the call overhead halved the input rate).
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import struct

import numpy as np
import tensorflow as tf

import tfface.messages as messages
from tfface.errors import DataError

FRAME_HEADER = 12  # a TFRecord frame: uint64 length, uint32 CRC of the length, the data, uint32 CRC of the data
FRAME_FOOTER = 4


@dataclasses.dataclass(frozen=True)
class RecordIndex:
    """Where every record of a set of shards lies, sorted by label."""

    files: tuple[str, ...]
    file_sizes: tuple[int, ...]
    shard: np.ndarray  # int32 [n]: index into files
    offset: np.ndarray  # int64 [n]: byte offset of the serialised Example
    length: np.ndarray  # int64 [n]
    labels: np.ndarray  # int32 [n], non-decreasing

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)

    def save(self, path: str) -> None:
        np.savez(path, files=np.asarray(self.files), file_sizes=np.asarray(self.file_sizes, np.int64),
                 shard=self.shard, offset=self.offset, length=self.length, labels=self.labels)

    @classmethod
    def load(cls, path: str) -> RecordIndex:
        with np.load(path) as z:
            return cls(tuple(str(f) for f in z["files"]), tuple(int(s) for s in z["file_sizes"]), z["shard"],
                       z["offset"], z["length"], z["labels"])

    def matches(self, files: list[str]) -> bool:
        """Whether the index describes exactly these shards, at their current sizes."""
        names = tuple(os.path.basename(f) for f in files)
        return names == tuple(os.path.basename(f) for f in self.files) and \
            tuple(os.path.getsize(f) for f in files) == self.file_sizes


def sorted_index(files: list[str], shard, offset, length, labels) -> RecordIndex:
    """A RecordIndex of these records, sorted by label, then shard, then offset (one order however built)."""
    order = np.lexsort((np.asarray(offset), np.asarray(shard), np.asarray(labels)))
    return RecordIndex(tuple(files), tuple(os.path.getsize(f) for f in files),
                       np.asarray(shard, np.int32)[order], np.asarray(offset, np.int64)[order],
                       np.asarray(length, np.int64)[order], np.asarray(labels, np.int32)[order])


def frame_offsets(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(offset, length) of every record's data in a TFRecord file, from its frame headers."""
    offsets, lengths, pos = [], [], 0
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        while pos < size:
            head = fh.read(FRAME_HEADER)
            if len(head) < FRAME_HEADER:
                raise DataError(f"{path}: truncated TFRecord frame at byte {pos}; rewrite the shard.")
            n = struct.unpack("<Q", head[:8])[0]
            if pos + FRAME_HEADER + n + FRAME_FOOTER > size:
                raise DataError(f"{path}: a record at byte {pos} runs past the end of the file; rewrite the shard.")
            offsets.append(pos + FRAME_HEADER)
            lengths.append(n)
            pos += FRAME_HEADER + n + FRAME_FOOTER
            fh.seek(pos)
    return np.asarray(offsets, np.int64), np.asarray(lengths, np.int64)


def scan_index(files: list[str]) -> RecordIndex:
    """Build the index of shards that have none: offsets from the frames, labels by a tf.data pass."""
    shard, offset, length, labels = [], [], [], []
    spec = {"label": tf.io.FixedLenFeature([], tf.int64)}
    for k, path in enumerate(files):
        offs, lens = frame_offsets(path)
        ds = tf.data.TFRecordDataset(path).batch(4096).map(lambda r: tf.io.parse_example(r, spec)["label"])
        labs = np.concatenate([b.numpy() for b in ds] or [np.zeros(0, np.int64)])
        if len(labs) != len(offs):
            raise DataError(f"{path}: {len(offs)} frames but {len(labs)} records parsed; rewrite the shard.")
        shard.append(np.full(len(offs), k))
        offset.append(offs)
        length.append(lens)
        labels.append(labs)
    return sorted_index(files, *(np.concatenate(x) for x in (shard, offset, length, labels)))


def index_path(files: list[str]) -> str:
    """``<prefix>-index.npz`` beside shards named ``<prefix>-XXXXX-of-YYYYY.tfrecord``."""
    return files[0].rsplit("-", 3)[0] + "-index.npz"


def load_or_build_index(files: list[str], log=messages.info) -> RecordIndex:
    """The shards' index: read from ``<prefix>-index.npz`` if it matches them, else scanned (and saved there
    when the folder is writable)."""
    path = index_path(files)
    if os.path.isfile(path):
        index = RecordIndex.load(path)
        if index.matches(files):
            return index
        log(f"{path} does not match the shards (they changed); rebuilding it")
    log(f"indexing {len(files)} TFRecord shards for random access (once) ...")
    index = scan_index(files)
    try:
        index.save(path)
        log(f"wrote {path} ({len(index)} records)")
    except OSError as err:
        log(f"could not save {path} ({err.strerror}); the index is rebuilt at every start")
    return index


class RecordReader:
    """The serialised Examples at given index rows, cut from memory-mapped shards."""

    def __init__(self, index: RecordIndex):
        self.index = index
        self._maps = None

    def _mapped(self) -> list:
        if self._maps is None:  # opened on first use, in the process that reads
            maps = []
            for path, size in zip(self.index.files, self.index.file_sizes):
                if not size:  # an empty shard has no rows (and cannot be mapped)
                    maps.append(b"")
                    continue
                with open(path, "rb") as fh:
                    maps.append(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
            self._maps = maps
        return self._maps

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Serialised Examples (bytes objects) of index rows ``rows``."""
        maps, ix = self._mapped(), self.index
        return np.array([maps[ix.shard[r]][ix.offset[r]:ix.offset[r] + ix.length[r]] for r in rows], dtype=object)

    def read_tensor(self, rows: tf.Tensor) -> tf.Tensor:
        """:meth:`read` in a tf.data map: a [n] string tensor."""
        records = tf.numpy_function(self.read, [rows], tf.string, stateful=False)
        records.set_shape([None])
        return records
