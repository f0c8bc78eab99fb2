"""Distribution distillation loss (Huang et al., "Improving Face Recognition from Hard Samples via
Distribution Distillation Loss", ECCV 2020).

One network; a teacher similarity distribution from easy samples and K student distributions from hard
samples of the same batch (Sec. 3.1):
- positive similarities s⁺ of offline pairs (Eq. 1), pairs with s⁺ below a threshold (0) dropped as outliers;
- negative similarities by online hard mining (Eq. 2): per image the largest cosine to an image of another
  identity, over the global batch (masked entries are −inf, so an all-negative row is mined correctly);
- soft histograms with a Gaussian kernel on R nodes in [−1, 1] (Eqs. 3–4);
- KL(P⁺‖Q_k⁺)·λ₁ + KL(P⁻‖Q_k⁻)·λ₂ per student (Eqs. 5, 7), computed from log-histograms (log-sum-exp of
  the kernel), so log Q is exact however far the student lies from the teacher — no floor, and every
  student similarity in [−1, 1] gets a gradient toward the teacher mass; and the order loss
  −λ₃ Σ_{i,j} (E[S_i⁺] − E[S_j⁻]) over all pairs of partitions, teacher and students (Eqs. 6–7).
Alternatives for the ablation: JS or EMD instead of KL, KL only, order only, random negatives.

The paper gives neither R nor γ. Our defaults, R = 101 nodes (spacing 0.02) and γ = 50 (kernel width
σ = 1/√(2γ) = 0.1, as in Tencent TFace's DDL), are ours. A narrow kernel (γ = 1000, σ ≈ 0.022) with a
floored KL gave every student similarity farther than ~0.2 from all teacher mass an exactly zero gradient.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

_EPS = 1e-10


@dataclasses.dataclass(frozen=True)
class DDLParams:
    bins: int = 101  # R (ours: the paper gives none)
    gamma: float = 50.0  # γ of the Gaussian kernel (Eq. 4); ours, σ = 0.1 as in TFace
    lambda_pos: float = 0.1  # λ₁
    lambda_neg: float = 0.02  # λ₂
    lambda_order: float = 0.5  # λ₃
    outlier: float = 0.0  # positive pairs with s⁺ below this are dropped
    distance: str = "kl"  # kl | js | emd
    terms: str = "both"  # both | kl_only | order_only
    negatives: str = "hard"  # hard | random
    detach_teacher: bool = False


def _unit(x):
    return tf.math.l2_normalize(tf.cast(x, tf.float32), axis=-1, epsilon=1e-12)


def positive_similarities(pair_emb: tf.Tensor, outlier: float = 0.0) -> tuple[tf.Tensor, tf.Tensor]:
    """(s⁺ [b], kept [b]) for pair images laid out as x₁₁, x₁₂, x₂₁, x₂₂, … (Eq. 1)."""
    e = _unit(pair_emb)
    s = tf.reduce_sum(e[0::2] * e[1::2], axis=1)
    return s, s >= outlier


def mined_negatives(emb: tf.Tensor, labels: tf.Tensor, ref: tf.Tensor | None = None,
                    ref_labels: tf.Tensor | None = None, random_key: tf.Tensor | None = None):
    """(s⁻ [b], valid [b]): per row the largest cosine to a reference of another identity (Eq. 2), or with
    ``random_key`` ([b, B] uniforms) the cosine to a random such reference. Masked entries are −inf, so a
    row whose every similarity is negative still gets its true maximum; rows with no other identity are
    invalid (and 0)."""
    ref = emb if ref is None else ref
    ref_labels = labels if ref_labels is None else ref_labels
    sim = tf.matmul(_unit(emb), _unit(ref), transpose_b=True)
    other = tf.not_equal(tf.cast(labels, tf.int32)[:, None], tf.cast(ref_labels, tf.int32)[None, :])
    valid = tf.reduce_any(other, axis=1)
    if random_key is None:
        best = tf.reduce_max(tf.where(other, sim, -float("inf")), axis=1)
    else:  # a uniformly random other-identity reference per row
        pick = tf.argmax(tf.where(other, random_key, -1.0), axis=1, output_type=tf.int32)
        best = tf.gather(sim, pick, batch_dims=1)
    return tf.where(valid, best, 0.0), valid


def log_gaussian_histogram(values: tf.Tensor, mask: tf.Tensor, bins: int = 101,
                           gamma: float = 50.0) -> tuple[tf.Tensor, tf.Tensor]:
    """(log h [R], non-empty) of the Gaussian-kernel histogram h_r ∝ Σ_{s∈S} exp(−γ(s − t_r)²) over nodes
    t_r uniform in [−1, 1] (Eqs. 3–4), normalised to sum 1 (Eq. 3's 1/|S| does not make a kernel histogram
    sum to 1). Computed with log-sum-exp, so no node's log mass underflows; an empty S gives log h = −log R
    and non-empty False (callers drop its terms)."""
    mask = tf.cast(mask, tf.bool)
    nonempty = tf.reduce_any(mask)
    use = tf.logical_or(mask, tf.logical_not(nonempty))  # all rows when S is empty: finite, then discarded
    nodes = tf.linspace(-1.0, 1.0, bins)
    log_w = -gamma * tf.square(tf.cast(values, tf.float32)[:, None] - nodes[None, :])
    log_w = tf.where(use[:, None], log_w, -float("inf"))
    log_h = tf.reduce_logsumexp(log_w, axis=0)
    log_h = log_h - tf.reduce_logsumexp(log_h)
    return tf.where(nonempty, log_h, -tf.math.log(float(bins)) * tf.ones_like(log_h)), nonempty


def gaussian_histogram(values: tf.Tensor, mask: tf.Tensor, bins: int = 101, gamma: float = 50.0) -> tf.Tensor:
    """h of :func:`log_gaussian_histogram` (Eqs. 3–4), all zeros for an empty S."""
    return histogram_from_log(*log_gaussian_histogram(values, mask, bins, gamma))


def histogram_from_log(log_h: tf.Tensor, nonempty: tf.Tensor) -> tf.Tensor:
    """exp(log h), or all zeros for an empty S."""
    return tf.where(nonempty, tf.exp(log_h), tf.zeros_like(log_h))


def kl(p: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
    """D_KL(P‖Q) = Σ P log(P/Q) (Eq. 5) of two histograms, with a tiny floor against log 0 (used by JS,
    whose mixture M is never far from P or Q; the DDL loss itself uses :func:`kl_from_logs`)."""
    return tf.reduce_sum(p * (tf.math.log(p + _EPS) - tf.math.log(q + _EPS)))


def kl_from_logs(log_p: tf.Tensor, log_q: tf.Tensor) -> tf.Tensor:
    """D_KL(P‖Q) = Σ P (log P − log Q) (Eq. 5) from log-histograms: exact, no floor."""
    return tf.reduce_sum(tf.exp(log_p) * (log_p - log_q))


def js(p: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
    """Jensen–Shannon divergence ½KL(P‖M) + ½KL(Q‖M), M = (P + Q)/2 (ablation)."""
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def emd(p: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
    """Earth mover's distance of two histograms on the same uniform nodes in [−1, 1]: Δ·Σ|CDF_P − CDF_Q|."""
    step = 2.0 / (int(p.shape[0]) - 1)
    return step * tf.reduce_sum(tf.abs(tf.cumsum(p) - tf.cumsum(q)))


