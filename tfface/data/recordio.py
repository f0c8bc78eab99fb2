"""MXNet RecordIO, as insightface ships its training sets (``train.rec``, ``train.idx``, ``property``), read
and written without MXNet.

The framing is dmlc-core's: each record starts with the magic 0xced7230a and a little-endian uint32 whose top
3 bits are a continuation flag (0 whole, 1 first part, 2 middle, 3 last) and whose low 29 bits are the part's
length; a part is padded with zeros to 4 bytes. A payload holding the magic at a 4-byte boundary is cut there:
the magic is dropped from the data and put back by the reader between parts. A payload is MXNet's image record:
the IRHeader ``struct 'IfQQ'`` (flag, label, id, id2); with flag > 0 the label is an array of ``flag`` float32
values that follow the header; the image bytes (JPEG) come last. ``train.idx`` holds ``key<TAB>byte offset``
lines; ``property`` holds ``classes,height,width``. insightface's sets put a header at key 0 (a label array,
no image) whose label [a, b] says the images are keys 1 … a−1 (and keys a … b−1 hold each identity's image
range); sets without it use every key.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import pathlib
import struct

import numpy as np

from tfface.errors import DataError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_BITS = 29
IR_FORMAT = "<IfQQ"
IR_SIZE = struct.calcsize(IR_FORMAT)  # 24 bytes


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One unpacked record: its IRHeader fields and the image bytes."""

    flag: int
    label: np.ndarray  # float32 [max(flag, 1)]: the label array, or the one float label when flag is 0
    id: int
    id2: int
    image: bytes


def pack_image_record(label, image: bytes, record_id: int = 0, id2: int = 0) -> bytes:
    """MXNet's ``recordio.pack``: a number label goes in the header (flag 0); a sequence of labels follows
    the header as float32 (flag = their count)."""
    if np.ndim(label) == 0:
        return struct.pack(IR_FORMAT, 0, float(label), record_id, id2) + image
    values = np.asarray(label, "<f4").ravel()
    return struct.pack(IR_FORMAT, len(values), 0.0, record_id, id2) + values.tobytes() + image


def unpack_image_record(payload: bytes, where: str = "") -> ImageRecord:
    """MXNet's ``recordio.unpack``; ``where`` (file and offset) names a short record in the error."""
    if len(payload) < IR_SIZE:
        raise DataError(f"{where}: a record of {len(payload)} bytes is shorter than its {IR_SIZE}-byte header.")
    flag, label, record_id, id2 = struct.unpack(IR_FORMAT, payload[:IR_SIZE])
    if flag == 0:
        return ImageRecord(0, np.array([label], np.float32), record_id, id2, payload[IR_SIZE:])
    end = IR_SIZE + 4 * flag
    if len(payload) < end:
        raise DataError(f"{where}: the record's header announces {flag} labels, more than its {len(payload)} bytes "
                        "hold.")
    labels = np.frombuffer(payload[IR_SIZE:end], "<f4").astype(np.float32)
    return ImageRecord(flag, labels, record_id, id2, payload[end:])


