"""SFT (Zhu et al. 2020) transforms: the rotation (Eqs. 3–4), translation (Eq. 2) and SFT-d (Sec. 3.4)."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.transforms.spherical import degenerated, rotate, rotation_matrix, translate


def _rot(x, mu1, mu2):
    x, mu1, mu2 = (np.atleast_2d(np.asarray(v, np.float64)) for v in (x, mu1, mu2))
    return rotate(tf.constant(x), tf.constant(mu1), tf.constant(mu2)).numpy()


def test_rotation_by_hand_in_3d():
    # μ₁ = e₁, μ₂ = 2e₂: a quarter turn in the (e₁, e₂) plane; e₃ is left alone
    np.testing.assert_allclose(_rot([1, 0, 1], [1, 0, 0], [0, 2, 0]), [[0, 1, 1]], atol=1e-12)
    np.testing.assert_allclose(_rot([0, 1, 0], [1, 0, 0], [0, 2, 0]), [[-1, 0, 0]], atol=1e-12)
    # 45°: e₁ → (e₁ + e₂)/√2
    np.testing.assert_allclose(_rot([1, 0, 0], [1, 0, 0], [1, 1, 0]), [[2 ** -0.5, 2 ** -0.5, 0]], atol=1e-12)


def test_rotation_matches_eq4_matrix_and_is_orthogonal():
    rng = np.random.default_rng(0)
    for d in (2, 3, 7):
        mu1, mu2 = rng.normal(size=(2, d))
        a = rotation_matrix(mu1, mu2)
        np.testing.assert_allclose(a @ a.T, np.eye(d), atol=1e-12)  # orthogonal
        assert np.linalg.det(a) == pytest.approx(1.0)  # a rotation
        np.testing.assert_allclose(a @ (mu1 / np.linalg.norm(mu1)), mu2 / np.linalg.norm(mu2), atol=1e-12)
        x = rng.normal(size=(6, d))
        got = _rot(x, np.tile(mu1, (6, 1)), np.tile(mu2, (6, 1)))
        np.testing.assert_allclose(got, x @ a.T, atol=1e-12)  # the O(D) form equals Eq. 4
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), np.linalg.norm(x, axis=1), atol=1e-12)
        if d > 2:  # vectors orthogonal to span(μ₁, μ₂) are unchanged
            q, _ = np.linalg.qr(np.stack([mu1, mu2], 1), mode="complete")
            ortho = q[:, 2:].T
            np.testing.assert_allclose(_rot(ortho, np.tile(mu1, (d - 2, 1)), np.tile(mu2, (d - 2, 1))), ortho,
                                       atol=1e-12)


def test_rotation_parallel_and_antiparallel_centres_are_finite():
    x = np.array([[0.3, -0.2, 0.9]])
    same = _rot(x, [1, 0, 0], [2, 0, 0])
    np.testing.assert_allclose(same, x, atol=1e-12)
    near = _rot(x, [1, 0, 0], [1, 1e-9, 0])
    np.testing.assert_allclose(near, x, atol=1e-8)
    flip = _rot(x, [1, 0, 0], [-3, 0, 0])
    assert np.all(np.isfinite(flip))
    np.testing.assert_allclose(_rot([1, 0, 0], [1, 0, 0], [-3, 0, 0]), [[-1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(flip), np.linalg.norm(x), atol=1e-12)
    # gradients with respect to the feature are finite too (float32, as in training)
    xv = tf.Variable(x.astype(np.float32))
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(rotate(xv, tf.constant([[1.0, 0, 0]]), tf.constant([[-1.0, 1e-8, 0]])))
    assert np.all(np.isfinite(tape.gradient(out, xv).numpy()))


def test_sft_reduces_to_translation_when_sigma_orthogonal_to_the_centres():
    # Proposition 3: x = μ₁ + σ with unit centres and σ ⟂ span(μ₁, μ₂) ⇒ A x = μ₂ + σ = x + μ₂ − μ₁
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    mu1, mu2 = q[:, 0], 0.6 * q[:, 0] + 0.8 * q[:, 1]
    sigma = 0.3 * q[:, 2] - 0.5 * q[:, 4]
    x = mu1 + sigma
    trans = translate(tf.constant(x[None]), tf.constant(mu1[None]), tf.constant(mu2[None])).numpy()
    np.testing.assert_allclose(_rot(x, mu1, mu2), trans, atol=1e-12)
    np.testing.assert_allclose(trans, (mu2 + sigma)[None], atol=1e-12)
    # ... and differs when σ has a component in the plane
    y = mu1 + 0.3 * q[:, 1]
    assert np.abs(_rot(y, mu1, mu2) - (y + mu2 - mu1)).max() > 0.05


def test_degenerated_form_translates_then_projects():
    x, mu1, mu2 = np.array([[2.0, 1.0]]), np.array([[2.0, 0.0]]), np.array([[0.0, 3.0]])
    got = degenerated(tf.constant(x), tf.constant(mu1), tf.constant(mu2)).numpy()
    np.testing.assert_allclose(got, [[0.0, 1.0]], atol=1e-12)  # (2,1) + (−2,3) = (0,4) → (0,1)
