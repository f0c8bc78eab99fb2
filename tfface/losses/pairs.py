"""Metric-learning losses as pure functions of tensors.

Every loss takes local anchors ``emb`` [b, D] with ``labels`` [b] and a reference set ``ref``
[B, D] with ``ref_labels`` [B] (by default the anchors themselves) in which anchor i sits at
``self_index[i]`` (excluded from its own positives). Under ``tf.distribute`` the reference is the
all-gathered global batch, so every replica mines against all of it (see :func:`global_reference`).

Each loss returns ``(total, count)``: the sum of its terms and how many terms there were. The
mean is taken by :func:`mean_of`, which divides by the *global* count, so the losses summed over
replicas equal the single-device loss on the global batch. A batch with no valid pair or triplet
gives total = count = 0 and a loss of 0, never NaN. Similarities are computed in float32.
"""

from __future__ import annotations

import tensorflow as tf

NEG_INF = -1e9


def _f32(x):
    return tf.cast(x, tf.float32)


def _normalize(x):
    return tf.math.l2_normalize(_f32(x), axis=1, epsilon=1e-12)


def _masks(labels, ref_labels, self_index):
    """(positive mask, negative mask) [b, B]: same identity but not itself / other identity."""
    same = tf.equal(tf.cast(labels, tf.int32)[:, None], tf.cast(ref_labels, tf.int32)[None, :])
    itself = tf.equal(tf.cast(self_index, tf.int32)[:, None], tf.range(tf.shape(ref_labels)[0])[None, :])
    return tf.logical_and(same, tf.logical_not(itself)), tf.logical_not(same)


def _defaults(emb, labels, ref, ref_labels, self_index):
    if ref is None:
        ref, ref_labels = emb, labels
        self_index = tf.range(tf.shape(emb)[0])
    elif self_index is None:
        self_index = tf.fill(tf.shape(labels), -1)  # anchors are not in the reference
    return ref, ref_labels, self_index


def _distances(a, b):
    """Euclidean distances of L2-normalised rows, safe at 0: sqrt(max(2 − 2·cos, 1e-12))."""
    cos = tf.matmul(_normalize(a), _normalize(b), transpose_b=True)
    return tf.sqrt(tf.maximum(2.0 - 2.0 * cos, 1e-12))


def contrastive(emb, labels, ref=None, ref_labels=None, self_index=None, margin: float = 1.0):
    """Contrastive loss (Hadsell, Chopra, LeCun 2006, Eq. 4) on normalised embeddings:
    d² for positive pairs, max(0, m − d)² for negative pairs, averaged over all pairs."""
    ref, ref_labels, self_index = _defaults(emb, labels, ref, ref_labels, self_index)
    pos, neg = _masks(labels, ref_labels, self_index)
    cos = tf.matmul(_normalize(emb), _normalize(ref), transpose_b=True)
    d = tf.sqrt(tf.maximum(2.0 - 2.0 * cos, 1e-12))
    terms = tf.where(pos, 2.0 - 2.0 * cos, 0.0) + tf.where(neg, tf.square(tf.nn.relu(margin - d)), 0.0)
    count = tf.reduce_sum(tf.cast(pos, tf.float32)) + tf.reduce_sum(tf.cast(neg, tf.float32))
    return tf.reduce_sum(terms), count


