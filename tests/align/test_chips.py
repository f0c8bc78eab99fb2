"""The similarity fit (Umeyama 1991, Eq. 40–42) and the warp against hand-checked cases."""

import numpy as np
import pytest

from tfface.align.chips import ARCFACE_112, arcface_points, arcface_template, similarity, warp
from tfface.errors import ConfigError


def test_similarity_recovers_a_known_rotation_scale_and_shift():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [2.0, 3.0], [-1.0, 4.0]])
    # 90° counter-clockwise, scale 2, shift (5, -3): (x, y) -> (5 - 2y, -3 + 2x)
    dst = np.stack([5 - 2 * src[:, 1], -3 + 2 * src[:, 0]], axis=1)
    np.testing.assert_allclose(similarity(src, dst), [[0, -2, 5], [2, 0, -3]], atol=1e-12)


def test_similarity_is_the_least_squares_fit_and_never_a_reflection():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(5, 2)) * 20
    dst = src * [-1, 1] + rng.normal(size=(5, 2))  # a mirror image: the best similarity cannot reflect
    m = similarity(src, dst)
    assert np.linalg.det(m[:, :2]) > 0
    # no small change of the four similarity parameters lowers the squared error
    a, b, tx, ty = m[0, 0], m[1, 0], m[0, 2], m[1, 2]

    def error(p):
        a, b, tx, ty = p
        return np.sum((src @ np.array([[a, b], [-b, a]]) + [tx, ty] - dst) ** 2)

    best = error([a, b, tx, ty])
    for step in np.eye(4) * 1e-4:
        assert error([a, b, tx, ty] + step) >= best and error([a, b, tx, ty] - step) >= best


def test_warp_by_a_shift_moves_the_pixels():
    image = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
    shifted = warp(image, np.array([[1.0, 0, -2], [0, 1.0, -3]]), 5)  # chip (x, y) = photo (x + 2, y + 3)
    np.testing.assert_array_equal(shifted, image[3:8, 2:7])
    outside = warp(image, np.array([[1.0, 0, 20], [0, 1.0, 0]]), 4)
    assert not outside.any()  # black outside the photo


def test_arcface_points_and_template():
    p = np.zeros((68, 2))
    p[36:42] = [10, 20]
    p[42:48] = [30, 20]
    p[30], p[48], p[54] = [20, 30], [12, 40], [28, 40]
    np.testing.assert_array_equal(arcface_points(p), [[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]])
    np.testing.assert_allclose(arcface_template(224), ARCFACE_112 * 2)
    np.testing.assert_allclose(arcface_template(128), ARCFACE_112 + [8, 0])
    with pytest.raises(ConfigError, match="multiple of 112 or 128"):
        arcface_template(100)
