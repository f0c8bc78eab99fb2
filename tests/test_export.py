"""SavedModel round trip: reloaded signatures match the in-memory model."""

import keras
import numpy as np
import tensorflow as tf

from tfface.export.saved_model import export_saved_model, load_embedder
from tfface.models.backbones import build_backbone


def test_saved_model_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    backbone = build_backbone("small_cnn", 32, 16)
    images = np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    want = tf.math.l2_normalize(backbone(images, training=False), axis=1).numpy()
    path = export_saved_model(backbone, tmp_path / "export", 32)
    loaded = tf.saved_model.load(path)
    got = loaded.signatures["serving_default"](images=tf.constant(images))["embeddings"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    score = loaded.signatures["score"](images1=tf.constant(images), images2=tf.constant(images[::-1]))
    np.testing.assert_allclose(score["score"].numpy(), np.sum(want * want[::-1], axis=1), atol=1e-5)
    embed, size = load_embedder(path)
    assert size == 32
    np.testing.assert_allclose(embed(images).numpy(), want, atol=1e-5)
