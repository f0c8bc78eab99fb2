"""Training tasks: what one replica computes in a step. The trainer owns the loop; a task owns
the modules, the loss and (if it needs to) the update.

A task's ``loss`` returns the replica's share of the global-batch mean (sum over its examples
divided by the *global* batch), so gradients summed over replicas equal the single-device ones.
Methods (FTL stages, SFT, DDL…) subclass :class:`Task` or override :meth:`Task.train_step`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from tfface.heads.classifier import MarginHead
from tfface.losses.discface import batch_discrepancies, discrepancy, displacement
from tfface.losses.pairs import global_sum, mean_of


def head_cross_entropy(head: MarginHead, emb, labels, scale=None) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-sample cross-entropy of a margin head's logits and top-1 correctness (float 0/1)."""
    labels = tf.cast(labels, tf.int32)
    logits = head(emb, labels, scale=scale)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return ce, tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels), tf.float32)


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

    def forward(self, batch, step):
        """(loss, metrics, state for :meth:`after_step`). Keep per-replica tensors here, never on
        ``self``: replicas trace the same task object concurrently."""
        loss, metrics = self.loss(batch, step)
        return loss, metrics, None

    def after_step(self, state) -> None:
        """Non-gradient updates after the optimiser step (e.g. class centres)."""
        return None

    def descend(self, loss_fn: Callable[[], tuple], optimizer) -> tuple:
        """One optimiser update of the trainable variables on ``loss_fn()`` = (loss, *rest); returns its
        value. A non-finite loss stops training; the loss is scaled under mixed precision."""
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            loss, *rest = loss_fn()
            loss = tf.debugging.check_numerics(loss, "non-finite training loss")
            scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        grads = tape.gradient(scaled, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return (loss, *rest)

    def train_step(self, batch, step, optimizer) -> dict[str, tf.Tensor]:
        loss, metrics, state = self.descend(lambda: self.forward(batch, step), optimizer)
        self.after_step(state)
        return {"loss": loss, **metrics}


class EmbeddingTask(Task):
    """backbone → embeddings → any sum of: margin-head cross-entropy (+ its m-L2 term), weighted
    metric losses over the global batch, and a centre loss (whose centres update after each step).

    Every term is this replica's share of a global-batch mean, so the shares add up over replicas.
    """

    def __init__(self, backbone: keras.Model, global_batch: int, head: MarginHead | None = None,
                 terms: list[tuple[str, float, Callable]] | None = None, center=None, center_weight: float = 0.0,
                 scale_warmup_steps: int = 0, scale_start: float = 8.0, discface=None, discface_lambda: float = 0.0,
                 augment=None, augment_lambda: float = 0.0):
        optional = {"head": head, "center": center, "discface": discface, "augment": augment}
        modules = {"backbone": backbone, **{k: v for k, v in optional.items() if v is not None}}
        super().__init__(modules, global_batch)
        self.backbone, self.head, self.terms = backbone, head, list(terms or [])
        self.center, self.center_weight = center, center_weight
        self.discface, self.discface_lambda = discface, discface_lambda
        self.augment, self.augment_lambda = augment, augment_lambda
        if discface is not None and head is None:
            raise ValueError("DiscFace needs a margin head: its displacements are taken from the class weights")
        self.scale_warmup_steps, self.scale_start = scale_warmup_steps, scale_start
        if head is None and not self.terms:
            raise ValueError("EmbeddingTask needs a head or at least one metric loss term")

    def scale(self, step):
        """Margin-head scale: linear warm-up from ``scale_start`` to s, or None (fixed s)."""
        if not self.scale_warmup_steps:
            return None
        s = self.head.margin_args["s"]
        t = tf.minimum(1.0, tf.cast(step, tf.float32) / self.scale_warmup_steps)
        return self.scale_start + (s - self.scale_start) * t

    def loss(self, batch, step):
        return self.forward(batch, step)[:2]

    def head_ce(self, emb, labels, step) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-sample margin-head cross-entropy and top-1 correctness (with the scale warm-up)."""
        return head_cross_entropy(self.head, emb, labels, self.scale(step))

    def generated_loss(self, emb, labels, step) -> tuple[tf.Tensor, tf.Tensor]:
        """J(X_gen, Y_gen) of SFT Eq. 10 and the fraction of the batch generated.

        The head term is the mean cross-entropy over the generated features (global count). The
        metric terms see the whole batch with generated features in place of the originals they came
        from (others normalised, unchanged), as pair mining needs a full batch."""
        gen, target, weight = self.augment(emb, labels, step)
        value = tf.constant(0.0)
        if self.head is not None:
            ce, _ = self.head_ce(gen, target, step)
            value += mean_of(tf.reduce_sum(weight * ce), tf.reduce_sum(weight))
        if self.terms:
            keep = weight[:, None] > 0
            mixed = tf.where(keep, gen, tf.math.l2_normalize(tf.cast(emb, tf.float32), axis=1, epsilon=1e-12))
            mixed_labels = tf.where(weight > 0, target, tf.cast(labels, tf.int32))
            active = tf.cast(global_sum(tf.reduce_sum(weight)) > 0, tf.float32)  # same on every replica
            for _, w, fn in self.terms:
                value += active * w * fn(mixed, mixed_labels)
        return value, tf.reduce_sum(weight) / float(self.global_batch)

    def forward(self, batch, step):
        images, labels = batch
        emb = self.backbone(images, training=True)
        gb = float(self.global_batch)
        loss, metrics = tf.constant(0.0), {}
        if self.head is not None:
            ce, correct = self.head_ce(emb, labels, step)
            loss += tf.reduce_sum(ce + self.head.regularization(emb)) / gb
            metrics.update(ce=tf.reduce_sum(ce) / gb, acc=tf.reduce_sum(correct) / gb)
        if self.discface is not None:  # DiscFace Eq. 4: + λ·mean_i ‖ε_i − ξ_eff‖
            eps = displacement(emb, self.head.kernel, labels)
            disc = tf.reduce_sum(discrepancy(eps, self.discface.basis())) / gb
            loss += self.discface_lambda * disc
            metrics["discrepancy"] = disc
            # diagnostics (Sec. 3.2), averaged over replicas: the trainer sums what replicas return
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            directional, radial = batch_discrepancies(tf.stop_gradient(eps), labels)
            metrics.update(xi_norm=tf.reduce_max(tf.norm(self.discface.basis(), axis=1)) / replicas,
                           directional=directional / replicas, radial=radial / replicas)
        for name, weight, fn in self.terms:
            value = fn(emb, labels)
            loss += weight * value
            metrics[name] = value
        if self.center is not None:
            value = mean_of(*self.center(emb, labels))
            loss += self.center_weight * value
            metrics["center"] = value
        if self.augment is not None:  # SFT Eq. 10: + λ·J(X_gen, Y_gen)
            value, generated = self.generated_loss(emb, labels, step)
            loss += self.augment_lambda * value
            metrics.update(generated_loss=value, generated=generated)
        return loss, metrics, (emb, labels)

    def after_step(self, state) -> None:
        if self.discface is not None and self.discface.num_bases > 1:  # seeded once, from the first step
            self.discface.seed_from(displacement(state[0], self.head.kernel, state[1]))
        if self.center is not None:
            self.center.update(*state)
        if self.augment is not None:
            self.augment.update(*state)


class ClassificationTask(EmbeddingTask):
    """backbone → margin head → softmax cross-entropy (+ the head's optional m-L2 term)."""

    def __init__(self, backbone: keras.Model, head: MarginHead, global_batch: int,
                 scale_warmup_steps: int = 0, scale_start: float = 8.0):
        super().__init__(backbone, global_batch, head=head, scale_warmup_steps=scale_warmup_steps,
                         scale_start=scale_start)
