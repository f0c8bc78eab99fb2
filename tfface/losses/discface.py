"""DiscFace: minimum discrepancy learning (Kim et al., ACCV 2020) as a term on any margin head.

Displacement vector (Eq. 2): ε(x, y) = f/‖f‖ − w_y/‖w_y‖, from the head's own class weights.
Learnable displacement basis ξ (one, or K bases with each sample fitted to its nearest); its effective
value is ξ_eff = normalize(ξ)·min(‖ξ‖, ξ_max) (Sec. 5.1, Algorithm 1).
Discrepancy loss (Eq. 3): the mean over samples of the per-sample norm ‖ε − ξ_eff‖₂.
Total (Eq. 4): L_softmax + λ·L_discrepancy (λ = 0.2).

Initialisation (the paper gives none; ours): ξ starts at zero. With K > 1 bases, equal bases get equal
gradients — the min over bases splits a tie equally — and never separate, so K bases would act as one;
so after the first step they are seeded from that step's displacements over the global batch by
farthest-point selection (the one farthest from their mean, then each next the farthest from those
chosen), clipped to ξ_max (:meth:`DiscFaceTerm.seed_from`).
"""

from __future__ import annotations

import keras
import tensorflow as tf


def displacement(emb: tf.Tensor, kernel: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """ε = f/‖f‖ − w_y/‖w_y‖ (DiscFace Eq. 2); kernel is the head's [D, C] class-weight matrix."""
    f = tf.math.l2_normalize(tf.cast(emb, tf.float32), axis=1, epsilon=1e-12)
    w = tf.gather(tf.transpose(tf.cast(kernel, tf.float32)), tf.cast(labels, tf.int32))
    return f - tf.math.l2_normalize(w, axis=1, epsilon=1e-12)


def effective_basis(xi: tf.Tensor, max_norm: float) -> tf.Tensor:
    """normalize(ξ)·min(‖ξ‖, ξ_max) per basis row (Algorithm 1's clipping).

    Written as ξ·min(1, ξ_max/‖ξ‖): the same value, but with an identity gradient at ξ = 0, where the
    literal form has a zero gradient and a zero-initialised basis could never move."""
    norm = tf.norm(xi, axis=-1, keepdims=True)
    return xi * tf.minimum(1.0, max_norm / tf.maximum(norm, 1e-30))


def discrepancy(eps: tf.Tensor, basis: tf.Tensor) -> tf.Tensor:
    """Per-sample ‖ε_i − ξ_eff‖₂ (Eq. 3), against the nearest of K effective bases [K, D]."""
    d2 = tf.reduce_sum(tf.square(eps[:, None, :] - basis[None, :, :]), axis=2)  # [B, K]
    dist = tf.where(d2 > 0, tf.sqrt(tf.where(d2 > 0, d2, 1.0)), 0.0)  # exact 0, finite gradient at 0
    return tf.reduce_min(dist, axis=1)


def batch_discrepancies(eps: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """In-graph (directional, radial) displacement discrepancy of Sec. 3.2 over the batch's intra-class
    pairs: mean cosine between ε_i, ε_j and mean |‖ε_i‖ − ‖ε_j‖| (0 when the batch has no such pair)."""
    norms = tf.norm(eps, axis=1)
    unit = eps / tf.maximum(norms, 1e-12)[:, None]
    labels = tf.cast(labels, tf.int32)
    ones = tf.ones(tf.stack([tf.shape(eps)[0], tf.shape(eps)[0]]))
    upper = tf.linalg.band_part(ones, 0, -1) - tf.linalg.band_part(ones, 0, 0) > 0  # i < j
    pair = tf.logical_and(tf.equal(labels[:, None], labels[None, :]), upper)
    n = tf.maximum(tf.reduce_sum(tf.cast(pair, tf.float32)), 1.0)
    cos = tf.reduce_sum(tf.where(pair, tf.matmul(unit, unit, transpose_b=True), 0.0)) / n
    radial = tf.reduce_sum(tf.where(pair, tf.abs(norms[:, None] - norms[None, :]), 0.0)) / n
    return cos, radial


def farthest_points(x: tf.Tensor, k: int) -> tf.Tensor:
    """Indices of k rows of ``x``: the row farthest from the mean, then each next the row farthest from
    the rows already chosen (deterministic; ties go to the lower index)."""
    d = tf.reduce_sum(tf.square(x - tf.reduce_mean(x, axis=0, keepdims=True)), axis=1)
    picks, nearest = [], None
    for _ in range(k):  # k is the (small) number of bases, not the batch
        i = tf.argmax(d if nearest is None else nearest, output_type=tf.int32)
        picks.append(i)
        to_i = tf.reduce_sum(tf.square(x - x[i]), axis=1)
        nearest = to_i if nearest is None else tf.minimum(nearest, to_i)
    return tf.stack(picks)


@keras.saving.register_keras_serializable(package="tfface")
class DiscFaceTerm(keras.layers.Layer):
    """Holds the displacement bases ξ [K, D] (zeros; K > 1 seeded after the first step, see
    :meth:`seed_from`) and returns per-sample discrepancies.

    Args:
        dim: embedding size D.
        num_bases: K; each sample is fitted to its nearest basis.
        max_norm: ξ_max, the clip of Algorithm 1 (0.05 in the paper).
    """

    def __init__(self, dim: int, num_bases: int = 1, max_norm: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_bases, self.max_norm = int(dim), int(num_bases), float(max_norm)
        self.xi = self.add_weight(name="xi", shape=(self.num_bases, self.dim), initializer="zeros", dtype="float32")
        self.seeded = self.add_weight(name="seeded", shape=(), initializer="ones" if self.num_bases == 1 else "zeros",
                                      trainable=False, dtype="float32", aggregation="only_first_replica")

    def seed_from(self, eps) -> None:
        """Once, for K > 1: set the bases to K displacements of the global batch chosen by
        :func:`farthest_points`, clipped to ξ_max (every replica computes the same values)."""
        if self.num_bases == 1:
            return
        eps = tf.stop_gradient(tf.cast(eps, tf.float32))
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            eps = ctx.all_gather(eps, 0)
        seeds = effective_basis(tf.gather(eps, farthest_points(eps, self.num_bases)), self.max_norm)
        self.xi.assign(tf.where(self.seeded > 0, tf.convert_to_tensor(self.xi), seeds))
        self.seeded.assign(1.0)

    def basis(self) -> tf.Tensor:
        return effective_basis(tf.convert_to_tensor(self.xi), self.max_norm)

    def call(self, emb, kernel, labels):
        return discrepancy(displacement(emb, kernel, labels), self.basis())

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_bases": self.num_bases, "max_norm": self.max_norm}


def displacement_discrepancies(eps, labels) -> tuple[float, float]:
    """(directional, radial) displacement discrepancy of Sec. 3.2 over intra-class pairs (NumPy):
    mean cosine between normalised ε_i, ε_j, and mean |‖ε_i‖ − ‖ε_j‖|."""
    import numpy as np

    eps, labels = np.asarray(eps, np.float64), np.asarray(labels)
    norms = np.linalg.norm(eps, axis=1)
    unit = eps / np.maximum(norms[:, None], 1e-12)
    iu = np.triu_indices(len(labels), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    if not same.any():
        return float("nan"), float("nan")
    cos = (unit @ unit.T)[iu][same]
    radial = np.abs(norms[:, None] - norms[None, :])[iu][same]
    return float(cos.mean()), float(radial.mean())
