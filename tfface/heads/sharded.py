"""The margin head with its class weights sharded over the replicas (Partial FC): the twin of
:class:`tfface.heads.classifier.MarginHead` for normalised margins at millions of classes.

Replica r holds the columns of classes [r·w, (r+1)·w), w = ⌈C / N⌉, and their momentum; its gradient never
leaves the replica, so its update is this module's own momentum-SGD step (:meth:`ShardedMarginHead.sgd_step`,
Keras' SGD to the operation: decoupled weight decay, then momentum). The checkpoint holds the whole [D, C]
kernel at the path a MarginHead's has (``head/classifier/kernel``) and the momentum beside it, so a sharded
run restores with any replica count, and its checkpoint serves every reader of a MarginHead (evaluation,
export, IDA's ``head`` anchors, ``--init_checkpoint``).
"""

from __future__ import annotations

import tensorflow as tf

from tfface.errors import ConfigError
from tfface.heads.margins import NORMALIZED, make_margin
from tfface.heads.partial_fc import gather_labels, sampled_columns, shard_class_ids, sharded_margin_cross_entropy
from tfface.heads.sharded_variable import ShardedVariable

INIT_STDDEV = 0.01  # as NormalizedClassifier's RandomNormal initialiser


class ShardedMarginHead(tf.Module):
    """``num_classes`` class weights of ``embedding_size`` split over ``strategy``'s replicas, a normalised
    margin (``margin``, ``s``, ``m``, ``m1``, ``m3`` as MarginHead's) and, at ``sample_rate`` < 1, negative-class
    sampling seeded by (``seed``, step). Create it inside ``strategy.scope()``; the initial weights are normal
    (σ = 0.01) drawn per block of columns from (``seed``, replica index, block)."""

    def __init__(self, strategy: tf.distribute.Strategy, num_classes: int, embedding_size: int,
                 margin: str = "arcface", s: float = 64.0, m: float = 0.5, m1: float = 1.0, m3: float = 0.0,
                 sample_rate: float = 1.0, seed: int = 0):
        super().__init__(name="head")
        self.margin_name = margin
        self.margin_args = {"s": float(s), "m": float(m), "m1": float(m1), "m3": float(m3)}
        self.margin = make_margin(margin, **self.margin_args)
        if not self.margin.normalized:
            raise ConfigError(f"`head={margin}` with a sharded head: Partial FC needs a normalised margin "
                              f"({', '.join(NORMALIZED)}); use one, or `head_shards=off`.")
        self.num_classes, self.sample_rate, self.seed = int(num_classes), float(sample_rate), int(seed)

        def init(replica, start, shape):
            seed = tf.random.experimental.stateless_fold_in(tf.constant([self.seed, replica], tf.int64), start)
            return INIT_STDDEV * tf.random.stateless_normal(shape, seed=seed)

        self.classifier = tf.Module(name="classifier")
        self.classifier.kernel = ShardedVariable(strategy, embedding_size, num_classes, "head_kernel_shard", init)
        self.classifier.momentum = ShardedVariable(strategy, embedding_size, num_classes, "head_momentum_shard")

    @property
    def kernel(self) -> ShardedVariable:
        return self.classifier.kernel

    @property
    def variables(self) -> list[tf.Variable]:
        """This worker's per-replica copies of the kernel and momentum (plain variables)."""
        return self.kernel.local_variables + self.classifier.momentum.local_variables

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        """None: the shards are updated by :meth:`sgd_step`, not by the optimiser (which would all-reduce them)."""
        return []

    def cross_entropy(self, emb: tf.Tensor, labels: tf.Tensor, step: tf.Tensor, scale=None) -> tuple:
        """(this replica's share of the global-batch cross-entropy, global top-1 accuracy among the sampled
        classes) — see :func:`tfface.heads.partial_fc.sharded_margin_cross_entropy`. Call in a replica
        context."""
        ctx = tf.distribute.get_replica_context()
        ids = shard_class_ids(ctx.replica_id_in_sync_group, self.kernel.width, self.num_classes)
        columns, batch_labels = self.kernel.value, gather_labels(ctx, labels)
        if self.sample_rate < 1.0:
            keep = sampled_columns(ids, batch_labels, self.sample_rate, self.num_classes, self.seed, step)
            columns, ids = tf.gather(columns, keep, axis=1), tf.gather(ids, keep)
        return sharded_margin_cross_entropy(emb, labels, columns, ids, self.margin, scale, global_labels=batch_labels)

    def sgd_step(self, grad, learning_rate, momentum: float, weight_decay: float, nesterov: bool = False) -> None:
        """This replica's update of its columns, as Keras' SGD updates a variable: w ← w − w·wd·lr, then
        m ← μ·m − lr·g and w ← w + m (w ← w + μ·m − lr·g with Nesterov); w ← w − lr·g without momentum. In
        place (the fused Keras-momentum kernel): at 1M classes a shard is gigabytes, and every temporary
        copy of it counts."""
        w, mom = self.kernel.value, self.classifier.momentum.value
        grad = tf.convert_to_tensor(grad, tf.float32)
        lr = tf.cast(learning_rate, tf.float32)
        if weight_decay:
            w.assign_sub(w * weight_decay * lr)
        if momentum:
            tf.raw_ops.ResourceApplyKerasMomentum(var=w.handle, accum=mom.handle, lr=lr, grad=grad,
                                                  momentum=tf.constant(momentum, tf.float32), use_nesterov=nesterov)
        else:
            w.assign_sub(grad * lr)
