"""FTL's Eq. 4 terms by their gradients (Yin et al. 2019): how strongly each weighted term pulls on the encoder and on
R + FC, a check that every term reaches the modules and that none starves the softmax (bench/ftl_gradients.py)."""

from __future__ import annotations

import tensorflow as tf

from tfface.methods.ftl import eq4_terms


def eq4_term_gradients(modules: dict, images: tf.Tensor, labels: tf.Tensor, alpha_softmax: float,
                       alpha_recon: float) -> dict:
    """Norms of each weighted Eq. 4 term's gradient (batch means) on the encoder and on R + FC, and the cosine of
    the softmax and m-L2 gradients on R + FC."""
    enc_vars = modules["encoder"].trainable_variables
    top_vars = modules["filter"].trainable_variables + modules["head"].trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        ce, reg, l_recon, _ = eq4_terms(modules, images, labels)
        terms = {"softmax": alpha_softmax * tf.reduce_mean(ce), "reg": tf.reduce_mean(reg),
                 "recon": alpha_recon * tf.reduce_mean(l_recon)}

    def flat(term, variables):  # a variable the term does not reach counts as 0, so the vectors align
        grads = tape.gradient(term, variables)
        return tf.concat([tf.reshape(tf.zeros(v.shape) if x is None else x, [-1]) for x, v in zip(grads, variables)], 0)

    out = {"value": {k: float(v) for k, v in terms.items()}, "encoder": {}, "filter_and_head": {}}
    top = {}
    for name, term in terms.items():
        out["encoder"][name] = float(tf.norm(flat(term, enc_vars)))
        if name != "recon":
            top[name] = flat(term, top_vars)
            out["filter_and_head"][name] = float(tf.norm(top[name]))
    denom = tf.norm(top["softmax"]) * tf.norm(top["reg"])
    out["cosine_softmax_reg_on_filter_and_head"] = float(tf.reduce_sum(top["softmax"] * top["reg"]) / denom) \
        if float(denom) > 0 else 0.0
    return out
