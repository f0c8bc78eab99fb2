"""FTL's statistics and feature transfer (Yin et al. 2019, Sec. 3.3 and Algorithm 1's UpdateStats).

Centres (Eq. 5) from original and flipped images with an optional pose/quality bound τ, the covariance
of regular classes (Eq. 6, float64), its PCA basis Q, the hard-sample list h, and the transfer
g̃ = c_i + QQᵀ(g_j − c_j) (Eq. 7).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfface.data.pipeline import image_dataset


@dataclasses.dataclass(frozen=True)
class FTLStats:
    """What UpdateStats returns: centres C [classes, D], basis Q [D, k], hard sample indices h."""

    centres: np.ndarray
    basis: np.ndarray
    hard: np.ndarray
    energy: float  # share of V's trace the basis keeps

    @property
    def projection(self) -> np.ndarray:
        """QQᵀ [D, D]."""
        return self.basis @ self.basis.T


def centres(g: np.ndarray, g_flip: np.ndarray, labels: np.ndarray, num_classes: int,
            pose: np.ndarray | None = None, tau: float | None = None) -> np.ndarray:
    """c_i = 1/(2|Ω_i|) Σ_{k∈Ω_i} (g_ik + ḡ_ik), Ω_i = {k : |p_ik| + |p̄_ik| ≤ τ} (Eq. 5).

    The flipped image's pose is the mirror of the original's (p̄ = −p), so the bound reads 2|p| ≤ τ.
    A class with every image beyond τ falls back to all its images (its centre would be undefined)."""
    g, g_flip = np.asarray(g, np.float64), np.asarray(g_flip, np.float64)
    keep = np.ones(len(labels), bool)
    if pose is not None and tau is not None:
        keep = 2.0 * np.abs(np.asarray(pose, np.float64)) <= tau
        empty = np.bincount(labels[keep], minlength=num_classes) == 0
        keep |= empty[labels]
    sums = np.zeros((num_classes, g.shape[1]))
    np.add.at(sums, labels[keep], g[keep] + g_flip[keep])
    counts = np.bincount(labels[keep], minlength=num_classes)
    return sums / np.maximum(2 * counts, 1)[:, None]


def regular_covariance(g: np.ndarray, labels: np.ndarray, c: np.ndarray, regular: np.ndarray) -> np.ndarray:
    """V = Σ_{i regular} Σ_k (g_ik − c_i)ᵀ(g_ik − c_i) (Eq. 6), accumulated in float64."""
    rows = regular[labels]
    d = np.asarray(g, np.float64)[rows] - c[labels[rows]]
    return d.T @ d


def pca_basis(v: np.ndarray, energy: float = 0.95, components: int = 0) -> tuple[np.ndarray, float]:
    """(Q, kept energy): the leading eigenvectors of V holding ``energy`` of its trace (the fewest that
    do), or exactly ``components`` of them when that is > 0 (the paper keeps 150 ≈ 95%)."""
    vals, vecs = np.linalg.eigh(v)
    vals, vecs = np.clip(vals[::-1], 0.0, None), vecs[:, ::-1]
    share = np.cumsum(vals) / max(vals.sum(), 1e-300)
    k = components or int(np.searchsorted(share, energy - 1e-12) + 1)
    k = min(max(k, 1), len(vals))
    return vecs[:, :k], float(share[k - 1])


def hard_samples(g: np.ndarray, labels: np.ndarray, c: np.ndarray, regular: np.ndarray) -> np.ndarray:
    """Indices of regular-class samples farther from their centre than their class's mean distance
    d_i = 1/m_i Σ_k ‖g_ik − c_i‖ (Algorithm 1, UpdateStats)."""
    dist = np.linalg.norm(np.asarray(g, np.float64) - c[labels], axis=1)
    mean = np.bincount(labels, dist, minlength=len(c)) / np.maximum(np.bincount(labels, minlength=len(c)), 1)
    return np.flatnonzero(regular[labels] & (dist > mean[labels]))


def transfer(g_regular: tf.Tensor, c_regular: tf.Tensor, c_target: tf.Tensor, projection: tf.Tensor) -> tf.Tensor:
    """g̃ = c_i + QQᵀ(g_j − c_j) (Eq. 7), batched: row k moves regular sample g_j to UR class i."""
    return c_target + tf.matmul(g_regular - c_regular, projection)  # QQᵀ is symmetric


def update_stats(g: np.ndarray, g_flip: np.ndarray, labels: np.ndarray, num_classes: int, regular: np.ndarray,
                 energy: float = 0.95, components: int = 0, pose: np.ndarray | None = None,
                 tau: float | None = None) -> FTLStats:
    """UpdateStats of Algorithm 1 from encoded features (see :func:`encode_all`)."""
    c = centres(g, g_flip, labels, num_classes, pose, tau)
    q, kept = pca_basis(regular_covariance(g, labels, c, regular), energy, components)
    return FTLStats(c, q, hard_samples(g, labels, c, regular), kept)


def encode_all(strategy: tf.distribute.Strategy, encoder, paths, image_size: int,
               global_batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(g, ḡ): Enc in inference mode on every image and its mirror, in order, with no gradients.

    Under a single-host strategy the batches are split over its replicas; a multi-worker strategy
    encodes everything on each worker (every worker then holds the same statistics)."""
    n = len(paths)
    replicas = strategy.num_replicas_in_sync
    multi_worker = getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)()
    if multi_worker or replicas == 1:
        out = [_encode_pair(encoder, x) for x in image_dataset(paths, image_size, global_batch)]
        return tuple(np.concatenate([o[i].numpy() for o in out]) for i in (0, 1))
    batch = global_batch - global_batch % replicas or replicas
    padded = list(paths) + [paths[-1]] * (-n % batch)  # full batches split evenly over the replicas
    dist = strategy.experimental_distribute_dataset(image_dataset(padded, image_size, batch))

    @tf.function
    def step(images):
        g, gf = strategy.run(_encode_pair, args=(encoder, images))
        return strategy.gather(g, 0), strategy.gather(gf, 0)

    out = [step(x) for x in dist]
    return tuple(np.concatenate([o[i].numpy() for o in out])[:n] for i in (0, 1))


def _encode_pair(encoder, images):
    g = tf.cast(encoder(images, training=False), tf.float32)
    return g, tf.cast(encoder(tf.image.flip_left_right(images), training=False), tf.float32)
