"""FTL (Yin et al. 2019) feature transfer: centres with flip and τ (Eq. 5), covariance (Eq. 6), the PCA
energy cut, transfer (Eq. 7), the hard list, and encoding on two replicas."""

import numpy as np
import pytest
import tensorflow as tf

from tfface.methods.ftl import regular_classes
from tfface.transforms.ftl import (
    centres,
    hard_samples,
    pca_basis,
    regular_covariance,
    transfer,
    update_stats,
)


def test_centres_eq5_with_flip_and_pose_bound():
    g = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, 10.0], [0.0, 4.0]])
    g_flip = np.array([[1.0, 2.0], [1.0, 0.0], [10.0, 10.0], [2.0, 0.0]])
    y = np.array([0, 0, 0, 1])
    # all images: class 0 = (1+1+3+1+10+10, 0+2+2+0+10+10)/6 = (26, 24)/6; class 1 = (2, 4)/2
    np.testing.assert_allclose(centres(g, g_flip, y, 3), [[26 / 6, 4.0], [1.0, 2.0], [0.0, 0.0]])
    # τ = 40 with yaw (0, 15, 30, 25): Ω₀ = {0, 1} (2|p| ≤ 40); class 1's only image is beyond → falls back to it
    yaw = np.array([0.0, -15.0, 30.0, 25.0])
    np.testing.assert_allclose(centres(g, g_flip, y, 3, yaw, 40.0), [[1.5, 1.0], [1.0, 2.0], [0.0, 0.0]])


def test_covariance_eq6_pca_energy_and_hard_list():
    g = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 1.0], [2.0, -1.0], [9.0, 9.0]])
    y = np.array([0, 0, 0, 0, 1])
    regular = np.array([True, False])
    c = np.array([[2.0, 0.0], [9.0, 9.0]])
    v = regular_covariance(g, y, c, regular)
    # deviations (−1,0), (1,0), (0,1), (0,−1): V = [[2, 0], [0, 2]]; class 1 (UR) left out
    np.testing.assert_allclose(v, [[2.0, 0.0], [0.0, 2.0]])
    v = np.diag([6.0, 3.0, 1.0])
    q, kept = pca_basis(v, energy=0.6)
    assert q.shape == (3, 1) and kept == pytest.approx(0.6)  # 6/10 is enough
    q, kept = pca_basis(v, energy=0.61)
    assert q.shape == (3, 2) and kept == pytest.approx(0.9)
    np.testing.assert_allclose(np.abs(q), [[1, 0], [0, 1], [0, 0]])
    assert pca_basis(v, components=3)[0].shape == (3, 3)
    # hard list: class 0 distances 1, 3, 1, 1 (mean 1.5) → index 1 only; UR samples never
    g2 = np.array([[1.0, 0.0], [5.0, 0.0], [2.0, 1.0], [2.0, -1.0], [30.0, 9.0]])
    np.testing.assert_array_equal(hard_samples(g2, y, c, regular), [1])


def test_transfer_eq7():
    q = np.array([[1.0], [0.0]])  # keep only the first axis of the variation
    g_j, c_j, c_i = np.array([[3.0, 5.0]]), np.array([[1.0, 1.0]]), np.array([[10.0, 20.0]])
    out = transfer(tf.constant(g_j), tf.constant(c_j), tf.constant(c_i), tf.constant(q @ q.T)).numpy()
    np.testing.assert_allclose(out, [[12.0, 20.0]])  # c_i + QQᵀ(g_j − c_j) = (10, 20) + (2, 0)


def test_update_stats_matches_the_pieces():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), [6, 6, 2, 1])
    g, gf = rng.normal(size=(2, 15, 5))
    regular = regular_classes(np.bincount(y), 3)
    np.testing.assert_array_equal(regular, [True, True, False, False])
    stats = update_stats(g, gf, y, 4, regular, energy=0.9)
    c = centres(g, gf, y, 4)
    np.testing.assert_allclose(stats.centres, c)
    np.testing.assert_array_equal(stats.hard, hard_samples(g, y, c, regular))
    q, kept = pca_basis(regular_covariance(g, y, c, regular), 0.9)
    np.testing.assert_allclose(stats.projection, q @ q.T, atol=1e-12)
    assert kept >= 0.9




