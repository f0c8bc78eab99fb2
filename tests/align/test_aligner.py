"""Alignment of the unaligned CelebA originals against the reference chips dlib made of them."""

import csv

import numpy as np
import pytest

pytest.importorskip("dlib", reason="alignment needs dlib: pip install 'tfface[align]'")

from tfface.align.aligner import Aligner, as_rgb, read_photo  # noqa: E402
from tfface.align.chips import similarity  # noqa: E402
from tfface.errors import ConfigError, DataError  # noqa: E402


def raw_rows(shared_data):
    root = shared_data / "celeba_raw"
    return root, list(csv.DictReader(open(root / "meta.csv")))


def test_dlib_layout_matches_the_reference_chips(shared_data):
    root, rows = raw_rows(shared_data)
    aligner = Aligner()
    pixel, landmark, missed = [], [], []
    for row in rows:
        face = aligner.largest(read_photo(root / row["path"]))
        if not row["reference"]:
            missed.append(face is None)
            continue
        reference = np.asarray(read_photo(root / row["reference"]), np.float64)
        pixel.append(np.abs(face.chip.astype(np.float64) - reference).mean())
        landmark.append(np.abs(face.points - np.array(row["landmarks"].split(), float).reshape(5, 2)).max())
    assert missed == [True, True, True]  # the three photos dlib found no face in are reported as such
    assert len(pixel) == 143
    assert max(landmark) <= 1.0  # the same landmarks (pixels, in the photo)
    assert np.mean(pixel) < 2.5 and max(pixel) < 4.0  # the reference chips went through JPEG once more


def test_arcface_layout_puts_the_eyes_and_nose_on_the_template(shared_data):
    from tfface.align.chips import ARCFACE_112

    root, rows = raw_rows(shared_data)
    aligner = Aligner("arcface")
    errors = []
    for row in [r for r in rows if r["reference"]][:20]:
        face = aligner.largest(read_photo(root / row["path"]))
        assert face.chip.shape == (112, 112, 3)
        m = similarity(face.points, ARCFACE_112)  # the transform the chip was warped with
        placed = face.points @ m[:, :2].T + m[:, 2]
        errors.append(np.abs(placed - ARCFACE_112)[:3].mean())  # eyes and nose tip (mouths smile)
    assert np.mean(errors) < 3  # swapped eyes or wrong landmark indices land far off


def test_bad_photos_and_settings_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="layout='mtcnn': choose dlib or arcface"):
        Aligner("mtcnn")
    with pytest.raises(ConfigError, match="size=100: the ArcFace layout"):
        Aligner("arcface", size=100)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(DataError, match="bad.jpg: not a readable image"):
        read_photo(tmp_path / "bad.jpg")
    with pytest.raises(DataError, match="nothing.jpg: no such file"):
        read_photo(tmp_path / "nothing.jpg")
    with pytest.raises(DataError, match=r"got shape \(4, 4, 2\)"):
        as_rgb(np.zeros((4, 4, 2), np.uint8))
    assert Aligner().largest(np.zeros((200, 200, 3), np.uint8)) is None  # no face: None, not a chip