def triplet(emb, labels, ref=None, ref_labels=None, self_index=None, margin: float = 0.2,
            mining: str = "batch_hard"):
    """Triplet loss max(0, d(a,p) − d(a,n) + m) on normalised embeddings (FaceNet, Schroff et al. 2015,
    Eq. 2; Euclidean, not squared), with three minings:

    - ``batch_all``: every valid triplet; mean over the triplets with a positive loss (Hermans et al. 2017).
    - ``batch_hard``: per anchor the farthest positive and the nearest negative (Hermans et al. 2017, Eq. 5);
      mean over anchors that have both.
    - ``semi_hard``: per (a, p) the nearest negative farther than p, else the farthest negative
      (FaceNet Sec. 3.2); mean over all (a, p) pairs.
    """
    ref, ref_labels, self_index = _defaults(emb, labels, ref, ref_labels, self_index)
    pos, neg = _masks(labels, ref_labels, self_index)
    d = _distances(emb, ref)  # [b, B]
    if mining == "batch_hard":
        d_ap = tf.reduce_max(tf.where(pos, d, -1.0), axis=1)
        d_an = tf.reduce_min(tf.where(neg, d, 10.0), axis=1)
        valid = tf.logical_and(tf.reduce_any(pos, 1), tf.reduce_any(neg, 1))
        terms = tf.where(valid, tf.nn.relu(d_ap - d_an + margin), 0.0)
        return tf.reduce_sum(terms), tf.reduce_sum(tf.cast(valid, tf.float32))
    if mining == "batch_all":
        t = d[:, :, None] - d[:, None, :] + margin  # [b, P, N]: a, p, n
        valid = tf.logical_and(pos[:, :, None], neg[:, None, :])
        terms = tf.where(valid, tf.nn.relu(t), 0.0)
        active = tf.logical_and(valid, t > 0)
        return tf.reduce_sum(terms), tf.reduce_sum(tf.cast(active, tf.float32))
    if mining == "semi_hard":
        d_ap = d[:, :, None]  # [b, B(p), 1]
        d_an = d[:, None, :]  # [b, 1, B(n)]
        farther = tf.logical_and(neg[:, None, :], d_an > d_ap)
        nearest_farther = tf.reduce_min(tf.where(farther, d_an, 10.0), axis=2)
        farthest = tf.reduce_max(tf.where(neg, d, -1.0), axis=1)[:, None]
        chosen = tf.where(tf.reduce_any(farther, axis=2), nearest_farther, farthest)
        valid = tf.logical_and(pos, tf.reduce_any(neg, 1, keepdims=True))
        terms = tf.where(valid, tf.nn.relu(d - chosen + margin), 0.0)
        return tf.reduce_sum(terms), tf.reduce_sum(tf.cast(valid, tf.float32))
    raise ValueError(f"`triplet_mining={mining!r}`: choose batch_all, batch_hard or semi_hard.")


def npair(emb, labels, ref=None, ref_labels=None, self_index=None):
    """Multi-class N-pair loss (Sohn, NeurIPS 2016, Eq. 6) on raw inner products s = fᵢᵀfⱼ, for P×K batches:
    for every anchor i and positive p, log(1 + Σₙ exp(sᵢₙ − sᵢₚ)) over all other-identity samples n,
    averaged over the (i, p) pairs. With K = 2 and the negatives restricted to the other classes'
    positives this is Sohn's form. Sohn's L2 penalty on the embeddings is :func:`embedding_l2`."""
    ref, ref_labels, self_index = _defaults(emb, labels, ref, ref_labels, self_index)
    pos, neg = _masks(labels, ref_labels, self_index)
    s = tf.matmul(_f32(emb), _f32(ref), transpose_b=True)  # [b, B]
    # log(1 + Σ_n exp(s_in − s_ip)) = softplus(logsumexp_n(s_in) − s_ip): stable for large s
    lse_neg = tf.reduce_logsumexp(tf.where(neg, s, NEG_INF), axis=1, keepdims=True)
    valid = tf.logical_and(pos, tf.reduce_any(neg, axis=1, keepdims=True))
    terms = tf.where(valid, tf.nn.softplus(lse_neg - s), 0.0)
    return tf.reduce_sum(terms), tf.reduce_sum(tf.cast(valid, tf.float32))


def embedding_l2(emb, labels=None, ref=None, ref_labels=None, self_index=None):
    """‖fᵢ‖² per anchor (the N-pair paper's embedding regulariser, Sohn 2016 Sec. 3.2.2)."""
    return tf.reduce_sum(tf.square(_f32(emb))), tf.cast(tf.shape(emb)[0], tf.float32)


