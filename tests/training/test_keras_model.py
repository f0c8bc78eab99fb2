"""FaceModel: model.fit on one device and on 2 mirrored replicas takes the same step from the same weights."""

import keras
import numpy as np
import tensorflow as tf
from one_step import mirrored, smooth_backbone

from tfface.heads.classifier import MarginHead
from tfface.training.keras_model import FaceModel
from tfface.training.terms import HeadTerm

BATCH = 16


def _fit_one_step(strategy, weights, images, labels, workdir=None):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        head = MarginHead(5, "cosface", s=16.0, m=0.2)
        model = FaceModel(smooth_backbone(32, 8), [HeadTerm(head)], global_batch=BATCH)
        model.build((None, 32, 32, 3))
        head.build((None, 8))
        if weights is not None:
            model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    before = [w.copy() for w in model.get_weights()]
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH)
    history = model.fit(data, epochs=1, verbose=0)
    return before, model.get_weights(), history.history


def test_fit_on_two_replicas_takes_the_one_device_step():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (BATCH, 32, 32, 3)).astype(np.uint8)
    labels = np.repeat(np.arange(4), 4).astype(np.int32)
    before, one, hist_one = _fit_one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), None, images, labels)
    _, two, hist_two = _fit_one_step(mirrored(), before, images, labels)
    assert max(float(np.abs(a - b).max()) for a, b in zip(one, before)) > 1e-4  # the step moved weights
    for a, b in zip(one, two):
        np.testing.assert_allclose(b, a, atol=1e-5 * max(1.0, float(np.abs(a).max())))
    assert np.isclose(hist_one["loss"][0], hist_two["loss"][0], rtol=1e-4)  # logged as the global value
    assert np.isclose(hist_one["acc"][0], hist_two["acc"][0], atol=1e-6)
    assert len(one) > len(smooth_backbone(32, 8).get_weights())  # the head's weights belong to the model
