"""Face chips: a photo warped by a similarity transform (rotation, uniform scale, translation) that carries
its landmarks onto a template.

Two layouts:
- ``dlib``: dlib's ``get_face_chip`` from its 5-point landmarks with ``padding`` (the template square widened
  by that fraction of its size on every side); the layout the aligned CelebA set in this project's test data
  was made with (padding 0.25 → the core face spans about the central 75 of 112 px).
- ``arcface``: the five-point template of ArcFace / insightface 112 × 112 chips (eye centres, nose tip, mouth
  corners), reached by the least-squares similarity of Umeyama (1991), Eq. 40–42.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from tfface.errors import ConfigError

# ArcFace's template for a 112 × 112 chip, (x, y) in pixels: the eye on the image's left, the eye on its right,
# the nose tip, the mouth corner on the image's left, the one on its right (the coordinates insightface uses)
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                        [70.7299, 92.2041]])


def arcface_template(size: int) -> np.ndarray:
    """The ArcFace template for a ``size`` chip: scaled from 112, or for multiples of 128 scaled from 128 with
    the template centred (8 px more on the left at 128), as insightface does."""
    if size % 112 == 0:
        return ARCFACE_112 * (size / 112)
    if size % 128 == 0:
        ratio = size / 128
        return ARCFACE_112 * ratio + np.array([8 * ratio, 0])
    raise ConfigError(f"--size={size}: the ArcFace layout is defined for chips of a multiple of 112 or 128 px.")


def arcface_points(sixty_eight: np.ndarray) -> np.ndarray:
    """ArcFace's five points from dlib's 68 (iBUG 300-W order): the two eye centres (mean of each eye's six
    points), the nose tip (30), the mouth corners (48, 54)."""
    p = np.asarray(sixty_eight, np.float64)
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2 × 3 similarity ``M`` minimising Σ‖dst − M·[src, 1]‖² (Umeyama 1991, Eq. 40–42, no reflection)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)  # Eq. 38
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])  # Eq. 39
    rotation = u @ sign @ vt  # Eq. 40
    scale = np.trace(np.diag(sig) @ sign) / np.mean(np.sum(s ** 2, axis=1))  # Eq. 42
    return np.hstack([scale * rotation, (mu_d - scale * rotation @ mu_s)[:, None]])  # Eq. 41


def warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` × ``size`` chip whose pixel (x, y) is the photo's bilinear sample at ``M⁻¹·(x, y, 1)``
    (black outside the photo)."""
    forward = np.vstack([matrix, [0.0, 0.0, 1.0]])
    back = np.linalg.inv(forward)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    sx = back[0, 0] * xs + back[0, 1] * ys + back[0, 2]
    sy = back[1, 0] * xs + back[1, 1] * ys + back[1, 2]
    channels = [ndimage.map_coordinates(image[..., c].astype(np.float64), [sy, sx], order=1, mode="constant", cval=0)
                for c in range(image.shape[2])]
    return np.clip(np.round(np.stack(channels, axis=-1)), 0, 255).astype(np.uint8)


def arcface_chip(image: np.ndarray, five_points: np.ndarray, size: int = 112) -> np.ndarray:
    """The ArcFace-layout chip of a photo from its five ArcFace points."""
    return warp(image, similarity(five_points, arcface_template(size)), size)


def dlib_chip(image: np.ndarray, shape, size: int = 112, padding: float = 0.25) -> np.ndarray:
    """dlib's chip of a photo from its 5-point (or 68-point) landmarks."""
    import dlib

    return np.asarray(dlib.get_face_chip(image, shape, size=size, padding=padding))
