"""FTL's m-L2 regulariser (Yin et al. 2019, Eq. 3) on the linear classifier."""

import numpy as np
import tensorflow as tf

from tfface.heads.classifier import metric_l2


def test_metric_l2_eq3_by_hand():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])  # [D=2, C=3]
    f = np.array([[1.0, 2.0], [0.5, 0.0]])
    # Wᵀf: (1, 2, 0) → 5;  (0.5, 0, 1) → 1.25
    np.testing.assert_allclose(metric_l2(tf.constant(f), tf.constant(w)).numpy(), [5.0, 1.25], atol=1e-6)
