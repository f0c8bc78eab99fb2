"""Loss terms: the summands of :class:`~tfface.training.tasks.EmbeddingTask`'s loss, one protocol for all.

A term gives its value on one replica's share of the batch — that replica's share of a global-batch mean, so
that the shares add up over replicas — with the metrics to log, and may update non-gradient state after
the optimiser step. The task's loss is Σ weight · value over its terms, in their order. The margin head,
the metric losses and the centre loss are terms here; methods add theirs (DiscFace, SFT's generated loss),
and so can a user, from outside the package.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import keras
import tensorflow as tf

from tfface.heads.classifier import MarginHead
from tfface.losses.center import CenterLoss
from tfface.losses.pairs import mean_of


@dataclasses.dataclass(frozen=True)
class StepState:
    """What the terms see of one replica's step: its embeddings and labels, the global step and batch."""

    emb: tf.Tensor
    labels: tf.Tensor
    step: tf.Tensor
    global_batch: int


class LossTerm:
    """One summand of the loss.

    Attributes:
        name: the metric name its value is logged under (a term may log more, see :meth:`value`).
        weight: its factor in the loss.
        modules: the layers holding its state, checkpointed with the task under these keys.
    """

    name: str = "term"
    weight: float = 1.0
    modules: dict[str, keras.layers.Layer] = {}

    def value(self, state: StepState) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """(this replica's share of the term's global-batch value, metrics to log). Keep per-replica tensors
        in the return value, never on ``self``: replicas trace the same term concurrently."""
        raise NotImplementedError

    def after_step(self, state: StepState) -> None:
        """Non-gradient updates after the optimiser step (e.g. class centres); ``state`` is the step's."""
        return None

    def replica_variables(self) -> list[tf.Variable]:
        """Variables this term updates itself on each replica (:meth:`apply_replica_gradients`), outside the
        optimiser, whose updates are all-reduced: e.g. a sharded head's columns, different on every replica."""
        return []

    def apply_replica_gradients(self, grads: list[tf.Tensor], optimizer) -> None:
        """Update :meth:`replica_variables` from this replica's gradients, before the optimiser's step (the
        learning rate is the step's)."""
        return None


class HeadTerm(LossTerm):
    """Margin-head cross-entropy (+ the head's m-L2 term), with an optional linear warm-up of the scale s
    from ``scale_start`` over ``scale_warmup_steps``. Logs ``ce`` and top-1 ``acc``."""

    name = "ce"

    def __init__(self, head: MarginHead, scale_warmup_steps: int = 0, scale_start: float = 8.0):
        self.head, self.modules = head, {"head": head}
        self.scale_warmup_steps, self.scale_start = scale_warmup_steps, scale_start

    def scale(self, step):
        """Margin-head scale: linear warm-up from ``scale_start`` to s, or None (fixed s)."""
        if not self.scale_warmup_steps:
            return None
        s = self.head.margin_args["s"]
        t = tf.minimum(1.0, tf.cast(step, tf.float32) / self.scale_warmup_steps)
        return self.scale_start + (s - self.scale_start) * t

    def cross_entropy(self, emb, labels, step) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-sample margin-head cross-entropy and top-1 correctness (with the scale warm-up)."""
        return head_cross_entropy(self.head, emb, labels, self.scale(step))

    def value(self, state: StepState):
        ce, correct = self.cross_entropy(state.emb, state.labels, state.step)
        gb = float(state.global_batch)
        value = tf.reduce_sum(ce + self.head.regularization(state.emb)) / gb
        return value, {"ce": tf.reduce_sum(ce) / gb, "acc": tf.reduce_sum(correct) / gb}


def head_cross_entropy(head: MarginHead, emb, labels, scale=None) -> tuple[tf.Tensor, tf.Tensor]:
    """Per-sample cross-entropy of a margin head's logits and top-1 correctness (float 0/1)."""
    labels = tf.cast(labels, tf.int32)
    logits = head(emb, labels, scale=scale)
    ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return ce, tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32), labels), tf.float32)


class MetricLossTerm(LossTerm):
    """A metric loss ``fn(emb, labels)`` over the global batch (see :mod:`tfface.losses.registry`)."""

    def __init__(self, name: str, weight: float, fn: Callable):
        self.name, self.weight, self.fn = name, weight, fn

    def value(self, state: StepState):
        value = self.fn(state.emb, state.labels)
        return value, {self.name: value}


class CenterTerm(LossTerm):
    """The centre loss; its centres move after each step (Wen et al. Eq. 4)."""

    name = "center"

    def __init__(self, center: CenterLoss, weight: float):
        self.center, self.weight, self.modules = center, weight, {"center": center}

    def value(self, state: StepState):
        value = mean_of(*self.center(state.emb, state.labels))
        return value, {"center": value}

    def after_step(self, state: StepState) -> None:
        self.center.update(state.emb, state.labels)
