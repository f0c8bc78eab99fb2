"""N replicas ≡ one device, tested where it is exact: from one shared state, one step on each strategy.

A multi-step trajectory amplifies rounding (ArcFace's θ + m > π branch, the acos slope near |cos| = 1,
a tie in batch-hard mining flip on a 1e-6 difference), so a trajectory test passes on one CPU and fails
on the next. Instead: a few warm-up steps on one device write a checkpoint (weights, optimiser slots,
centres, step); each strategy restores it, computes the loss and gradients of the next global batch, then
the trainer takes that one step; losses, gradients and every updated variable are compared tightly.

Even one step is not exact through a ReLU: a pre-activation within ~1e-7 of zero flips its gate under
another summation order (one flip among ~10⁵ activations moved a layer's gradient by 1% here, with
oneDNN off). The comparisons therefore use :func:`smooth_backbone` — the same kind of network (strided
convolutions, synchronised batch norm, an embedding layer) with GELU and no max-pooling, so the step is
a smooth function of its inputs; what is under test is the distributed step, not the activation.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfface.training.trainer import Trainer, TrainerConfig

Build = Callable[[], tuple]  # inside a strategy scope → (task, optimizer)
DatasetFor = Callable[[int], Callable]  # replicas → trainer dataset_fn(start, ctx)


@dataclasses.dataclass
class StepResult:
    loss: float
    metrics: dict
    gradients: list[np.ndarray]
    before: list[np.ndarray]
    after: list[np.ndarray]


def smooth_backbone(image_size: int = 32, embedding_size: int = 16) -> keras.Model:
    """uint8 images → embeddings through kink-free layers (see the module docstring)."""
    layers = keras.layers
    inputs = keras.Input((image_size, image_size, 3), name="images")
    x = layers.Rescaling(1.0 / 128.0, offset=-127.5 / 128.0)(inputs)
    for filters in (16, 32, 32):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(synchronized=True)(x)
        x = layers.Activation("gelu")(x)
    x = layers.Dense(embedding_size)(layers.Flatten()(x))
    x = layers.BatchNormalization(synchronized=True, name="embedding")(x)
    return keras.Model(inputs, x, name="smooth_cnn")


def mirrored() -> tf.distribute.Strategy:
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice())


def _trainer(strategy, build: Build, workdir, total: int, global_batch: int) -> Trainer:
    keras.utils.set_random_seed(7)
    with strategy.scope():
        task, optimizer = build()
    return Trainer(strategy, task, optimizer, TrainerConfig(total, global_batch, str(workdir), log_every=1,
                                                            checkpoint_every=10**9), printer=lambda s: None)


def _state(task) -> list[np.ndarray]:
    """Every module's variables, trainable and not (BN statistics, centres); a sharded head's kernel whole."""
    return [a for m in task.modules.values()
            for a in ([v.numpy().copy() for v in m.weights] if hasattr(m, "weights") else [m.kernel.full().numpy()])]


def _gradients(trainer: Trainer, dataset_fn, start: int) -> tuple[float, list[np.ndarray]]:
    strategy, task = trainer.strategy, trainer.task
    batch = next(iter(strategy.distribute_datasets_from_function(lambda ctx: dataset_fn(start, ctx))))
    variables = task.trainable_variables

    @tf.function
    def run(batch):
        def replica(b):
            with tf.GradientTape() as tape:
                loss, _, _ = task.forward(b, trainer.step.read_value())
            grads = tape.gradient(loss, variables)
            return loss, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g) for g, v in zip(grads, variables)]

        loss, grads = strategy.run(replica, args=(batch,))
        return strategy.reduce("SUM", loss, axis=None), [strategy.reduce("SUM", g, axis=None) for g in grads]

    loss, grads = run(batch)
    return float(loss), [g.numpy() for g in grads]


def one_step(strategy, build: Build, dataset_fn, workdir, warm_dir, warm_steps: int,
             global_batch: int) -> StepResult:
    """Restore the warm-up checkpoint into ``workdir`` and take step ``warm_steps + 1`` under ``strategy``."""
    shutil.copytree(warm_dir / "checkpoints", workdir / "checkpoints")
    trainer = _trainer(strategy, build, workdir, warm_steps + 1, global_batch)
    start = trainer.restore()
    assert start == warm_steps
    loss, grads = _gradients(trainer, dataset_fn, start)
    trainer.restore()  # the forward pass above moved batch-norm statistics
    before = _state(trainer.task)
    metrics = trainer.fit(dataset_fn)
    return StepResult(loss, metrics, grads, before, _state(trainer.task))


def assert_one_step_equivalence(build: Build, dataset_for: DatasetFor, tmp_path, global_batch: int,
                                warm_steps: int = 3, rtol: float = 2e-4) -> tuple[StepResult, StepResult]:
    """Warm up on one device, then check that one step on 2 mirrored replicas equals one step on one device:
    the loss and each metric, every gradient and every updated variable (incl. non-trainable state)."""
    one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
    warm = _trainer(one_device, build, tmp_path / "warm", warm_steps, global_batch)
    warm.fit(dataset_for(1))
    warm.save()
    a = one_step(one_device, build, dataset_for(1), tmp_path / "one", tmp_path / "warm", warm_steps, global_batch)
    b = one_step(mirrored(), build, dataset_for(2), tmp_path / "two", tmp_path / "warm", warm_steps, global_batch)
    assert np.isclose(a.loss, b.loss, rtol=rtol, atol=1e-6), (a.loss, b.loss)
    assert a.metrics.keys() == b.metrics.keys()
    for k in a.metrics:
        assert np.isclose(a.metrics[k], b.metrics[k], rtol=rtol, atol=1e-6), (k, a.metrics[k], b.metrics[k])
    largest = max(float(np.abs(g).max()) for g in a.gradients)
    assert largest > 1e-4  # the step has a real gradient
    for i, (ga, gb) in enumerate(zip(a.gradients, b.gradients)):
        # relative to the variable's largest gradient; a gradient that is zero in exact arithmetic (a bias
        # before batch norm) is rounding noise of ~1e-7, hence the small absolute floor
        np.testing.assert_allclose(gb, ga, atol=rtol * float(np.abs(ga).max()) + 1e-6, err_msg=f"gradient {i}")
    assert max(float(np.abs(x - y).max()) for x, y in zip(a.after, a.before)) > 1e-5  # the step moved weights
    for i, (wa, wb) in enumerate(zip(a.after, b.after)):
        np.testing.assert_allclose(wb, wa, atol=1e-5 * max(1.0, float(np.abs(wa).max())), err_msg=f"variable {i}")
    return a, b
