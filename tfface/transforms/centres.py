"""Running class centres updated from the global batch (Eq. 9 of SFT = Eq. 4 of the centre loss)."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfface")
class ClassCentres(keras.layers.Layer):
    """Non-trainable centres μ [C, D] (zeros) and how often each class has been seen.

    :meth:`update` applies  Δμ_j = Σ_i δ(y_i = j)(μ_j − x_i) / (1 + Σ_i δ(y_i = j)),  μ_j ← μ_j − α·Δμ_j
    (SFT Eq. 9 with α = 1; Wen et al. Eq. 4). Under ``tf.distribute`` it all-gathers the replicas'
    features and labels, so every replica computes the same global update, applied once
    (``only_first_replica`` aggregation). Both variables are checkpointed with the layer.
    """

    def __init__(self, num_classes: int, dim: int, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.dim, self.alpha = int(num_classes), int(dim), float(alpha)
        self.centers = self.add_weight(name="centers", shape=(self.num_classes, self.dim), initializer="zeros",
                                       trainable=False, dtype="float32", aggregation="only_first_replica")
        self.seen = self.add_weight(name="seen", shape=(self.num_classes,), initializer="zeros",
                                    trainable=False, dtype="float32", aggregation="only_first_replica")

    def update(self, emb, labels) -> None:
        emb, labels = tf.stop_gradient(tf.cast(emb, tf.float32)), tf.cast(labels, tf.int32)
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            emb, labels = ctx.all_gather(emb, 0), ctx.all_gather(labels, 0)
        centers = tf.convert_to_tensor(self.centers)
        diff = tf.gather(centers, labels) - emb  # μ_{y_i} − x_i
        num = tf.math.unsorted_segment_sum(diff, labels, self.num_classes)
        cnt = tf.math.unsorted_segment_sum(tf.ones_like(labels, tf.float32), labels, self.num_classes)
        self.centers.assign(centers - self.alpha * num / (1.0 + cnt)[:, None])
        self.seen.assign_add(cnt)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dim": self.dim, "alpha": self.alpha}
