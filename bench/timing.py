"""Timing a tfface trainer step on one in-memory batch (shared by the throughput benches)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfface.heads.classifier import MarginHead
from tfface.models.backbones import build_backbone
from tfface.training.tasks import ClassificationTask
from tfface.training.trainer import Trainer, TrainerConfig


def constant_batches(size: int, batch: int, classes: int) -> tf.data.Dataset:
    """One random uint8 batch with random labels, repeated (measures the step, not the input)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, size, size, 3)).astype(np.uint8)
    y = rng.integers(0, classes, batch).astype(np.int32)
    return tf.data.Dataset.from_tensors((x, y)).repeat()


def step_timer(name: str, size: int, batch: int, classes: int, task_fn: Callable | None = None,
               embedding: int = 512) -> Callable[[int], float]:
    """A function n ↦ seconds per tfface trainer step (one device), timed from the end of a first step
    to the end of the last. ``task_fn(backbone, head, batch)`` builds the task (default: ArcFace CE)."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        backbone = build_backbone(name, size, embedding, sync_bn=False)
        head = MarginHead(classes, "arcface", s=64.0, m=0.5)
        head.build((None, embedding))
        opt = keras.optimizers.SGD(0.01, momentum=0.9)
        task = (task_fn or (lambda b, h, n: ClassificationTask(b, h, n)))(backbone, head, batch)
    trainer = Trainer(strategy, task, opt, TrainerConfig(10**6, batch, tempfile.mkdtemp()), printer=lambda s: None)
    it = iter(strategy.distribute_datasets_from_function(lambda ctx: constant_batches(size, batch, classes)))
    step_fn, one = trainer._make_step(), tf.constant(1, tf.int64)  # one trainer step per call

    def run(n: int) -> float:
        step_fn(it, one)["loss"].numpy()
        t = time.perf_counter()
        for _ in range(n):
            out = step_fn(it, one)
        out["loss"].numpy()
        return (time.perf_counter() - t) / n

    return run
