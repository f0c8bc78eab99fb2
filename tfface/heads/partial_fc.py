"""The margin cross-entropy over class weights sharded across replicas (Partial FC; An et al. 2022, as
insightface's arcface_torch partial_fc_v2 implements it), inside a tf.distribute replica context.

Replica r holds some columns of the [D, C] class-weight matrix: ``columns`` [D, k] with the global class id
of each in ``class_ids`` [k] (−1 marks a padding column that is no class). Every replica all-gathers the
global batch's embeddings and labels, computes the margin logits of its own columns for the whole global
batch, and the softmax is normalised across replicas with an all-reduced max and sum of exponentials. The
loss is the mean over the global batch of −log softmax at the label.

With negative-class sampling (:func:`sampled_columns`) each replica passes only the columns of its sampled
classes: the loss is then the full head's restricted to the sampled classes (every label's class is always
sampled), as in partial_fc_v2.

Gradients: ∂L/∂logits of replica r's columns is (p − onehot) / B on that replica alone, so each replica
differentiates the surrogate Σ stop_grad(∂L/∂logits) · logits: its gradient with respect to its columns is
the exact one, and its gradient with respect to the gathered embeddings flows back through ``all_gather``
(whose gradient sums over replicas) to every replica's own embeddings — the exact gradient of the global
loss once the backbone's gradients are summed over replicas, as the optimiser does. The value returned is
L / N on every replica, so that the replicas' values add up to L like every other loss term's shares.
"""

from __future__ import annotations

import tensorflow as tf

from tfface.heads.margins import NORMALIZED

_NO_CLASS = -1.0e30  # the logit of a padding column: exp() of it is 0, and it never wins top-1


