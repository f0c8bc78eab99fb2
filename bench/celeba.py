"""CelebA subset helpers shared by the benches: detected-face rows, seeded splits, list files."""

from __future__ import annotations

import csv
import pathlib

import numpy as np

from tfface.evaluation.protocols import run_protocol
from tfface.export.saved_model import load_embedder


def detected_rows(celeba: pathlib.Path) -> list[dict]:
    """meta.csv rows whose face was detected (the aligned crops), or exit with where the data should be."""
    if not (celeba / "meta.csv").exists():
        raise SystemExit(f"error: {celeba}/meta.csv not found (research data kept beside the clone).")
    return [r for r in csv.DictReader(open(celeba / "meta.csv")) if r["detected"] == "1"]


def write_list(path: pathlib.Path, rows: list[tuple[str, str]]) -> str:
    """A path,identity list file."""
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([("path", "identity"), *rows])
    return str(path)


def split_lists(celeba: pathlib.Path, tmp: pathlib.Path, seed: int) -> tuple[str, str]:
    """Train/test list files with disjoint identities (a seeded half each), detected faces only."""
    rows = detected_rows(celeba)
    ids = sorted({r["identity"] for r in rows})
    train_ids = set(np.random.default_rng(seed).permutation(ids)[: len(ids) // 2].tolist())
    return (write_list(tmp / "train.csv", [(r["path"], r["identity"]) for r in rows if r["identity"] in train_ids]),
            write_list(tmp / "test.csv", [(r["path"], r["identity"]) for r in rows if r["identity"] not in train_ids]))


def retrieval_of(model_dir: str, test_list: str, root: str, out: str) -> dict:
    """Recall@K / NMI / F1 of an exported model on a list of test identities."""
    embed, size = load_embedder(model_dir)
    return run_protocol("retrieval", embed, size, test_list, root, out, flip=True)
