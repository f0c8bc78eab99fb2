"""DDL's data (Huang et al. 2020, Sec. 3.1, Fig. 2): easy/hard partitions, offline positive pairs and the
per-replica batch layout.

A partition is a set of training images chosen by an attribute range (e.g. light azimuth, yaw or
resolution; ``|value|`` optionally) or by an explicit list of paths. Partition 0 is the teacher (easy),
the others are students (hard). For each partition and step the global batch holds b positive pairs
(2b images, pairs built offline and stored in a CSV) and b images of b distinct identities; every replica
gets its contiguous share, so pairs stay together. A normal classification batch rides along.
"""

from __future__ import annotations

import csv
import dataclasses
import os

import numpy as np
import tensorflow as tf

from tfface.data import pipeline
from tfface.data.decode import load_image
from tfface.data.sources import Source
from tfface.errors import ConfigError, DataError


@dataclasses.dataclass(frozen=True)
class Partition:
    name: str
    indices: np.ndarray  # images of the source in this partition


def parse_range(text: str, flag: str) -> tuple[float, float]:
    """'lo:hi' → (lo, hi), inclusive."""
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise ConfigError(f"{flag}: {text!r} is not a range lo:hi (e.g. 0:25).") from None
    if lo > hi:
        raise ConfigError(f"{flag}: {text!r} has lo > hi.")
    return lo, hi


def attribute_partitions(source: Source, attribute: str, ranges: list[tuple[float, float]],
                         use_abs: bool = True) -> list[Partition]:
    """One partition per range of ``attribute`` (its absolute value if ``use_abs``); teacher first."""
    if attribute not in source.attributes:
        raise ConfigError(f"`ddl_attribute={attribute}`: the training list has no such column (it has: "
                          f"{', '.join(source.attributes) or 'none'}).")
    values = np.asarray(source.attributes[attribute])
    if values.dtype.kind not in "fiu":
        raise DataError(f"{source.origin}: column {attribute!r} must be numeric for `ddl_attribute`.")
    values = np.abs(values) if use_abs else values
    names = ["teacher"] + [f"student{k}" for k in range(1, len(ranges))]
    return [Partition(n, np.flatnonzero((values >= lo) & (values <= hi))) for n, (lo, hi) in zip(names, ranges)]


def list_partitions(source: Source, list_files: list[str], root: str | None = None) -> list[Partition]:
    """Partitions from CSV files with a ``path`` column, paths relative to ``root`` (default: each file's
    folder) exactly as for the training list; every path must be a training image."""
    where = {os.path.abspath(p): i for i, p in enumerate(source.paths)}
    out = []
    for k, name in enumerate(list_files):
        base = root or os.path.dirname(os.path.abspath(name))
        with open(name, newline="") as fh:
            paths = [os.path.abspath(os.path.join(base, r["path"])) for r in csv.DictReader(fh)]
        missing = [p for p in paths if p not in where]
        if missing:
            raise DataError(f"{name}: {len(missing)} paths are not in the training list, e.g. {missing[0]}.")
        out.append(Partition("teacher" if k == 0 else f"student{k}", np.array(sorted(where[p] for p in paths))))
    return out


def positive_pairs(labels: np.ndarray, indices: np.ndarray, max_per_identity: int = 20,
                   seed: int = 0) -> np.ndarray:
    """[P, 2] offline positive pairs inside a partition: per identity up to ``max_per_identity`` random
    pairs of distinct images (all pairs when there are fewer)."""
    rng = np.random.default_rng(seed)
    out = []
    for ident in np.unique(labels[indices]):
        imgs = indices[labels[indices] == ident]
        if len(imgs) < 2:
            continue
        i, j = np.triu_indices(len(imgs), 1)
        pick = rng.permutation(len(i))[:max_per_identity]
        out.append(np.stack([imgs[i[pick]], imgs[j[pick]]], 1))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def save_pairs(path: str, source: Source, pairs: np.ndarray) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path1", "path2", "identity"])
        w.writerows((source.paths[a], source.paths[b], source.class_names[source.labels[a]]) for a, b in pairs)


def load_pairs(path: str, source: Source) -> np.ndarray:
    where = {p: i for i, p in enumerate(source.paths)}
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    try:
        return np.array([(where[r["path1"]], where[r["path2"]]) for r in rows], np.int64).reshape(-1, 2)
    except KeyError as err:
        raise DataError(f"{path}: pair image {err} is not in the training list; delete the file to rebuild it.") \
            from None


