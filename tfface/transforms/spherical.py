"""Feature transforms between classes (Zhu et al., "Spherical Feature Transform for Deep Metric
Learning", ECCV 2020): translation (Eq. 2), the spherical rotation (Eqs. 3–4) applied in O(D) per
feature, and the degenerated form SFT-d (Sec. 3.4). Batched: row i of ``x`` goes from the class
centre ``mu1[i]`` to ``mu2[i]``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

_TINY = 1e-12


def _plane(mu1: tf.Tensor, mu2: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(n₁, n₂, α): Gram–Schmidt basis of span(μ₁, μ₂) and the angle from μ₁ to μ₂ (Sec. 3.3).

    When μ₂ ∥ μ₁ the plane is undefined: n₂ = 0. Then α = 0 gives A = I (μ₂ ≈ μ₁), and α = π gives
    A = I − 2n₁n₁ᵀ (μ₂ ≈ −μ₁), a reflection that still maps μ₁ onto μ₂ — finite in both cases."""
    n1 = tf.math.l2_normalize(mu1, axis=-1, epsilon=_TINY)
    along = tf.reduce_sum(mu2 * n1, axis=-1, keepdims=True)
    v = mu2 - along * n1
    v_norm = tf.norm(v, axis=-1, keepdims=True)
    n2 = tf.where(v_norm > 1e-6 * tf.norm(mu2, axis=-1, keepdims=True), v / tf.maximum(v_norm, _TINY), 0.0)
    alpha = tf.atan2(v_norm, along)
    return n1, n2, alpha


def rotate(x: tf.Tensor, mu1: tf.Tensor, mu2: tf.Tensor) -> tf.Tensor:
    """SFT x̃₂ = A x₁ (Eq. 3) with A of Eq. 4, never forming the D×D matrix:
    A x = x + sin α·(n₂(n₁·x) − n₁(n₂·x)) + (cos α − 1)·(n₁(n₁·x) + n₂(n₂·x)).

    ``mu1``/``mu2`` are the source/target class centres (any norm; only their directions matter);
    they are treated as constants (no gradient), ``x`` keeps its gradient."""
    x = tf.convert_to_tensor(x)
    mu1, mu2 = tf.stop_gradient(tf.cast(mu1, x.dtype)), tf.stop_gradient(tf.cast(mu2, x.dtype))
    n1, n2, alpha = _plane(mu1, mu2)
    a = tf.reduce_sum(n1 * x, axis=-1, keepdims=True)
    b = tf.reduce_sum(n2 * x, axis=-1, keepdims=True)
    return x + tf.sin(alpha) * (n2 * a - n1 * b) + (tf.cos(alpha) - 1.0) * (n1 * a + n2 * b)


def rotation_matrix(mu1: np.ndarray, mu2: np.ndarray) -> np.ndarray:
    """The explicit D×D matrix of Eq. 4 (NumPy, for checks and analysis on small D):
    A = I + (n₂n₁ᵀ − n₁n₂ᵀ) sin α + (n₁n₁ᵀ + n₂n₂ᵀ)(cos α − 1)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    n1 = mu1 / np.linalg.norm(mu1)
    v = mu2 - (mu2 @ n1) * n1
    n2 = v / np.linalg.norm(v)
    alpha = np.arctan2(np.linalg.norm(v), mu2 @ n1)
    eye = np.eye(len(mu1))
    return (eye + (np.outer(n2, n1) - np.outer(n1, n2)) * np.sin(alpha)
            + (np.outer(n1, n1) + np.outer(n2, n2)) * (np.cos(alpha) - 1.0))


def translate(x: tf.Tensor, mu1: tf.Tensor, mu2: tf.Tensor) -> tf.Tensor:
    """Translation transform x̃₂ = x₁ + μ₂ − μ₁ (Eq. 2); centres are constants."""
    x = tf.convert_to_tensor(x)
    return x + tf.stop_gradient(tf.cast(mu2, x.dtype) - tf.cast(mu1, x.dtype))


def degenerated(x_raw: tf.Tensor, mu1_raw: tf.Tensor, mu2_raw: tf.Tensor) -> tf.Tensor:
    """SFT-d (Sec. 3.4): Eq. 2 on features *before* normalisation (with centres of un-normalised
    features), then projected back onto the unit sphere."""
    return tf.math.l2_normalize(translate(x_raw, mu1_raw, mu2_raw), axis=-1, epsilon=_TINY)


TRANSFORMS = ("sft", "sft_d", "translation")


def transform(kind: str, x_raw: tf.Tensor, mu1: tf.Tensor, mu2: tf.Tensor) -> tf.Tensor:
    """Generated features for ``--feature_transform=kind`` from raw embeddings ``x_raw``.

    ``sft`` and ``translation`` act on the normalised feature with centres of normalised features;
    ``sft_d`` needs centres of raw features (see :class:`tfface.transforms.centres.ClassCentres`)."""
    if kind == "sft_d":
        return degenerated(x_raw, mu1, mu2)
    x = tf.math.l2_normalize(x_raw, axis=-1, epsilon=_TINY)
    if kind == "sft":
        return rotate(x, mu1, mu2)
    if kind == "translation":
        return translate(x, mu1, mu2)
    raise ValueError(f"`feature_transform={kind!r}`: choose one of none, {', '.join(TRANSFORMS)}")