DISTANCES = {"kl": kl, "js": js, "emd": emd}


def expectation(h: tf.Tensor) -> tf.Tensor:
    """E[S] = Σ_r t_r h_r of a normalised histogram."""
    return tf.reduce_sum(tf.cast(tf.linspace(-1.0, 1.0, int(h.shape[0])), h.dtype) * h)


def ddl_from_similarities(parts: list[tuple], params: DDLParams = DDLParams()) -> tuple[tf.Tensor, dict]:
    """Eq. 7 from per-partition similarities ``[(s⁺, kept⁺, s⁻, valid⁻), …]``, teacher first.

    Returns (loss, metrics) with metrics: kl_pos, kl_neg (summed over students), order, and the
    expectations E[S⁺], E[S⁻] of every partition."""
    if len(parts) < 2:
        raise ValueError("DDL needs a teacher and at least one student partition")
    logs = [(log_gaussian_histogram(sp, kp, params.bins, params.gamma),
             log_gaussian_histogram(sn, vn, params.bins, params.gamma)) for sp, kp, sn, vn in parts]
    if params.detach_teacher:
        logs[0] = tuple((tf.stop_gradient(lh), ne) for lh, ne in logs[0])

    def distance(teacher, student):
        (log_p, p_ok), (log_q, q_ok) = teacher, student
        if params.distance == "kl":
            d = kl_from_logs(log_p, log_q)
        else:
            d = DISTANCES[params.distance](tf.exp(log_p), tf.exp(log_q))
        return tf.where(tf.logical_and(p_ok, q_ok), d, 0.0)  # an empty partition adds no term

    d_pos = tf.add_n([distance(logs[0][0], pos) for pos, _ in logs[1:]])
    d_neg = tf.add_n([distance(logs[0][1], neg) for _, neg in logs[1:]])
    hists = [tuple(histogram_from_log(lh, ne) for lh, ne in pair) for pair in logs]
    e_pos = [expectation(h) for h, _ in hists]
    e_neg = [expectation(h) for _, h in hists]
    order = -tf.add_n([ep - en for ep in e_pos for en in e_neg])
    loss = tf.constant(0.0)
    if params.terms in ("both", "kl_only"):
        loss += params.lambda_pos * d_pos + params.lambda_neg * d_neg
    if params.terms in ("both", "order_only"):
        loss += params.lambda_order * order
    metrics = {"ddl_pos": d_pos, "ddl_neg": d_neg, "ddl_order": order,
               **{f"e_pos_{i}": e for i, e in enumerate(e_pos)}, **{f"e_neg_{i}": e for i, e in enumerate(e_neg)}}
    return loss, metrics


