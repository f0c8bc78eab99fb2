"""Input pipelines: sampler -> per-worker slice -> decode/augment -> per-replica batches.

The sampler yields *global* index batches. With ``tf.distribute`` each input pipeline (one per
worker) takes its slice of the global batch and cuts it into one batch per local replica, in
replica order, so replica r of worker w always sees images [(w·R + r)·b, (w·R + r + 1)·b) of
the global batch (b = per-replica batch). Mirrored training on N devices therefore sees exactly
the batch a single device would, which the equivalence tests rely on.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfface.data import samplers
from tfface.data.augment import Augment, augment_image
from tfface.data.decode import load_image
from tfface.data.sources import Source
from tfface.errors import ConfigError

AUTOTUNE = tf.data.AUTOTUNE


@dataclasses.dataclass(frozen=True)
class TrainInput:
    """What the training pipeline needs besides the source."""

    global_batch: int
    image_size: int
    sampler: str = "uniform"
    pk_k: int = 4
    pk_strict: bool = False
    flip: bool = True
    seed: int = 0
    augment: Augment = Augment()


def check_batch_split(global_batch: int, replicas: int) -> int:
    """Per-replica batch size, or a clear error when the global batch does not split evenly."""
    if global_batch % replicas:
        raise ConfigError(f"`batch_size={global_batch}` does not split over {replicas} replicas; use a "
                          f"multiple of {replicas} (e.g. {global_batch - global_batch % replicas or replicas}).")
    return global_batch // replicas


def worker_slice(global_batch: int, input_context: tf.distribute.InputContext | None) -> tuple[int, int, int]:
    """(start, stop, per_replica): this input pipeline's rows of each global batch."""
    pipelines = input_context.num_input_pipelines if input_context else 1
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    replicas = input_context.num_replicas_in_sync if input_context else 1
    per_replica = check_batch_split(global_batch, replicas)
    rows = replicas // pipelines * per_replica
    return pipeline_id * rows, (pipeline_id + 1) * rows, per_replica


def sampled_rows(class_counts, cfg: TrainInput, start_step: int = 0,
                 input_context: tf.distribute.InputContext | None = None) -> tuple[tf.data.Dataset, int]:
    """(dataset of this input pipeline's (rows [n], flip [n], seeds [n, 2]) of each global batch from
    ``start_step`` on, the per-replica batch): the sampler's indices into a label-sorted set with
    ``class_counts`` images per class, and each image's flip draw and augmentation seed pair
    (:func:`image_draws`)."""
    lo, hi, per_replica = worker_slice(cfg.global_batch, input_context)
    idx = samplers.make_sampler(cfg.sampler, class_counts, cfg.global_batch, cfg.seed, start_step,
                                cfg.pk_k, cfg.pk_strict)
    seed = cfg.seed

    def slice_rows(step, batch):
        return (batch[lo:hi], *image_draws(seed, step, cfg.global_batch, lo, hi))

    return tf.data.Dataset.zip(tf.data.Dataset.range(start_step, 2**62), idx).map(slice_rows), per_replica


def image_draws(seed: int, step: tf.Tensor, global_batch: int, lo: int, hi: int) -> tuple[tf.Tensor, tf.Tensor]:
    """(flip [hi − lo] bool, augmentation seed pairs [hi − lo, 2]) of positions [lo, hi) of step ``step``'s
    global batch: a flip draw seeded by (seed + 7, step) and the pair (seed + 11, step · global_batch +
    position) — the same whatever the replica count."""
    step = tf.cast(step, tf.int64)
    flips = tf.random.stateless_uniform([global_batch], tf.stack([tf.cast(seed, tf.int64) + 7, step])) < 0.5
    positions = step * global_batch + tf.range(global_batch, dtype=tf.int64)
    seeds = tf.stack([tf.fill([global_batch], tf.cast(seed, tf.int64) + 11), positions], axis=1)
    return flips[lo:hi], seeds[lo:hi]


def flip_and_augment(image: tf.Tensor, flip: tf.Tensor, seed: tf.Tensor, cfg: TrainInput) -> tf.Tensor:
    """The image mirrored left-right when ``flip`` (and ``cfg.flip``), then augmented (``cfg.augment``)."""
    if cfg.flip:
        image = tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)
    return augment_image(image, seed, cfg.augment)


def train_dataset(source: Source, cfg: TrainInput, start_step: int = 0,
                  input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
    """Per-replica batches of (uint8 images [b, H, W, 3], int32 labels [b]) from ``start_step`` on."""
    rows, per_replica = sampled_rows(source.class_counts, cfg, start_step, input_context)
    paths = tf.constant(source.paths)
    labels = tf.constant(source.labels, tf.int32)

    def load(i, flip, seed):
        return flip_and_augment(load_image(tf.gather(paths, i), cfg.image_size), flip, seed, cfg), tf.gather(labels, i)

    ds = rows.unbatch().map(load, num_parallel_calls=AUTOTUNE, deterministic=True)
    return finish_for_strategy(ds.batch(per_replica, drop_remainder=True))


def finish_for_strategy(ds: tf.data.Dataset) -> tf.data.Dataset:
    """No tf.distribute auto-sharding (the pipelines slice the global batch themselves), then prefetch."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(AUTOTUNE)


def image_dataset(paths, image_size: int, batch: int) -> tf.data.Dataset:
    """Ordered batches of uint8 images for embedding extraction (no shuffling, last batch kept)."""
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(list(map(str, paths))))
    ds = ds.map(lambda p: load_image(p, image_size), num_parallel_calls=AUTOTUNE, deterministic=True)
    return ds.batch(batch).prefetch(AUTOTUNE)
