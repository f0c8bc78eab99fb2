"""MXNet RecordIO without MXNet: dmlc-core's framing (checked byte for byte on hand-made records), the
IRHeader, insightface's header record and index, and clear errors for damaged files."""

import struct

import pytest

from tfface.data import recordio
from tfface.errors import DataError

MAGIC = struct.pack("<I", 0xCED7230A)


def test_a_record_is_framed_as_dmlc_core_writes_it():
    # whole: magic, (flag 0 << 29) | 5, the 5 bytes, 3 zero bytes of padding
    assert recordio.frame(b"hello") == MAGIC + struct.pack("<I", 5) + b"hello\0\0\0"
    # the magic at a 4-byte boundary inside the payload: cut there, the magic itself not written
    cut = recordio.frame(b"abcd" + MAGIC + b"xy")
    assert cut == (MAGIC + struct.pack("<I", (1 << 29) | 4) + b"abcd"
                   + MAGIC + struct.pack("<I", (3 << 29) | 2) + b"xy\0\0")
    # three parts (first, middle, last); a magic off the 4-byte grid is plain data
    three = b"abcd" + MAGIC + b"efgh" + MAGIC + b"ij"
    flags = [struct.unpack_from("<I", recordio.frame(three), at)[0] >> 29 for at in (4, 16, 28)]
    assert flags == [1, 2, 3]
    assert recordio.frame(b"a" + MAGIC) == MAGIC + struct.pack("<I", 5) + b"a" + MAGIC + b"\0\0\0"


@pytest.mark.parametrize("payload", [b"", b"hello", b"abcd" + MAGIC + b"xy", b"abcd" + MAGIC + b"efgh" + MAGIC,
                                     MAGIC * 3, bytes(range(256)) * 3])
def test_framing_round_trips(payload):
    framed = recordio.frame(payload)
    assert len(framed) % 4 == 0
    assert recordio.read_framed(framed + recordio.frame(b"next"), 0, "f") == (payload, len(framed))


def test_the_image_header_is_mxnets():
    one = recordio.pack_image_record(7, b"JPEG", record_id=3)
    assert one[:24] == struct.pack("<IfQQ", 0, 7.0, 3, 0) and one[24:] == b"JPEG"
    record = recordio.unpack_image_record(one)
    assert record.flag == 0 and record.label.tolist() == [7.0] and record.id == 3 and record.image == b"JPEG"
    many = recordio.unpack_image_record(recordio.pack_image_record([5, 9], b"JPEG"))
    assert many.flag == 2 and many.label.tolist() == [5.0, 9.0] and many.image == b"JPEG"


def _insightface_set(tmp_path, labels, images):
    """A .rec laid out as insightface's: key 0 a header [first identity key, end], images at 1…n, then one
    record per identity holding its image-key range."""
    n, ids = len(labels), sorted(set(labels))
    payloads = {0: recordio.pack_image_record([n + 1, n + 1 + len(ids)], b"")}
    payloads.update({k + 1: recordio.pack_image_record(float(y), image)
                     for k, (y, image) in enumerate(zip(labels, images))})
    for j, y in enumerate(ids):
        keys = [k + 1 for k, v in enumerate(labels) if v == y]
        payloads[n + 1 + j] = recordio.pack_image_record([keys[0], keys[-1] + 1], b"")
    recordio.write_rec(tmp_path / "train.rec", payloads)
    (tmp_path / "property").write_text(f"{len(ids)},112,112\n")
    return tmp_path / "train.rec"


def test_an_insightface_set_reads_back(tmp_path):
    images = [bytes([k]) * (50 + k) + (MAGIC if k == 2 else b"") for k in range(5)]
    rec = recordio.RecFile(_insightface_set(tmp_path, [0, 0, 1, 1, 1], images))
    assert rec.image_keys() == [1, 2, 3, 4, 5]
    assert [int(rec.record(k).label[0]) for k in rec.image_keys()] == [0, 0, 1, 1, 1]
    assert [rec.record(k).image for k in rec.image_keys()] == images
    assert recordio.read_property(tmp_path) == (2, 112, 112)
    lines = (tmp_path / "train.idx").read_text().splitlines()
    assert lines[0] == "0\t0" and len(lines) == 8  # header, 5 images, 2 identities


def test_damaged_files_are_named_with_the_offset(tmp_path):
    rec_path = _insightface_set(tmp_path, [0, 1], [b"a" * 40, b"b" * 40])
    data = rec_path.read_bytes()
    offsets = recordio.RecFile(rec_path).offsets
    last = max(offsets, key=offsets.get)
    rec_path.write_bytes(data[: offsets[last] + 12])  # cut inside the last record
    with pytest.raises(DataError, match=rf"train.rec: the record at byte {offsets[last]} is cut short"):
        recordio.RecFile(rec_path).record(last)
    rec_path.write_bytes(data[: offsets[2]])  # cut before record 2: the index points past the end
    with pytest.raises(DataError, match=rf"train.idx line 3: offset {offsets[2]} of key 2 is outside"):
        recordio.RecFile(rec_path)
    rec_path.write_bytes(data[:offsets[1]] + b"\0\0\0\0" + data[offsets[1] + 4:])  # record 1's magic gone
    with pytest.raises(DataError, match=rf"no RecordIO record at byte {offsets[1]}"):
        recordio.RecFile(rec_path).record(1)
    rec_path.write_bytes(data)
    (tmp_path / "train.idx").write_text(f"0\t0\n1\t{len(data) + 8}\n")
    with pytest.raises(DataError, match=r"train.idx line 2: offset \d+ of key 1 is outside the .rec's"):
        recordio.RecFile(rec_path)
    (tmp_path / "train.idx").write_text("0 0\n")
    with pytest.raises(DataError, match=r"train.idx line 1: expected 'key<TAB>offset'"):
        recordio.RecFile(rec_path)
    (tmp_path / "property").write_text("2;112;112")
    with pytest.raises(DataError, match="property: expected 'classes,height,width'"):
        recordio.read_property(tmp_path)