def ddl_loss(parts: list[tuple], params: DDLParams = DDLParams(), step=0):
    """Eq. 7 from per-partition embeddings ``[(pair_emb [2b, D], neg_emb [b, D], neg_labels [b]), …]``
    (teacher first), over the global batch: inside a replica context with several replicas the
    embeddings are all-gathered, the loss computed on the whole batch and 1/N of it returned (the
    shares sum to the global loss, and all_gather carries the gradient back to each replica).
    Random negatives (ablation) are drawn from a generator keyed on ``step``, the same on every replica."""
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync if ctx is not None else 1
    sims = []
    for k, (pair_emb, neg_emb, neg_labels) in enumerate(parts):
        if replicas > 1:
            pair_emb, neg_emb = ctx.all_gather(pair_emb, 0), ctx.all_gather(neg_emb, 0)
            neg_labels = ctx.all_gather(neg_labels, 0)
        sp, kp = positive_similarities(pair_emb, params.outlier)
        key = None
        if params.negatives == "random":
            n = tf.shape(neg_emb)[0]
            key = tf.random.stateless_uniform(tf.stack([n, n]), tf.stack([tf.constant(k + 11, tf.int64),
                                                                         tf.cast(step, tf.int64)]))
        sn, vn = mined_negatives(neg_emb, neg_labels, random_key=key)
        sims.append((sp, kp, sn, vn))
    loss, metrics = ddl_from_similarities(sims, params)
    return loss / replicas, {k: v / replicas for k, v in metrics.items()}