def check_partition(source: Source, part: Partition, pairs: np.ndarray, b_global: int) -> None:
    """Refuse a partition that cannot fill its share of a global batch."""
    ids = len(np.unique(source.labels[part.indices])) if len(part.indices) else 0
    if ids < b_global:
        raise DataError(f"DDL partition {part.name}: {len(part.indices)} images of {ids} identities, but each "
                        f"step needs {b_global} distinct identities (`ddl_pairs_per_replica` × replicas); widen "
                        "its range or lower `ddl_pairs_per_replica`.")
    if len(pairs) == 0:
        raise DataError(f"DDL partition {part.name}: no identity has two images in it, so there are no positive "
                        "pairs; widen its range.")


def partition_indices(source: Source, part: Partition, pairs: np.ndarray, b_global: int, seed: int):
    """step ↦ global image indices of the partition: [2b pair images (x₁₁, x₁₂, …), b distinct identities]."""
    labels = source.labels[part.indices]
    ids = np.unique(labels)
    offsets = np.searchsorted(labels, ids)
    counts = np.bincount(np.searchsorted(ids, labels), minlength=len(ids))
    order = np.argsort(labels, kind="stable")
    members = tf.constant(part.indices[order], tf.int64)
    pairs_t, offsets_t = tf.constant(pairs, tf.int64), tf.constant(offsets, tf.int64)
    counts_t = tf.constant(counts, tf.int64)

    def draw(step):
        s = tf.stack([tf.cast(seed, tf.int64), step])
        pick = tf.random.stateless_uniform([b_global], s, 0, len(pairs), dtype=tf.int64)
        pair_images = tf.reshape(tf.gather(pairs_t, pick), [-1])  # x₁₁, x₁₂, x₂₁, …
        ident = tf.argsort(tf.random.stateless_uniform([len(ids)], s + 1))[:b_global]  # distinct identities
        u = tf.random.stateless_uniform([b_global], s + 2)
        k = tf.cast(tf.cast(u, tf.float64) * tf.cast(tf.gather(counts_t, ident), tf.float64), tf.int64)
        one_each = tf.gather(members, tf.gather(offsets_t, ident) + k)
        return pair_images, one_each, tf.gather(tf.constant(source.labels, tf.int64), one_each)

    return draw


def ddl_dataset(source: Source, parts: list[Partition], pairs: list[np.ndarray], cfg: pipeline.TrainInput,
                pairs_per_replica: int, start_step: int = 0,
                input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Per-replica elements ``(classification batch, ((pair images, pair labels, neg images, neg labels), …))``.

    ``cfg.global_batch`` is the classification batch; each partition adds 2b pair images and b identity
    images per replica (b = ``pairs_per_replica``)."""
    replicas = input_context.num_replicas_in_sync if input_context else 1
    pipelines = input_context.num_input_pipelines if input_context else 1
    pid = input_context.input_pipeline_id if input_context else 0
    per_pipe = replicas // pipelines
    b, b_global = pairs_per_replica, pairs_per_replica * replicas
    for part, p in zip(parts, pairs):
        check_partition(source, part, p, b_global)
    paths, labels = tf.constant(source.paths), tf.constant(source.labels, tf.int32)
    size = cfg.image_size

    def load(i):
        return load_image(tf.gather(paths, i), size)

    def part_ds(k):
        draw = partition_indices(source, parts[k], pairs[k], b_global, cfg.seed + 101 * (k + 1))

        def split(step):
            pair_images, neg, _ = draw(step)
            lo = pid * per_pipe
            rows = []
            for r in range(per_pipe):  # this pipeline's replicas, in order
                rep = lo + r
                rows.append((pair_images[2 * b * rep: 2 * b * (rep + 1)], neg[b * rep: b * (rep + 1)]))
            return tf.data.Dataset.from_tensor_slices(tuple(tf.stack(v) for v in zip(*rows)))

        def load_all(pair_idx, neg_idx):
            pair_img = tf.map_fn(load, pair_idx, fn_output_signature=tf.TensorSpec([size, size, 3], tf.uint8))
            neg_img = tf.map_fn(load, neg_idx, fn_output_signature=tf.TensorSpec([size, size, 3], tf.uint8))
            return pair_img, tf.gather(labels, pair_idx), neg_img, tf.gather(labels, neg_idx)

        ds = tf.data.Dataset.range(start_step, 2**62).flat_map(split)
        return ds.map(load_all, num_parallel_calls=pipeline.AUTOTUNE, deterministic=True)

    cls = pipeline.train_dataset(source, cfg, start_step, input_context)
    ds = tf.data.Dataset.zip((cls, tf.data.Dataset.zip(tuple(part_ds(k) for k in range(len(parts))))))
    return pipeline.finish_for_strategy(ds)
