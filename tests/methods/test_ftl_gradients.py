"""tfface.methods.ftl_gradients (bench/ftl_gradients.py's check): the gradient of each weighted Eq. 4 term is
non-zero, scales with its weight, and m-L2's vanishes at α_reg = 0."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.config import RunConfig
from tfface.methods.ftl import build_modules
from tfface.methods.ftl_gradients import eq4_term_gradients


def gradients(alpha_reg: float, alpha_recon: float) -> dict:
    cfg = RunConfig.of(image_size=32, ftl_rich_dim=16, ftl_alpha_reg=alpha_reg)
    keras.utils.set_random_seed(3)
    modules = build_modules(cfg, 5)
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)), tf.uint8)
    return eq4_term_gradients(modules, images, tf.constant([0, 1, 2, 3, 4, 0, 1, 2]), 1.0, alpha_recon)


def test_each_eq4_term_reaches_the_modules_in_proportion_to_its_weight():
    a, b = gradients(0.25, 1.0), gradients(0.5, 2.0)  # same weights and batch, the two α doubled
    for part, terms in (("encoder", ("softmax", "reg", "recon")), ("filter_and_head", ("softmax", "reg"))):
        for term in terms:
            assert a[part][term] > 0
    assert b["encoder"]["recon"] == pytest.approx(2 * a["encoder"]["recon"], rel=1e-4)
    assert b["filter_and_head"]["reg"] == pytest.approx(2 * a["filter_and_head"]["reg"], rel=1e-4)
    assert b["filter_and_head"]["softmax"] == pytest.approx(a["filter_and_head"]["softmax"], rel=1e-4)
    assert -1 <= a["cosine_softmax_reg_on_filter_and_head"] <= 1
    off = gradients(0.0, 1.0)
    assert off["filter_and_head"]["reg"] == 0 and off["value"]["reg"] == 0
