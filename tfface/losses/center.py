"""Centre loss (Wen et al., ECCV 2016) with non-trainable centres updated from the global batch."""

from __future__ import annotations

import keras
import tensorflow as tf


class CenterLoss(keras.layers.Layer):
    """½‖x_i − c_{y_i}‖² per sample (Wen et al. Eq. 2); centres move by Eq. 4:
    Δc_j = Σ_i δ(y_i = j)(c_j − x_i) / (1 + Σ_i δ(y_i = j)),  c_j ← c_j − α·Δc_j.

    Under ``tf.distribute`` :meth:`update` all-gathers the replicas' features and labels, so every
    replica computes the same global update, applied once (``only_first_replica`` aggregation).
    """

    def __init__(self, num_classes: int, dim: int, alpha: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.dim, self.alpha = int(num_classes), int(dim), float(alpha)
        self.centers = self.add_weight(name="centers", shape=(self.num_classes, self.dim), initializer="zeros",
                                       trainable=False, dtype="float32", aggregation="only_first_replica")

    def call(self, emb, labels):
        """(sum of per-sample ½‖x − c_y‖², number of samples) for :func:`tfface.losses.pairs.mean_of`."""
        c = tf.gather(tf.convert_to_tensor(self.centers), tf.cast(labels, tf.int32))
        total = 0.5 * tf.reduce_sum(tf.square(tf.cast(emb, tf.float32) - tf.stop_gradient(c)))
        return total, tf.cast(tf.shape(emb)[0], tf.float32)

    def update(self, emb, labels):
        emb, labels = tf.stop_gradient(tf.cast(emb, tf.float32)), tf.cast(labels, tf.int32)
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            emb, labels = ctx.all_gather(emb, 0), ctx.all_gather(labels, 0)
        centers = tf.convert_to_tensor(self.centers)
        diff = tf.gather(centers, labels) - emb  # c_{y_i} − x_i
        num = tf.math.unsorted_segment_sum(diff, labels, self.num_classes)
        cnt = tf.math.unsorted_segment_sum(tf.ones_like(labels, tf.float32), labels, self.num_classes)
        self.centers.assign(centers - self.alpha * num / (1.0 + cnt)[:, None])

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dim": self.dim, "alpha": self.alpha}