def frame(payload: bytes) -> bytes:
    """One record as dmlc-core's RecordIOWriter writes it (cut where the payload holds the magic)."""
    if len(payload) >= 1 << LENGTH_BITS:
        raise DataError(f"a record of {len(payload)} bytes is beyond RecordIO's 2^29-byte limit.")
    out, start = [], 0
    for i in range(0, len(payload) // 4 * 4, 4):
        if payload[i:i + 4] == MAGIC_BYTES:
            out.append(_part(1 if start == 0 else 2, payload[start:i]))
            start = i + 4
    out.append(_part(3 if start else 0, payload[start:]))
    return b"".join(out)


def _part(flag: int, data: bytes) -> bytes:
    return MAGIC_BYTES + struct.pack("<I", (flag << LENGTH_BITS) | len(data)) + data + b"\0" * (-len(data) % 4)


def read_framed(buffer, offset: int, where: str) -> tuple[bytes, int]:
    """(the payload of the record starting at ``offset`` of ``buffer``, the offset after it); a record that
    is cut short, lacks its magic or breaks its continuation flags is an error naming ``where`` and the offset."""
    parts, position, size = [], offset, len(buffer)
    while True:
        if position + 8 > size:
            raise DataError(f"{where}: the record at byte {offset} is cut short (the file ends at byte {size}).")
        magic, lrec = struct.unpack_from("<II", buffer, position)
        if magic != MAGIC:
            raise DataError(f"{where}: no RecordIO record at byte {position} (magic {magic:#010x}, expected "
                            f"{MAGIC:#010x}); the file or its index is damaged.")
        flag, length = lrec >> LENGTH_BITS, lrec & ((1 << LENGTH_BITS) - 1)
        if flag > 3 or (flag in (0, 1)) != (position == offset):
            raise DataError(f"{where}: the record at byte {offset} has a part out of order (flag {flag} at byte "
                            f"{position}); the file is damaged.")
        end = position + 8 + length
        if end > size:
            raise DataError(f"{where}: the record at byte {offset} is cut short (its part at byte {position} needs "
                            f"{length} bytes, the file ends at byte {size}).")
        parts.append(bytes(buffer[position + 8:end]))
        position = end + (-length % 4)
        if flag in (0, 3):
            return MAGIC_BYTES.join(parts), position


def write_rec(rec_path: str | os.PathLike, payloads: dict[int, bytes]) -> None:
    """Write ``payloads`` (key → payload, in key order) as ``rec_path`` with its ``.idx`` beside it, as MXNet's
    MXIndexedRecordIO does. Used by the tests and tfface's own converters."""
    rec_path = pathlib.Path(rec_path)
    lines, position = [], 0
    with open(rec_path, "wb") as fh:
        for key in sorted(payloads):
            record = frame(payloads[key])
            lines.append(f"{key}\t{position}\n")
            fh.write(record)
            position += len(record)
    rec_path.with_suffix(".idx").write_text("".join(lines))


def read_idx(idx_path: str | os.PathLike, rec_size: int) -> dict[int, int]:
    """key → byte offset of a ``.idx`` file; a malformed line or an offset past the end of the ``.rec``
    (``rec_size`` bytes) is an error naming the line."""
    idx_path = pathlib.Path(idx_path)
    if not idx_path.is_file():
        raise DataError(f"{idx_path}: not found; a .rec is read through the .idx beside it.")
    out = {}
    for number, line in enumerate(idx_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            key, offset = int(fields[0]), int(fields[1])
        except (ValueError, IndexError):
            raise DataError(f"{idx_path} line {number}: expected 'key<TAB>offset', got {line[:60]!r}.") from None
        if not 0 <= offset < rec_size:
            raise DataError(f"{idx_path} line {number}: offset {offset} of key {key} is outside the .rec's "
                            f"{rec_size} bytes; the index belongs to another file or the file is cut short.")
        out[key] = offset
    return out


def read_property(folder: str | os.PathLike) -> tuple[int, int, int]:
    """(classes, height, width) from insightface's ``property`` file."""
    path = pathlib.Path(folder) / "property"
    if not path.is_file():
        raise DataError(f"{path}: not found (insightface's sets hold 'classes,height,width' there).")
    try:
        classes, height, width = (int(v) for v in path.read_text().strip().split(","))
    except ValueError:
        raise DataError(f"{path}: expected 'classes,height,width', got {path.read_text()[:60]!r}.") from None
    return classes, height, width


class RecFile:
    """A ``.rec`` with its ``.idx``: records by key, memory-mapped."""

    def __init__(self, rec_path: str | os.PathLike):
        self.path = pathlib.Path(rec_path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: not found.")
        self.size = self.path.stat().st_size
        self.offsets = read_idx(self.path.with_suffix(".idx"), self.size)
        self._map = None

    def buffer(self):
        """The file, memory-mapped (opened on first use, in the process that reads)."""
        if self._map is None:
            with open(self.path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if self.size else b""
        return self._map

    def payload(self, key: int) -> bytes:
        if key not in self.offsets:
            raise DataError(f"{self.path}: no record {key} in its index.")
        return read_framed(self.buffer(), self.offsets[key], str(self.path))[0]

    def record(self, key: int) -> ImageRecord:
        return unpack_image_record(self.payload(key), f"{self.path} record {key}")

    def image_keys(self) -> list[int]:
        """The keys of the image records: 1 … a−1 when record 0 is insightface's header (a label array and no
        image), else every key."""
        if 0 in self.offsets:
            head = self.record(0)
            if head.flag > 0 and not head.image:
                last = int(head.label[0])
                missing = [k for k in range(1, last) if k not in self.offsets]
                if missing:
                    raise DataError(f"{self.path}: its header says images are keys 1…{last - 1}, but the index "
                                    f"lacks {len(missing)} of them (e.g. {missing[0]}).")
                return list(range(1, last))
        return sorted(self.offsets)
