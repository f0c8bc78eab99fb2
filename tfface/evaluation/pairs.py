"""Verification pair lists: LFW ``pairs.txt`` and generic ``path1,path2,same`` CSV."""

from __future__ import annotations

import csv
import dataclasses
import os
import pathlib

import numpy as np

from tfface.errors import DataError


@dataclasses.dataclass(frozen=True)
class Pairs:
    """Two image paths and a same/different flag per pair, with a fold id per pair."""

    path1: np.ndarray
    path2: np.ndarray
    same: np.ndarray
    folds: np.ndarray
    origin: str = ""

    def check_files_exist(self) -> None:
        for p in (*self.path1, *self.path2):
            if not os.path.isfile(p):
                raise DataError(f"{self.origin}: names an image that does not exist: {p}. Fix the pairs "
                                "file or the root folder its paths are relative to (`eval_root`).")


def _lfw_path(root: pathlib.Path, name: str, num: str) -> str:
    return str(root / name / f"{name}_{int(num):04d}.jpg")


def read_lfw_pairs(path: str | os.PathLike, root: str | os.PathLike) -> Pairs:
    """LFW format: header ``folds n``, then per fold n lines ``name i j`` and n lines ``name1 i name2 j``."""
    path, root = pathlib.Path(path), pathlib.Path(root)
    lines = [ln.split() for ln in open(path).read().splitlines() if ln.strip()]
    try:
        n_folds, n = int(lines[0][0]), int(lines[0][1])
    except (IndexError, ValueError):
        raise DataError(f"{path}: first line must be '<folds> <pairs per class per fold>', e.g. '10 300'.") from None
    body = lines[1:]
    if len(body) != 2 * n_folds * n:
        raise DataError(f"{path}: header says {n_folds}×2×{n} = {2 * n_folds * n} pairs, found {len(body)}.")
    p1, p2, same = [], [], []
    for k, t in enumerate(body):
        if len(t) == 3:
            p1.append(_lfw_path(root, t[0], t[1]))
            p2.append(_lfw_path(root, t[0], t[2]))
            same.append(True)
        elif len(t) == 4:
            p1.append(_lfw_path(root, t[0], t[1]))
            p2.append(_lfw_path(root, t[2], t[3]))
            same.append(False)
        else:
            raise DataError(f"{path}:{k + 2}: expected 'name i j' or 'name1 i name2 j', got {' '.join(t)!r}.")
    folds = np.repeat(np.arange(n_folds), 2 * n)
    _both_kinds(np.array(same), path)
    return Pairs(np.array(p1), np.array(p2), np.array(same), folds, str(path))


def read_csv_pairs(path: str | os.PathLike, root: str | os.PathLike | None = None,
                   n_folds: int = 10) -> Pairs:
    """CSV with header ``path1,path2,same[,fold]``; paths relative to ``root`` (default: the file's folder).
    Folds come from the ``fold`` column if there is one, else they are stratified: the positive pairs, in
    file order, are cut into ``n_folds`` consecutive blocks and so are the negative pairs, so every fold
    holds both kinds even when the file lists all positives first (as CelebA's pairs.csv does)."""
    path = pathlib.Path(path)
    base = pathlib.Path(root) if root else path.parent
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"path1", "path2", "same"} <= set(reader.fieldnames or []):
            raise DataError(f"{path}: header must be 'path1,path2,same' (got {reader.fieldnames}).")
        numbered = [(reader.line_num, r) for r in reader]
    rows = [r for _, r in numbered]
    if len(rows) < n_folds:
        raise DataError(f"{path}: {len(rows)} pairs cannot make {n_folds} folds.")
    p1 = np.array([str(base / r["path1"]) for r in rows])
    p2 = np.array([str(base / r["path2"]) for r in rows])
    same = np.array([_label(r["same"], path, line) for line, r in numbered])
    _both_kinds(same, path)
    if "fold" in rows[0]:
        folds = np.array([int(r["fold"]) for r in rows])
    else:
        folds = np.zeros(len(rows), np.int64)
        for kind in (True, False):
            idx = np.flatnonzero(same == kind)
            folds[idx] = np.arange(len(idx)) * n_folds // max(len(idx), 1)
    return Pairs(p1, p2, same, folds, str(path))


_LABELS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def _label(value: str | None, path: pathlib.Path, line: int) -> bool:
    """A pair's ``same`` value: 1/0, true/false or yes/no in any case; anything else is an error."""
    word = (value or "").strip().lower()
    if word not in _LABELS:
        raise DataError(f"{path} line {line}: `same={(value or '').strip()}` is not a label; use 1/0, true/false or "
                        "yes/no.")
    return _LABELS[word]


def _both_kinds(same: np.ndarray, path) -> None:
    """Verification needs genuine and impostor pairs: with one kind, AUC, EER and accuracy mean nothing."""
    if same.all() or not same.any():
        raise DataError(f"{path}: {int(same.sum())} genuine and {int((~same).sum())} impostor pairs; verification "
                        "needs both kinds.")


def read_pairs(path: str | os.PathLike, root: str | os.PathLike | None = None) -> Pairs:
    """Read either format (CSV by its ``.csv`` suffix, else LFW) and check that every file exists."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"`eval_pairs={path}`: file not found.")
    if path.suffix.lower() == ".csv":
        pairs = read_csv_pairs(path, root)
    else:
        pairs = read_lfw_pairs(path, root or path.parent)
    pairs.check_files_exist()
    return pairs


def training_overlap(pairs: Pairs, train_paths, train_identities) -> dict[str, list[str]]:
    """What a pairs file shares with the training data: ``images`` (the same files) and ``identities`` (the
    names of the pair images' folders that are training identities, the usual <identity>/<image> layout)."""
    mine = {os.path.realpath(p) for p in (*pairs.path1, *pairs.path2)}
    shared_images = sorted(mine & {os.path.realpath(p) for p in train_paths})
    folders = {pathlib.Path(p).parent.name for p in mine}
    return {"images": shared_images, "identities": sorted(folders & {str(i) for i in train_identities})}
