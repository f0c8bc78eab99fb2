"""The margin-head loss term on a sharded head (Partial FC): the global-batch cross-entropy over the class
weights spread across the replicas, each replica updating its own columns with the optimiser's SGD settings."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.heads.sharded import ShardedMarginHead
from tfface.training.terms import HeadTerm, StepState


def sgd_settings(optimizer) -> tuple[float, float, bool]:
    """(momentum, weight decay, Nesterov) of a Keras SGD optimiser, or a clear error for any other: the shards'
    update reproduces SGD's (:meth:`ShardedMarginHead.sgd_step`)."""
    if not isinstance(optimizer, keras.optimizers.SGD):
        raise ConfigError(f"the sharded head (`head_shards`) is updated with SGD; `optimizer` is "
                          f"{type(optimizer).__name__}. Use `optimizer=sgd`, or `head_shards=off`.")
    return float(optimizer.momentum), float(optimizer.weight_decay or 0.0), bool(optimizer.nesterov)


class ShardedHeadTerm(HeadTerm):
    """Margin-head cross-entropy on a :class:`ShardedMarginHead` (with HeadTerm's scale warm-up). Logs ``ce``
    and the global batch's top-1 ``acc`` among the classes in the softmax (all, or the sampled ones)."""

    def __init__(self, head: ShardedMarginHead, scale_warmup_steps: int = 0, scale_start: float = 8.0):
        super().__init__(head, scale_warmup_steps, scale_start)

    def cross_entropy(self, emb, labels, step):
        raise ConfigError("a loss that needs per-sample head cross-entropies (SFT's generated features) does not "
                          "work with the sharded head; use `head_shards=off`.")

    def value(self, state: StepState):
        share, accuracy = self.head.cross_entropy(state.emb, state.labels, state.step, self.scale(state.step))
        replicas = tf.cast(tf.distribute.get_replica_context().num_replicas_in_sync, tf.float32)
        return share, {"ce": tf.stop_gradient(share), "acc": accuracy / replicas}

    def replica_variables(self) -> list[tf.Variable]:
        return [self.head.kernel.value]

    def apply_replica_gradients(self, grads, optimizer) -> None:
        momentum, weight_decay, nesterov = sgd_settings(optimizer)
        self.head.sgd_step(grads[0], optimizer.learning_rate, momentum, weight_decay, nesterov)
