"""Anchor embedding sets for IDA-R (Liu et al. 2021, Sec. 3.2): from an embeddings file, from images
(one per identity or all), or from a trained head's class weights ("weights of FC layers").

Each loader returns (embeddings [A, D], identities [A] or None). Identities are names (strings) so that
they compare across files: a list file's identity column, an .npz's ``labels``, a head's training-class
names — the SSR fit uses them to leave each query's own identity out of its support set."""

from __future__ import annotations

import os

import numpy as np

from tfface.errors import DataError

_KEYS = ("anchors", "embeddings", "features")


def load_anchor_file(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(embeddings [A, D], labels or None) from ``.npy`` (the array) or ``.npz`` (one of the keys
    anchors / embeddings / features, and ``labels`` if present)."""
    if not os.path.isfile(path):
        raise DataError(f"`ida_anchors={path}`: file not found.")
    if path.endswith(".npy"):
        return np.load(path).astype(np.float32), None
    if path.endswith(".npz"):
        data = np.load(path, allow_pickle=False)
        key = next((k for k in _KEYS if k in data.files), None)
        if key is None:
            raise DataError(f"`ida_anchors={path}`: no array named {', '.join(_KEYS)} in it (has {data.files}).")
        labels = data["labels"].astype(str) if "labels" in data.files else None
        return data[key].astype(np.float32), labels
    raise DataError(f"`ida_anchors={path}`: use a .npy or .npz embeddings file, a CSV image list or 'head'.")


def save_anchors(path: str, emb: np.ndarray, labels: np.ndarray | None = None) -> str:
    np.savez(path, anchors=np.asarray(emb, np.float32), **({} if labels is None else {"labels": labels}))
    return path


def anchors_from_images(embed, list_file: str, root: str | None, image_size: int, per_identity: int = 1,
                        batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Embed ``per_identity`` images of each identity of a list file (0 = all); identities = their names."""
    from tfface.data.sources import from_list_file
    from tfface.models.embed import embed_paths

    src = from_list_file(list_file, root)
    keep = np.ones(len(src), bool)
    if per_identity:
        first = np.searchsorted(src.labels, np.arange(src.num_classes))
        rank = np.arange(len(src)) - first[src.labels]
        keep = rank < per_identity
    src.subset(np.flatnonzero(keep)).check_files_exist()
    names = np.asarray(src.class_names, dtype=str)
    return embed_paths(embed, src.paths[keep], image_size, batch, flip=True), names[src.labels[keep]]
