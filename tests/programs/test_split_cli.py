"""tfface-split end to end: lists and pairs files that train.py and evaluate.py read back."""

import csv
import json
import os
import subprocess
import sys

from tfface.evaluation.pairs import read_pairs


def split(*args):
    return subprocess.run([sys.executable, "-m", "tfface.programs.split_cli", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def lfw_like(tmp_path, people=12, per_person=4):
    """An LFW-named image tree (<name>/<name>_0001.jpg; empty files: nothing is decoded) and its list."""
    root = tmp_path / "lfw"
    rows = []
    for p in range(people):
        name = f"Person_{p:02d}"
        (root / name).mkdir(parents=True)
        for k in range(1, per_person + 1):
            (root / name / f"{name}_{k:04d}.jpg").write_bytes(b"")
            rows.append(f"{name}/{name}_{k:04d}.jpg,{name}")
    (root / "list.csv").write_text("path,identity\n" + "\n".join(rows) + "\n")
    return root / "list.csv"


def test_split_writes_disjoint_lists_and_pairs_read_back_in_both_formats(tmp_path):
    out = split(lfw_like(tmp_path), tmp_path / "splits", "--val=0.25", "--test=0.25", "--pairs=40", "--folds=2")
    assert out.returncode == 0, out.stderr[-2000:]
    splits = tmp_path / "splits"
    people = {name: {r["identity"] for r in csv.DictReader(open(splits / f"{name}.csv"))}
              for name in ("train", "val", "test")}
    assert [len(people[k]) for k in ("train", "val", "test")] == [6, 3, 3]
    assert not (people["train"] & people["val"] or people["train"] & people["test"] or people["val"] & people["test"])
    summary = json.loads((splits / "split_summary.json").read_text())
    assert summary["splits"]["val"]["pairs"] == 36  # 3 people × 6 genuine pairs: 18 of each kind, not 20
    assert "fewer_pairs" in summary["splits"]["val"]
    from_csv = read_pairs(splits / "val_pairs.csv")
    from_lfw = read_pairs(splits / "val_pairs.txt", tmp_path / "lfw")
    for column in ("path1", "path2"):
        same_files = [os.path.normpath(a) == os.path.normpath(b)
                      for a, b in zip(getattr(from_csv, column), getattr(from_lfw, column))]
        assert all(same_files)
    assert (from_csv.same == from_lfw.same).all() and (from_csv.folds == from_lfw.folds).all()
    assert {p.split("/")[-2] for p in from_csv.path1} <= people["val"]


def test_split_refuses_bad_settings_and_foreign_outputs(tmp_path):
    listed = lfw_like(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    out = split(listed, tmp_path / "full")
    assert out.returncode == 1 and "was not written by tfface-split" in out.stderr
    out = split(listed, tmp_path / "o", "--val=1.5")
    assert out.returncode == 1 and "--val=1.5" in out.stderr
    (tmp_path / "lfw" / "Person_00" / "Person_00_0001.jpg").unlink()
    out = split(listed, tmp_path / "o")
    assert out.returncode == 1 and "Person_00_0001.jpg" in out.stderr
    assert not (tmp_path / "o").exists()
