"""Inter-class discrepancy alignment (IDA; Liu et al. 2021): calibrated verification scores.

DAO (Eq. 4):  DAO(f₁, f₂) = e^{τ⟨f₁,f₂⟩}·(F₁ + F₂),  F_j = F(f_j, Ψ_{f_j}) = 1 / Σ_{i≤k} e^{τ s_i^j},
with s^j the similarities of f_j to its k support-set members. Computed in log space,
log DAO = τ⟨f₁,f₂⟩ + logaddexp(log F₁, log F₂) with log F = −logsumexp(τ s), so τ up to 64 and k up to
1000 stay finite; it is symmetric in (f₁, F₁) ↔ (f₂, F₂). Verification only needs a monotone score, so
the log score is what tfface reports (``exp`` of it is Eq. 4 where that is representable).

Support sets (Algorithm 1, IDA-R): the top-k anchors by cosine, exact, as batched matrix products and
``top_k`` (:func:`topk_similarities`), or a faiss inner-product index behind the same call
(:class:`FaissSearch`); anchors of the query's own identity can be excluded.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def log_density(support_sims: tf.Tensor, tau: float = 1.0) -> tf.Tensor:
    """log F(f, Ψ_f) = −log Σ_i e^{τ s_i} over the last axis (the support set)."""
    return -tf.reduce_logsumexp(tau * tf.cast(support_sims, tf.float32), axis=-1)


def log_dao(f1: tf.Tensor, f2: tf.Tensor, log_f1: tf.Tensor, log_f2: tf.Tensor, tau: float = 1.0) -> tf.Tensor:
    """log DAO (Eq. 4) of row-aligned normalised embeddings and their log densities."""
    cos = tf.reduce_sum(tf.cast(f1, tf.float32) * tf.cast(f2, tf.float32), axis=-1)
    hi, lo = tf.maximum(log_f1, log_f2), tf.minimum(log_f1, log_f2)
    return tau * cos + hi + tf.math.log1p(tf.exp(lo - hi))  # logaddexp, the same for either order


@tf.function(reduce_retracing=True)
def _search(q, a, ql, al, k: int, exclude: bool):
    sim = tf.matmul(q, a, transpose_b=True)
    if exclude:
        sim = tf.where(tf.equal(ql[:, None], al[None, :]), -np.inf, sim)
    return tf.math.top_k(sim, k)


def topk_similarities(queries: np.ndarray, anchors: np.ndarray, k: int, query_labels=None, anchor_labels=None,
                      batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(similarities [n, k] descending, anchor indices [n, k]) of each query's k most similar anchors,
    exact: queries in batches against all anchors (one matrix product and ``top_k`` per batch). With
    labels, anchors of the query's own identity are skipped (−inf before ``top_k``)."""
    a = tf.constant(normalize(anchors))
    if k > a.shape[0]:
        raise ValueError(f"k={k} is larger than the {a.shape[0]} anchors")
    exclude = query_labels is not None and anchor_labels is not None
    al = tf.constant(np.asarray(anchor_labels) if exclude else np.zeros(1, np.int64))
    q_all = normalize(queries)
    ql_all = np.asarray(query_labels) if exclude else np.zeros(len(q_all), np.int64)
    sims, idx = [], []
    for i in range(0, len(q_all), batch):
        s, j = _search(tf.constant(q_all[i:i + batch]), a, tf.constant(ql_all[i:i + batch]), al, k, exclude)
        sims.append(s.numpy())
        idx.append(j.numpy())
    return np.concatenate(sims), np.concatenate(idx)


class FaissSearch:
    """The same search with a faiss exact inner-product index (for millions of anchors; optional)."""

    def __init__(self, anchors: np.ndarray):
        try:
            import faiss
        except ImportError as err:
            raise ImportError("faiss is not installed: pip install faiss-cpu (or use the exact TF search)") from err
        self.index = faiss.IndexFlatIP(anchors.shape[1])
        self.index.add(normalize(anchors))

    def __call__(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims, idx = self.index.search(normalize(queries), k)
        return sims, idx


def ida_r_log_density(emb: np.ndarray, anchors: np.ndarray, k: int = 10, tau: float = 1.0, labels=None,
                      anchor_labels=None) -> np.ndarray:
    """IDA-R: log F of each embedding from its top-k anchors (Algorithm 1)."""
    sims, _ = topk_similarities(emb, anchors, k, labels, anchor_labels)
    return log_density(tf.constant(sims), tau).numpy()


def score_matrix(a: np.ndarray, b: np.ndarray, log_a: np.ndarray | None = None, log_b: np.ndarray | None = None,
                 tau: float = 1.0) -> np.ndarray:
    """[len(a), len(b)] scores of every row of ``a`` with every row of ``b`` (both already unit rows): cosine
    without densities, else log DAO (Eq. 4), τ⟨a_i, b_j⟩ + logaddexp(log F_a_i, log F_b_j)."""
    cos = a @ b.T
    if log_a is None:
        return cos
    return tau * cos + np.logaddexp(np.asarray(log_a, cos.dtype)[:, None], np.asarray(log_b, cos.dtype)[None, :])


def pair_scores(emb1: np.ndarray, emb2: np.ndarray, log_f1: np.ndarray | None = None, log_f2: np.ndarray | None = None,
                tau: float = 1.0) -> np.ndarray:
    """Cosine when no densities are given, else log DAO, for row-aligned pairs."""
    e1, e2 = normalize(emb1), normalize(emb2)
    if log_f1 is None:
        return np.sum(e1 * e2, axis=1)
    return log_dao(tf.constant(e1), tf.constant(e2), tf.constant(log_f1, tf.float32),
                   tf.constant(log_f2, tf.float32), tau).numpy()
