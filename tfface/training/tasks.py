"""Training tasks: what one replica computes in a step. The trainer owns the loop; a task owns
the modules, the loss and (if it needs to) the update.

A task's ``loss`` returns the replica's share of the global-batch mean (sum over its examples
divided by the *global* batch), so gradients summed over replicas equal the single-device ones.
Methods (FTL stages, SFT, DDL…) subclass :class:`Task` or override :meth:`Task.train_step`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfface.heads.classifier import MarginHead


class Task:
    """Base task: ``modules`` are checkpointed; ``train_step`` runs on one replica."""

    def __init__(self, modules: dict[str, keras.Model | keras.layers.Layer], global_batch: int):
        self.modules = modules
        self.global_batch = global_batch

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        return [v for m in self.modules.values() for v in m.trainable_variables]

    def loss(self, batch, step) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        raise NotImplementedError

    def train_step(self, batch, step, optimizer) -> dict[str, tf.Tensor]:
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            loss, metrics = self.loss(batch, step)
            loss = tf.debugging.check_numerics(loss, "non-finite training loss")
            scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return {"loss": loss, **metrics}


class ClassificationTask(Task):
    """backbone → margin head → softmax cross-entropy (+ the head's optional m-L2 term)."""

    def __init__(self, backbone: keras.Model, head: MarginHead, global_batch: int,
                 scale_warmup_steps: int = 0, scale_start: float = 8.0):
        super().__init__({"backbone": backbone, "head": head}, global_batch)
        self.backbone, self.head = backbone, head
        self.scale_warmup_steps, self.scale_start = scale_warmup_steps, scale_start

    def scale(self, step):
        """Margin-head scale: linear warm-up from ``scale_start`` to s, or None (fixed s)."""
        if not self.scale_warmup_steps:
            return None
        s = self.head.margin_args["s"]
        t = tf.minimum(1.0, tf.cast(step, tf.float32) / self.scale_warmup_steps)
        return self.scale_start + (s - self.scale_start) * t

    def loss(self, batch, step):
        images, labels = batch
        emb = self.backbone(images, training=True)
        logits = self.head(emb, labels, scale=self.scale(step))
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int32), logits=logits)
        reg = self.head.regularization(emb)
        per_example = ce + reg
        gb = float(self.global_batch)
        correct = tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), tf.cast(labels, tf.int32)),
                          tf.float32)
        loss = tf.reduce_sum(per_example) / gb
        model_losses = self.backbone.losses
        if model_losses:
            loss += tf.add_n(model_losses) / tf.distribute.get_strategy().num_replicas_in_sync
        return loss, {"ce": tf.reduce_sum(ce) / gb, "acc": tf.reduce_sum(correct) / gb}