def sharded_margin_cross_entropy(emb: tf.Tensor, labels: tf.Tensor, columns: tf.Tensor, class_ids: tf.Tensor,
                                 margin, scale: tf.Tensor | float | None = None,
                                 global_labels: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
    """(this replica's share L / N of the global-batch loss, with the gradients described in the module
    docstring; top-1 accuracy of the global batch among the classes present) for the local ``emb`` [b, D]
    and ``labels`` [b], the replica's class-weight ``columns`` [D, k] of global classes ``class_ids`` [k]
    (−1: padding), and a normalised margin (:mod:`tfface.heads.margins`). ``global_labels``: the global
    batch's labels if already gathered. Call it in a replica context (``strategy.run``); every label must be
    the class of exactly one column on one replica. Four collectives: two gathers, a max and a sum."""
    ctx = tf.distribute.get_replica_context()
    if not getattr(margin, "normalized", False):
        raise ValueError(f"the sharded head needs a normalised margin ({', '.join(NORMALIZED)}).")
    g_emb = ctx.all_gather(tf.identity(tf.cast(emb, tf.float32)), axis=0)
    g_lab = gather_labels(ctx, labels) if global_labels is None else tf.cast(global_labels, tf.int32)
    f = tf.math.l2_normalize(g_emb, axis=1, epsilon=1e-12)
    cos = cosine_to_columns(f, tf.cast(columns, tf.float32))
    class_ids = tf.cast(class_ids, tf.int32)
    n_local = tf.shape(cos)[1]
    onehot = tf.cast(tf.equal(g_lab[:, None], class_ids[None, :]), tf.float32)
    inside = tf.reduce_any(onehot > 0, axis=1)
    local = tf.where(inside, tf.argmax(onehot, axis=1, output_type=tf.int32), n_local)
    # one extra column takes the margin's target update for labels of other replicas' classes
    padded = tf.concat([cos, tf.zeros_like(cos[:, :1])], axis=1)
    logits = margin(padded, local, scale)[:, :-1]
    logits = tf.where(class_ids[None, :] >= 0, logits, _NO_CLASS)
    batch = tf.cast(tf.shape(g_lab)[0], tf.float32)
    peak = _all_max(ctx, tf.stop_gradient(tf.reduce_max(logits, axis=1)))
    exp = tf.exp(tf.stop_gradient(logits) - peak[:, None])
    local_sums = tf.stack([tf.reduce_sum(exp, axis=1), tf.reduce_sum(onehot * tf.stop_gradient(logits), axis=1)])
    total, target = tf.unstack(ctx.all_reduce(tf.distribute.ReduceOp.SUM, local_sums))
    loss = tf.reduce_mean(tf.math.log(total) + peak - target)
    d_logits = tf.stop_gradient((exp / total[:, None] - onehot) / batch)
    surrogate = tf.reduce_sum(d_logits * logits)
    replicas = tf.cast(ctx.num_replicas_in_sync, tf.float32)
    share = surrogate - tf.stop_gradient(surrogate) + tf.stop_gradient(loss) / replicas
    # top-1 is right when the label's logit is the largest of all replicas' (argmax's ties aside)
    accuracy = tf.reduce_mean(tf.cast(target >= peak, tf.float32))
    return share, tf.stop_gradient(accuracy)


@tf.custom_gradient
def cosine_to_columns(unit_rows: tf.Tensor, columns: tf.Tensor):
    """cos = unit_rows · (columns / ‖columns‖) [B, k] for unit ``unit_rows`` [B, D] and ``columns`` [D, k],
    scaling the product instead of a normalised copy of the columns, with the gradient written out:
    ∂/∂w_j = (g_j − ŵ_j (ŵ_j · g_j)) / ‖w_j‖ where g_j = unit_rowsᵀ ∂cos_j. Autodiff through l2_normalize
    keeps several [D, k] temporaries alive — gigabytes per replica at a million classes."""
    inv_norm = tf.math.rsqrt(tf.maximum(tf.reduce_sum(tf.square(columns), axis=0, keepdims=True), 1e-12))
    cos = tf.matmul(unit_rows, columns) * inv_norm

    def grad(d_cos):
        d_scaled = d_cos * inv_norm  # [B, k]
        d_rows = tf.matmul(d_scaled, columns, transpose_b=True)
        g = tf.matmul(unit_rows, d_scaled, transpose_a=True)  # [D, k]: ∂L/∂ŵ · (1/‖w‖)
        along = tf.reduce_sum(columns * g, axis=0, keepdims=True) * tf.square(inv_norm)
        return d_rows, g - columns * along
    return cos, grad


def gather_labels(ctx, labels: tf.Tensor) -> tf.Tensor:
    """The global batch's int32 labels. (``tf.identity`` places the gathered tensor on the replica's device:
    input tensors handed to a MultiWorker replica have none, which its all_gather cannot take.)"""
    return ctx.all_gather(tf.identity(tf.cast(labels, tf.int32)), axis=0)


def shard_class_ids(replica: int | tf.Tensor, width: int, num_classes: int) -> tf.Tensor:
    """Global class ids [width] of replica ``replica``'s shard of ``width`` columns: classes
    [replica·width, (replica+1)·width), with −1 for the padding columns past the last class."""
    ids = tf.cast(replica, tf.int32) * width + tf.range(width, dtype=tf.int32)
    return tf.where(ids < num_classes, ids, -1)


def sampled_columns(class_ids: tf.Tensor, global_labels: tf.Tensor, rate: float, num_classes: int,
                    seed: int, step: tf.Tensor) -> tf.Tensor:
    """Indices (ascending) of the shard columns kept at sample rate ``rate`` (partial_fc_v2's sampling):
    every class of ``global_labels`` in the shard, then the negatives with the highest uniform draws, up to
    max(⌊rate · width⌋, positives) columns. The draw of class c is a function of (seed, step, c) only, so
    every replica samples with the same numbers (and a class's draw does not depend on the replica count)."""
    width = tf.shape(class_ids)[0]
    draws = tf.random.stateless_uniform([num_classes], seed=tf.stack([tf.cast(seed, tf.int64),
                                                                       tf.cast(step, tf.int64)]))
    real = class_ids >= 0
    score = tf.where(real, tf.gather(draws, tf.maximum(class_ids, 0)), -1.0)
    positive = tf.reduce_any(tf.equal(class_ids[:, None], tf.cast(global_labels, tf.int32)[None, :]), axis=1)
    score = tf.where(positive, 2.0, score)
    keep = tf.maximum(tf.cast(tf.floor(rate * tf.cast(width, tf.float32)), tf.int32),
                      tf.reduce_sum(tf.cast(positive, tf.int32)))
    keep = tf.clip_by_value(keep, 1, width)
    return tf.sort(tf.math.top_k(score, k=keep, sorted=False).indices)


def _all_max(ctx, x: tf.Tensor) -> tf.Tensor:
    """Element-wise maximum of ``x`` [B] over the replicas (ReduceOp has no MAX: gather, then reduce)."""
    return tf.reduce_max(ctx.all_gather(x[None], axis=0), axis=0)