def multi_similarity(emb, labels, ref=None, ref_labels=None, self_index=None, alpha: float = 2.0,
                     beta: float = 50.0, lam: float = 1.0, eps: float = 0.1):
    """Multi-similarity loss with its pair mining (Wang et al., CVPR 2019, Eqs. 7–8 and 10) on cosines.

    Mining: keep negatives with S_ik > min_{p} S_ip − ε and positives with S_ij < max_{n} S_in + ε.
    Per anchor: (1/α)·log(1 + Σ_P exp(−α(S_ij − λ))) + (1/β)·log(1 + Σ_N exp(β(S_ik − λ))),
    averaged over the anchors that keep at least one pair.
    """
    ref, ref_labels, self_index = _defaults(emb, labels, ref, ref_labels, self_index)
    pos, neg = _masks(labels, ref_labels, self_index)
    sim = tf.matmul(_normalize(emb), _normalize(ref), transpose_b=True)
    min_pos = tf.reduce_min(tf.where(pos, sim, 2.0), axis=1, keepdims=True)
    max_neg = tf.reduce_max(tf.where(neg, sim, -2.0), axis=1, keepdims=True)
    keep_neg = tf.logical_and(neg, sim > min_pos - eps)
    keep_pos = tf.logical_and(pos, sim < max_neg + eps)
    pos_term = tf.math.log1p(tf.reduce_sum(tf.where(keep_pos, tf.exp(-alpha * (sim - lam)), 0.0), axis=1)) / alpha
    neg_term = tf.math.log1p(tf.reduce_sum(tf.where(keep_neg, tf.exp(beta * (sim - lam)), 0.0), axis=1)) / beta
    valid = tf.logical_or(tf.reduce_any(keep_pos, 1), tf.reduce_any(keep_neg, 1))
    terms = tf.where(valid, pos_term + neg_term, 0.0)
    return tf.reduce_sum(terms), tf.reduce_sum(tf.cast(valid, tf.float32))


