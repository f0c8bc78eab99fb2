"""A backbone and its loss terms as a ``keras.Model``, for users who train with ``model.fit``.

Single-phase recipes only (a backbone and a list of :mod:`~tfface.training.terms`); multi-phase programs
(FTL) and multi-worker training stay on tfface's own loop (MultiWorkerMirroredStrategy with Keras' fit has
open problems: keras-team/keras#20585). Under ``MirroredStrategy`` each replica's loss is its share of the
global-batch mean, as in the trainer, so 2 replicas take the step one device takes.

    with strategy.scope():
        model = FaceModel(backbone, [HeadTerm(head)], global_batch=128)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(dataset_of_images_and_labels, epochs=…)   # batches of the global size
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfface.training.tasks import EmbeddingTask
from tfface.training.terms import LossTerm


class FaceModel(keras.Model):
    """images → embeddings; ``fit`` minimises Σ weight · value of the loss terms.

    Args:
        backbone: images → embeddings.
        terms: the loss terms (their state is tracked and saved with the model's weights).
        global_batch: the batch size of the dataset given to ``fit`` (all replicas together).
    """

    def __init__(self, backbone: keras.Model, terms: list[LossTerm], global_batch: int, **kwargs):
        super().__init__(**kwargs)
        self.task = EmbeddingTask(backbone, global_batch, terms)
        self.backbone = backbone
        self.parts = {k: v for k, v in self.task.modules.items() if k != "backbone"}  # tracked for weights

    def call(self, images, training: bool = False):
        return self.backbone(images, training=training)

    def train_step(self, data):
        images, labels = data
        with tf.GradientTape() as tape:
            loss, metrics, state = self.task.forward((images, labels), self.optimizer.iterations)
            loss = tf.debugging.check_numerics(loss, "non-finite training loss")
        variables = self.task.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.task.after_step(state)
        return {name: _global(value) for name, value in {"loss": loss, **metrics}.items()}


def _global(value: tf.Tensor) -> tf.Tensor:
    """A replica's share summed over the replicas: the global value on every replica (logged as is)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return value
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)
