"""Samplers: tf.data streams of global batches of image indices into a :class:`Source`.

Every sampler is deterministic in (seed, step): the batch for step s is the same whether a run
starts at 0 or resumes at s, on any number of replicas. Sources are sorted by label, so class c
owns indices [offset[c], offset[c] + count[c]).
"""

from __future__ import annotations

import logging

import numpy as np
import tensorflow as tf

from tfface.errors import DataError


def _epoch_groups(num_items: int, group: int, seed: int, start_step: int) -> tf.data.Dataset:
    """Each epoch a fresh permutation of range(num_items), cut into ⌊num_items/group⌋ groups.

    Items never repeat inside a group (the remainder of an epoch is dropped rather than mixed
    with the next epoch).
    """
    per_epoch = num_items // group
    if per_epoch == 0:
        raise DataError(f"cannot draw groups of {group} from {num_items} items")
    first_epoch = start_step // per_epoch

    def epoch(e):
        perm = tf.random.experimental.stateless_shuffle(
            tf.range(num_items, dtype=tf.int64), seed=tf.stack([tf.cast(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(tf.reshape(perm[: per_epoch * group], [per_epoch, group]))

    ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(epoch)
    return ds.skip(start_step - first_epoch * per_epoch)


def uniform(num_images: int, batch: int, seed: int = 0, start_step: int = 0) -> tf.data.Dataset:
    """Shuffled epochs over all images."""
    if num_images < batch:
        raise DataError(f"`batch_size={batch}` is larger than the {num_images} training images.")
    return _epoch_groups(num_images, batch, seed, start_step)


def _steps(start_step: int) -> tf.data.Dataset:
    return tf.data.Dataset.range(start_step, 2**62)


def class_balanced(counts: np.ndarray, batch: int, seed: int = 0, start_step: int = 0) -> tf.data.Dataset:
    """Each sample: a class drawn uniformly (among classes with images), then one of its images uniformly."""
    counts_t = tf.constant(counts, tf.int64)
    offsets = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]), tf.int64)
    nonempty = tf.constant(np.flatnonzero(np.asarray(counts) > 0), tf.int64)
    num_classes = int(nonempty.shape[0])
    if num_classes == 0:
        raise DataError("class-balanced sampling needs at least one class with images.")

    def draw(step):
        s = tf.stack([tf.cast(seed, tf.int64), step])
        cls = tf.gather(nonempty, tf.random.stateless_uniform([batch], s, 0, num_classes, dtype=tf.int64))
        u = tf.random.stateless_uniform([batch], s + 1)
        off = tf.cast(u * tf.cast(tf.gather(counts_t, cls), tf.float32), tf.int64)
        return tf.gather(offsets, cls) + tf.minimum(off, tf.gather(counts_t, cls) - 1)

    return _steps(start_step).map(draw)


def pk(counts: np.ndarray, p: int, k: int, seed: int = 0, start_step: int = 0, strict: bool = False,
       log=logging.warning) -> tf.data.Dataset:
    """P distinct identities × K images each per global batch, laid out class by class.

    The P classes come from per-epoch class permutations, so they are always distinct. Within a
    class of n ≥ K images the K are distinct: one from each of K strata of a random rotation of the
    class. Classes with n < K repeat images (logged with their number); ``strict`` refuses them.
    """
    counts = np.asarray(counts)
    num_classes = len(counts)
    if p > num_classes:
        raise DataError(f"P×K sampler: P={p} identities per batch but only {num_classes} classes; lower "
                        "`batch_size` or raise `pk_k`.")
    small = int((counts < k).sum())
    if small:
        msg = (f"P×K sampler: {small} of {num_classes} classes have fewer than K={k} images")
        if strict:
            raise DataError(msg + "; `pk_strict` refuses them. Drop those classes, lower `pk_k`, or "
                            "leave out `pk_strict` to repeat their images.")
        log(msg + "; their images repeat inside a batch (`pk_strict` refuses instead).")
    counts_t = tf.constant(counts, tf.int64)
    offsets = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]), tf.int64)
    j = tf.range(k, dtype=tf.int64)

    def draw(step, classes):
        s = tf.stack([tf.cast(seed, tf.int64) + 1, step])
        n = tf.gather(counts_t, classes)[:, None]  # [P, 1]
        lo = j[None] * n // k
        hi = (j[None] + 1) * n // k
        u = tf.random.stateless_uniform([p, k], s)
        within = lo + tf.cast(u * tf.cast(hi - lo, tf.float32), tf.int64)
        within = tf.where(n >= k, tf.minimum(within, hi - 1), j[None] % n)
        rot = tf.random.stateless_uniform([p, 1], s + 1, 0, 2**31, dtype=tf.int64)
        within = (within + rot) % n
        return tf.reshape(tf.gather(offsets, classes)[:, None] + within, [p * k])

    groups = _epoch_groups(num_classes, p, seed, start_step)
    return tf.data.Dataset.zip(_steps(start_step), groups).map(draw)


SAMPLERS = ("uniform", "balanced", "pk")


def make_sampler(name: str, counts: np.ndarray, batch: int, seed: int, start_step: int = 0,
                 pk_k: int = 4, pk_strict: bool = False) -> tf.data.Dataset:
    """A stream of global index batches of size ``batch`` by sampler name."""
    if name == "uniform":
        return uniform(int(np.sum(counts)), batch, seed, start_step)
    if name == "balanced":
        return class_balanced(counts, batch, seed, start_step)
    if name == "pk":
        if batch % pk_k:
            raise DataError(f"`sampler=pk`: `batch_size={batch}` is not a multiple of `pk_k={pk_k}`.")
        return pk(counts, batch // pk_k, pk_k, seed, start_step, pk_strict)
    raise DataError(f"`sampler={name!r}` is unknown; choose one of {SAMPLERS}.")
