"""The margin cross-entropy over class weights sharded across replicas (Partial FC; An et al. 2022, as
insightface's arcface_torch implements it), inside a tf.distribute replica context.

Replica r holds the columns [offset_r, offset_r + C_r) of the [D, C] class-weight matrix. Every replica
all-gathers the global batch's embeddings and labels, computes the margin logits of its own classes for
the whole global batch, and the softmax is normalised across replicas with an all-reduced max and sum of
exponentials. The loss is the mean over the global batch of −log softmax at the label.

Gradients: ∂L/∂logits of replica r's classes is (p − onehot) / B on that replica alone, so each replica
differentiates the surrogate Σ stop_grad(∂L/∂logits) · logits: its gradient with respect to the shard is
the exact one, and its gradient with respect to the gathered embeddings flows back through ``all_gather``
(whose gradient sums over replicas) to every replica's own embeddings — the exact gradient of the global
loss once the backbone's gradients are summed over replicas, as the optimiser does. The value returned is
L / N on every replica, so that the replicas' values add up to L like every other loss term's shares.

This module is the building block of issue 17 (the sharded head); the trainer does not use it yet.
"""

from __future__ import annotations

import tensorflow as tf


def sharded_margin_cross_entropy(emb: tf.Tensor, labels: tf.Tensor, kernel_shard: tf.Tensor, offset: int,
                                 margin, scale: tf.Tensor | float | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """(this replica's share L / N of the global-batch loss, with the gradients described in the module
    docstring; top-1 accuracy of the global batch) for the local ``emb`` [b, D] and ``labels`` [b], the
    replica's class weights ``kernel_shard`` [D, C_r] starting at class ``offset``, and a normalised margin
    (:mod:`tfface.heads.margins`). Call it in a replica context (``strategy.run``)."""
    ctx = tf.distribute.get_replica_context()
    if not getattr(margin, "normalized", False):
        raise ValueError("the sharded head needs a normalised margin (normface, cosface, arcface, combined).")
    g_emb = ctx.all_gather(tf.cast(emb, tf.float32), axis=0)
    g_lab = tf.cast(ctx.all_gather(tf.cast(labels, tf.int32), axis=0), tf.int32)
    f = tf.math.l2_normalize(g_emb, axis=1, epsilon=1e-12)
    w = tf.math.l2_normalize(tf.cast(kernel_shard, tf.float32), axis=0, epsilon=1e-12)
    cos = tf.matmul(f, w)
    n_local = tf.shape(cos)[1]
    local = g_lab - offset
    inside = tf.logical_and(local >= 0, local < n_local)
    # one extra column takes the margin's target update for labels of other replicas' classes
    padded = tf.concat([cos, tf.zeros_like(cos[:, :1])], axis=1)
    logits = margin(padded, tf.where(inside, local, n_local), scale)[:, :-1]
    batch = tf.cast(tf.shape(g_lab)[0], tf.float32)
    peak = _all_max(ctx, tf.stop_gradient(tf.reduce_max(logits, axis=1)))
    exp = tf.exp(tf.stop_gradient(logits) - peak[:, None])
    total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(exp, axis=1))
    onehot = tf.one_hot(tf.where(inside, local, -1), n_local, dtype=tf.float32)
    target = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(onehot * tf.stop_gradient(logits), axis=1))
    loss = tf.reduce_mean(tf.math.log(total) + peak - target)
    d_logits = tf.stop_gradient((exp / total[:, None] - onehot) / batch)
    surrogate = tf.reduce_sum(d_logits * logits)
    replicas = tf.cast(ctx.num_replicas_in_sync, tf.float32)
    share = surrogate - tf.stop_gradient(surrogate) + tf.stop_gradient(loss) / replicas
    # top-1: this replica's best class and score, the winner across replicas by an all-reduced max
    best = tf.stop_gradient(tf.reduce_max(logits, axis=1))
    best_class = tf.cast(tf.argmax(logits, axis=1, output_type=tf.int32) + offset, tf.float32)
    winner = _all_max(ctx, tf.where(best >= _all_max(ctx, best), best_class, -1.0))
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.cast(winner, tf.int32), g_lab), tf.float32))
    return share, tf.stop_gradient(accuracy)


def _all_max(ctx, x: tf.Tensor) -> tf.Tensor:
    """Element-wise maximum of ``x`` [B] over the replicas (ReduceOp has no MAX: gather, then reduce)."""
    return tf.reduce_max(ctx.all_gather(x[None], axis=0), axis=0)
