"""tfface-align on a folder of real photos: chips in the same layout, a list, and every photo without a chip
reported; outputs it did not write are never touched."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("dlib", reason="alignment needs dlib: pip install 'tfface[align]'")


def align(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tfface.programs.align_cli", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


@pytest.fixture
def photos(tmp_path, shared_data):
    """Links to five raw photos of three people (one with no face dlib finds) and an unreadable file."""
    raw = shared_data / "celeba_raw" / "images"
    folder = tmp_path / "photos"
    for name in ["7201/001085.jpg", "7201/007710.jpg", "7202/017405.jpg", "7202/006155.jpg", "7203/007200.jpg"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).symlink_to(raw / name)
    (folder / "7203" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really")
    return folder


def test_photos_become_chips_a_list_and_a_report(photos, tmp_path):
    out = align(photos, tmp_path / "chips", "--workers=2")
    assert out.returncode == 0, out.stderr[-2000:]
    chips = tmp_path / "chips"
    rows = list(csv.DictReader(open(chips / "list.csv")))
    report = json.loads((chips / "align_report.json").read_text())
    linked = sorted(p.relative_to(photos).as_posix() for p in photos.rglob("*.jpg") if p.name != "broken.jpg")
    assert [r["path"] for r in rows] == [p for p in linked if p != "7202/017405.jpg"]
    assert all(r["identity"] == r["path"].split("/")[0] for r in rows)
    assert report["no_face"] == [str(photos / "7202" / "017405.jpg")]
    assert list(report["unreadable"]) == [str(photos / "7203" / "broken.jpg")]
    from PIL import Image

    assert all(np.asarray(Image.open(chips / r["path"])).shape == (112, 112, 3) for r in rows)
    assert "with no face found and 1 unreadable, listed in" in out.stdout and "photos/s" in out.stdout


def test_outputs_it_did_not_write_are_refused(photos, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    out = align(photos, mine)
    assert out.returncode == 1 and "is not empty and was not written by tfface-align" in out.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    out = align(photos, photos / "chips")
    assert out.returncode == 1 and "lies inside the photos' folder" in out.stderr
    out = align(photos, tmp_path / "c", "--layout=arcface", "--padding=0.3")
    assert out.returncode == 1 and "--padding applies to --layout=dlib" in out.stderr
    out = align(tmp_path / "nowhere", tmp_path / "c")
    assert out.returncode == 1 and "nowhere: no such folder or list file" in out.stderr
    assert not (tmp_path / "c").exists()
