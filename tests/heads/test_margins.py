"""Margin functions against plain NumPy references."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfface.heads.classifier import MarginHead, metric_l2
from tfface.heads.margins import ArcFace, Combined, CosFace, NormFace, Plain, make_margin


def _np_combined(cos, labels, s, m1, m2, m3):
    out = s * np.array(cos, np.float64)
    for i, y in enumerate(labels):
        c = np.clip(cos[i, y], -1 + 1e-7, 1 - 1e-7)
        theta = math.acos(c)
        if theta <= (math.pi - m2) / m1:
            t = math.cos(m1 * theta + m2) - m3
        else:
            t = c - m3 - m2 * math.sin(m2)
        out[i, y] = s * t
    return out


def _cases():
    rng = np.random.default_rng(0)
    cos = rng.uniform(-1, 1, size=(6, 5)).astype(np.float32)
    cos[0, 2] = -0.999  # theta + m > pi for the target of row 0
    cos[1, 0] = 1.0  # exactly 1: must be clipped, not NaN
    labels = np.array([2, 0, 1, 4, 3, 2])
    return cos, labels


def test_hand_checked_arcface_value():
    # cos θ = 0.5 -> θ = 60°, +0.5 rad: cos(1.5472) = 0.02359..., times s = 2
    cos = np.array([[0.5, 0.1]], np.float32)
    out = ArcFace(s=2.0, m=0.5)(tf.constant(cos), tf.constant([0])).numpy()
    assert out[0, 0] == pytest.approx(2 * math.cos(math.pi / 3 + 0.5), abs=1e-5)
    assert out[0, 1] == pytest.approx(0.2, abs=1e-6)


@pytest.mark.parametrize("m1,m2,m3", [(1.0, 0.5, 0.0), (1.0, 0.0, 0.35), (0.9, 0.4, 0.15), (1.2, 0.3, 0.1)])
def test_combined_matches_numpy(m1, m2, m3):
    cos, labels = _cases()
    got = Combined(s=30.0, m1=m1, m2=m2, m3=m3)(tf.constant(cos), tf.constant(labels)).numpy()
    np.testing.assert_allclose(got, _np_combined(cos, labels, 30.0, m1, m2, m3), atol=2e-4)
    assert np.isfinite(got).all()


def test_arcface_is_combined_and_cosface_matches_numpy():
    cos, labels = _cases()
    np.testing.assert_allclose(ArcFace(30.0, 0.5)(cos, labels).numpy(),
                               _np_combined(cos, labels, 30.0, 1.0, 0.5, 0.0), atol=2e-4)
    ref = 30.0 * cos.astype(np.float64)
    ref[np.arange(6), labels] -= 30.0 * 0.35
    np.testing.assert_allclose(CosFace(30.0, 0.35)(cos, labels).numpy(), ref, atol=1e-4)
    np.testing.assert_allclose(NormFace(16.0)(cos, labels).numpy(), 16.0 * cos, atol=1e-5)
    np.testing.assert_allclose(Plain()(cos, labels).numpy(), cos)


def test_margin_gradients_finite_at_clip():
    cos = tf.Variable([[1.0, -1.0], [-1.0, 1.0]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ArcFace(64.0, 0.5)(cos, tf.constant([0, 0])))
    assert np.isfinite(tape.gradient(loss, cos).numpy()).all()


def test_float32_under_bfloat16_inputs():
    cos = tf.constant([[0.3, 0.2]], tf.bfloat16)
    assert CosFace()(cos, tf.constant([1])).dtype == tf.float32


def test_unknown_head_names_flag():
    with pytest.raises(ValueError, match="`head="):
        make_margin("sphereface2")


def test_head_and_metric_l2():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(4, 3)).astype(np.float32)
    head = MarginHead(5, margin="cosface", s=10.0, m=0.2, reg_weight=0.25)
    logits = head(tf.constant(f), tf.constant([0, 1, 2, 3])).numpy()
    w = head.kernel.numpy()
    cos = (f / np.linalg.norm(f, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    ref = 10.0 * cos
    ref[np.arange(4), [0, 1, 2, 3]] -= 10.0 * 0.2
    np.testing.assert_allclose(logits, ref, atol=1e-4)
    # FTL Eq. 3 by hand: sum_c (w_c . f)^2
    want = np.array([sum((w[:, c] @ f[i]) ** 2 for c in range(5)) for i in range(4)])
    np.testing.assert_allclose(metric_l2(f, w).numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(head.regularization(tf.constant(f)).numpy(), 0.25 * want, rtol=1e-5)
