"""DiscFace: minimum discrepancy learning (Kim et al., ACCV 2020) as a term on any margin head.

Displacement vector (Eq. 2): ε(x, y) = f/‖f‖ − w_y/‖w_y‖, from the head's own class weights.
Learnable displacement basis ξ (one, or K bases with each sample fitted to its nearest), initialised
to zero; its effective value is ξ_eff = normalize(ξ)·min(‖ξ‖, ξ_max) (Sec. 5.1, Algorithm 1).
Discrepancy loss (Eq. 3): the mean over samples of the per-sample norm ‖ε − ξ_eff‖₂.
Total (Eq. 4): L_softmax + λ·L_discrepancy (λ = 0.2).
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


class DiscFaceTerm(keras.layers.Layer):
    """Holds the displacement bases ξ [K, D] (zeros) and returns per-sample discrepancies."""

    def __init__(self, dim: int, num_bases: int = 1, max_norm: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_bases, self.max_norm = int(dim), int(num_bases), float(max_norm)
        self.xi = self.add_weight(name="xi", shape=(self.num_bases, self.dim), initializer="zeros", dtype="float32")

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
