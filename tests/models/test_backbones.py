"""Backbones build at the flag sizes, and mixed precision keeps heads and losses in float32."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.heads.classifier import MarginHead
from tfface.models.backbones import build_backbone


@pytest.mark.parametrize("name,size,params", [
    ("iresnet50", 112, 43.6e6),  # insightface's r50 has 43.6 M parameters at 112 px / 512-D
    ("mobilefacenet", 112, 1.2e6),
    ("iresnet18", 64, None),
    ("small_cnn", 32, None),
])
def test_backbones(name, size, params):
    model = build_backbone(name, size, 512)
    out = model(np.zeros((2, size, size, 3), np.uint8), training=False)
    assert out.shape == (2, 512) and out.dtype == tf.float32
    if params:
        assert abs(model.count_params() - params) / params < 0.02


def test_bad_backbone_flags():
    with pytest.raises(ValueError, match="`backbone="):
        build_backbone("resnet7", 64)
    with pytest.raises(ValueError, match="`image_size=60`"):
        build_backbone("small_cnn", 60)


def test_bfloat16_policy_keeps_float32_numerics():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_backbone("small_cnn", 32, 16)
        head = MarginHead(5, "arcface", s=16.0, m=0.5)
        emb = model(np.zeros((2, 32, 32, 3), np.uint8), training=True)
        logits = head(emb, tf.constant([1, 2]))
        assert emb.dtype == tf.float32 and logits.dtype == tf.float32
        assert model.get_layer("emb_fc").compute_dtype == "bfloat16"
        assert np.isfinite(logits.numpy()).all()
    finally:
        keras.mixed_precision.set_global_policy("float32")
