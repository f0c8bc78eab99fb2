"""A hand-checked batch for SFT's centre update (Zhu et al. 2020, Eq. 9), shared by the centre and SFT tests."""

import numpy as np


def hand_batch():
    x = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [5.0, 5.0]], np.float32)
    y = np.array([0, 0, 1, 0])
    start = np.array([[1.0, 1.0], [0.0, 0.0], [7.0, 7.0]], np.float32)
    # Eq. 9: class 0: Σ(μ − x) = (0,1)+(−2,1)+(−4,−4) = (−6,−2), /(1+3) = (−1.5,−0.5) → μ = (2.5, 1.5)
    #        class 1: (0,−2)/(1+1) = (0,−1) → μ = (0, 1); class 2 not in the batch: unchanged
    return x, y, start, np.array([[2.5, 1.5], [0.0, 1.0], [7.0, 7.0]]), np.array([3.0, 1.0, 0.0])