def global_reference(emb, labels):
    """Inside a replica: (all-gathered embeddings, labels, this replica's anchors' indices in them).
    Outside one (or with one replica): the batch itself. ``all_gather`` is differentiable, so the
    gradient for another replica's embeddings flows back to that replica."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return emb, labels, tf.range(tf.shape(emb)[0])
    ref = ctx.all_gather(emb, axis=0)
    ref_labels = ctx.all_gather(labels, axis=0)
    b = tf.shape(emb)[0]
    start = tf.cast(ctx.replica_id_in_sync_group, tf.int32) * b  # replicas hold equal batches
    return ref, ref_labels, start + tf.range(b)


def global_sum(value):
    """Sum of ``value`` over all replicas (no gradient); the value itself outside tf.distribute."""
    ctx = tf.distribute.get_replica_context()
    value = tf.stop_gradient(value)
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        value = ctx.all_reduce(tf.distribute.ReduceOp.SUM, value)
    return value


def mean_of(total, count):
    """Mean over the terms of *all* replicas: total / global count (0 when there is no term).

    Returned per replica, so that the sum over replicas (what the optimiser's all-reduce does with
    gradients) is the global mean."""
    return total / tf.maximum(global_sum(count), 1.0)


def ranked_list(emb, labels, ref=None, ref_labels=None, self_index=None, alpha: float = 1.2,
                margin: float = 0.4, t_n: float = 10.0, t_p: float = 0.0):
    """Ranked list loss (Wang et al., CVPR 2019, Eqs. 3–6 and 9) on Euclidean distances of normalised
    embeddings. Non-trivial positives P* = {d > α − m}, non-trivial negatives N* = {d < α};
    L_P = Σ_{P*} w⁺(d − (α − m)) / Σ w⁺ with w⁺ = exp(T_p(d − (α − m))), L_N = Σ_{N*} w⁻(α − d) / Σ w⁻ with
    w⁻ = exp(T_n(α − d)); weights are constants (no gradient). Per anchor L_P + L_N, mean over anchors."""
    ref, ref_labels, self_index = _defaults(emb, labels, ref, ref_labels, self_index)
    pos, neg = _masks(labels, ref_labels, self_index)
    d = _distances(emb, ref)
    hard_pos = tf.logical_and(pos, d > alpha - margin)
    hard_neg = tf.logical_and(neg, d < alpha)

    def weighted(mask, value, logit):
        w = tf.stop_gradient(tf.where(mask, tf.exp(logit - tf.reduce_max(tf.where(mask, logit, NEG_INF), 1,
                                                                          keepdims=True)), 0.0))
        return tf.reduce_sum(w * tf.where(mask, value, 0.0), 1) / tf.maximum(tf.reduce_sum(w, 1), 1e-12)

    lp = weighted(hard_pos, d - (alpha - margin), t_p * (d - (alpha - margin)))
    ln = weighted(hard_neg, alpha - d, t_n * (alpha - d))
    return tf.reduce_sum(lp + ln), tf.cast(tf.shape(emb)[0], tf.float32)


def soft_histogram(values, mask, bins: int):
    """Linear-interpolation histogram (Ustinova & Lempitsky 2016, Eq. 2) of masked values in [−1, 1]
    over ``bins`` nodes t_r = −1 + 2r/(bins − 1); normalised to sum 1 (all zeros when nothing is masked)."""
    step = 2.0 / (bins - 1)
    nodes = tf.linspace(-1.0, 1.0, bins)
    v = tf.boolean_mask(values, mask)
    w = tf.nn.relu(1.0 - tf.abs(v[:, None] - nodes[None, :]) / step)  # [n, R]
    h = tf.reduce_sum(w, axis=0)
    return h / tf.maximum(tf.reduce_sum(h), 1e-12)


def histogram(emb, labels, ref=None, ref_labels=None, self_index=None, bins: int = 101):
    """Histogram loss (Ustinova & Lempitsky, NeurIPS 2016, Eqs. 2–4): the probability that a random
    negative pair is more similar than a random positive one, Σ_r h⁻_r Φ⁺_r with Φ⁺ the CDF of h⁺,
    over the unordered pairs of the (global) batch. Not a per-anchor mean: under several replicas
    each computes it on the all-gathered batch and returns 1/N of it (see :func:`histogram_global`)."""
    del ref, ref_labels, self_index  # always over all pairs of emb
    n = _normalize(emb)
    sim = tf.matmul(n, n, transpose_b=True)
    same = tf.equal(tf.cast(labels, tf.int32)[:, None], tf.cast(labels, tf.int32)[None, :])
    upper = tf.linalg.band_part(tf.ones_like(sim), 0, -1) - tf.linalg.band_part(tf.ones_like(sim), 0, 0) > 0
    h_pos = soft_histogram(sim, tf.logical_and(upper, same), bins)
    h_neg = soft_histogram(sim, tf.logical_and(upper, tf.logical_not(same)), bins)
    valid = tf.logical_and(tf.reduce_sum(h_pos) > 0, tf.reduce_sum(h_neg) > 0)
    loss = tf.reduce_sum(h_neg * tf.cumsum(h_pos))
    return tf.where(valid, loss, 0.0), tf.cast(valid, tf.float32)


def histogram_global(emb, labels, bins: int = 101):
    """Histogram loss of the global batch, as this replica's 1/N share (sums to the loss over replicas)."""
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return histogram(emb, labels, bins=bins)[0]
    loss, _ = histogram(ctx.all_gather(emb, 0), ctx.all_gather(labels, 0), bins=bins)
    return loss / ctx.num_replicas_in_sync
