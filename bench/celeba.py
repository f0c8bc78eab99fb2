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


def cross_identity_duplicates(celeba: pathlib.Path, rows: list[dict]) -> set[str]:
    """Paths of images whose decoded pixels are identical to an image of another identity (CelebA label
    noise: in the detected faces, 9 such pairs, 8 of them involving identity 7312)."""
    import hashlib

    import tensorflow as tf

    by_hash: dict[str, list[dict]] = {}
    for r in rows:
        pixels = tf.io.decode_image(tf.io.read_file(str(celeba / r["path"]))).numpy().tobytes()
        by_hash.setdefault(hashlib.md5(pixels).hexdigest(), []).append(r)
    return {r["path"] for group in by_hash.values() if len({g["identity"] for g in group}) > 1 for r in group}


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


def train_on_list(list_file: str, root: str, workdir: pathlib.Path, steps: int, image_size: int = 64,
                  **settings) -> str:
    """Train the benches' small ArcFace model (64 px, batch 64, lr 0.1; ``settings`` by flag name change it) on
    a list file; return its SavedModel folder. A finished run in ``workdir`` is reused (the benches resume)."""
    from tfface.config import RunConfig
    from tfface.programs.training import train

    export = workdir / "run" / "export"
    if (export / "saved_model.pb").exists():
        return str(export)
    train(RunConfig.of(data="list", list_file=list_file, data_root=root, image_size=image_size, steps=steps,
                       batch_size=64, lr=0.1, warmup_steps=100, log_every=250, checkpoint_every=10**9,
                       workdir=str(workdir / "run"), **settings))
    return str(export)


def retrieval_of(model_dir: str, test_list: str, root: str, out: str) -> dict:
    """Recall@K / NMI / F1 of an exported model on a list of test identities."""
    embed, size = load_embedder(model_dir)
    return run_protocol("retrieval", embed, size, test_list, root, out, flip=True)
