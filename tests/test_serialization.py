"""Every Keras part of tfface is registered serialisable with a full get_config: serialise → deserialise gives
the same class, the same config and (with the weights copied) the same outputs."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.heads.classifier import LinearClassifier, MarginHead, NormalizedClassifier
from tfface.heads.margins import CosFace, NormFace, Plain, make_margin
from tfface.losses.center import CenterLoss
from tfface.losses.discface import DiscFaceTerm
from tfface.losses.registry import MetricLoss
from tfface.methods.sft import FeatureAugmenter
from tfface.training.optim import WarmupSchedule
from tfface.transforms.centres import ClassCentres


def round_trip(obj):
    config = keras.saving.serialize_keras_object(obj)
    assert config["registered_name"].startswith("tfface>"), config["registered_name"]
    again = keras.saving.deserialize_keras_object(config)
    assert type(again) is type(obj)
    assert keras.saving.serialize_keras_object(again) == config
    return again


def copy_weights(src, dst):
    for a, b in zip(src.weights, dst.weights, strict=True):
        b.assign(a)


EMB = tf.random.stateless_normal([6, 8], [1, 2])
LABELS = tf.constant([0, 1, 2, 3, 4, 0])


@pytest.mark.parametrize("kind", [NormalizedClassifier, LinearClassifier])
def test_classifiers(kind):
    layer = kind(5, name="c")
    layer.build((None, 8))
    again = round_trip(layer)
    assert again.built  # build_config restored the weights' shapes
    copy_weights(layer, again)
    np.testing.assert_array_equal(again(EMB).numpy(), layer(EMB).numpy())


@pytest.mark.parametrize("margin", ["softmax", "normface", "cosface", "arcface", "combined"])
def test_margin_heads(margin):
    head = MarginHead(5, margin, s=16.0, m=0.3, m1=0.9, m3=0.1 if margin == "combined" else 0.0, reg_weight=0.0)
    head.build((None, 8))
    again = round_trip(head)
    assert again.built  # build_config restored the weights' shapes
    copy_weights(head, again)
    np.testing.assert_array_equal(again(EMB, LABELS).numpy(), head(EMB, LABELS).numpy())


@pytest.mark.parametrize("margin", [Plain(), NormFace(s=10.0), CosFace(s=12.0, m=0.2),
                                    make_margin("arcface", s=30.0, m=0.4)])
def test_margins(margin):
    assert round_trip(margin) == margin


def test_a_model_with_a_margin_head_saves_and_loads_as_a_keras_file(tmp_path):
    emb, labels = keras.Input((8,)), keras.Input((), dtype="int32")
    head = MarginHead(5, "arcface", s=16.0, m=0.3)
    model = keras.Model([emb, labels], head(emb, labels))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded([EMB, LABELS]).numpy(), model([EMB, LABELS]).numpy(), atol=1e-6)


def test_stateful_layers():
    bases = DiscFaceTerm(8, 2, 0.07, name="d")
    bases.xi.assign(tf.random.stateless_normal([2, 8], [3, 4]) * 0.01)
    again = round_trip(bases)
    copy_weights(bases, again)
    kernel = tf.random.stateless_normal([8, 5], [5, 6])
    np.testing.assert_array_equal(again(EMB, kernel, LABELS).numpy(), bases(EMB, kernel, LABELS).numpy())
    for layer in (ClassCentres(5, 8, 0.5, name="cc"), CenterLoss(5, 8, 0.3, name="cl")):
        layer.update(EMB, LABELS)
        again = round_trip(layer)
        copy_weights(layer, again)
        np.testing.assert_array_equal(again.centers.numpy(), layer.centers.numpy())
    center = CenterLoss(5, 8, 0.3)
    center.update(EMB, LABELS)
    again = round_trip(center)
    copy_weights(center, again)
    assert [float(x) for x in again(EMB, LABELS)] == [float(x) for x in center(EMB, LABELS)]


def test_feature_augmenter():
    counts = np.array([20, 20, 3, 3, 3])
    aug = FeatureAugmenter("sft", 5, 8, counts, "unbalanced", 10, 2, seed=3, per_identity=True)
    aug.update(EMB, LABELS)
    again = round_trip(aug)
    copy_weights(aug, again)
    for a, b in zip(aug(EMB, LABELS, tf.constant(5)), again(EMB, LABELS, tf.constant(5))):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_metric_loss_and_schedule():
    loss = MetricLoss("ms", ms_beta=40.0)
    again = round_trip(loss)
    assert float(again(LABELS, EMB)) == float(loss(LABELS, EMB))
    schedule = WarmupSchedule(0.1, 100, "piecewise", 5, (50, 80), 0.2)
    again = round_trip(schedule)
    for step in (0, 3, 60, 90):
        assert float(again(step)) == float(schedule(step))
