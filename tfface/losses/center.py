"""Centre loss (Wen et al., ECCV 2016) with non-trainable centres updated from the global batch."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfface.transforms.centres import ClassCentres


@keras.saving.register_keras_serializable(package="tfface")
class CenterLoss(ClassCentres):
    """½‖x_i − c_{y_i}‖² per sample (Wen et al. Eq. 2); centres move by Eq. 4 (see
    :class:`~tfface.transforms.centres.ClassCentres`, default α = 0.5 here)."""

    def __init__(self, num_classes: int, dim: int, alpha: float = 0.5, **kwargs):
        super().__init__(num_classes, dim, alpha, **kwargs)

    def call(self, emb, labels):
        """(sum of per-sample ½‖x − c_y‖², number of samples) for :func:`tfface.losses.pairs.mean_of`."""
        c = tf.gather(tf.convert_to_tensor(self.centers), tf.cast(labels, tf.int32))
        total = 0.5 * tf.reduce_sum(tf.square(tf.cast(emb, tf.float32) - tf.stop_gradient(c)))
        return total, tf.cast(tf.shape(emb)[0], tf.float32)
