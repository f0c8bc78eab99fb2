"""IDA-L (Liu et al. 2021, Eq. 6): the support-set regression (SSR) module — two fully connected layers
with a ReLU — predicting an embedding's density term from the embedding alone, trained stage-wise on a
frozen backbone's embeddings with MSE against the reference-based (IDA-R) target.

tfface regresses log F rather than F: the same ordering and the same DAO once exponentiated, but a
target on a sane scale for any τ (F = 1/Σ e^{τs} spans e^{−64}… at τ = 64).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import tfface.messages as messages


def build_ssr(dim: int, hidden: int = 512, mean: float = 0.0, std: float = 1.0) -> keras.Model:
    """f (normalised, [D]) → predicted log F = mean + std·z, z from two FC layers (ReLU between). The
    target's mean and std are fixed at build time, so the layers learn a unit-scale z."""
    f = keras.Input((dim,), name="embedding")
    x = keras.layers.Dense(hidden, activation="relu", name="fc1")(f)
    z = keras.layers.Dense(1, name="fc2", kernel_initializer="zeros")(x)
    out = keras.layers.Rescaling(std, offset=mean, name="target_scale")(z)
    return keras.Model(f, keras.layers.Reshape(())(out), name="ssr")


def train_ssr(emb: np.ndarray, target: np.ndarray, steps: int = 30000, lr: float = 1e-3, batch: int = 256,
              boundaries: tuple[int, ...] | None = None, held_out: float = 0.1, seed: int = 0,
              hidden: int = 512, log=messages.info) -> tuple[keras.Model, dict]:
    """Train SSR with SGD (momentum 0.9), lr × 0.1 at ``boundaries`` (default 50/67/83% of the steps, the
    paper's 15k/20k/25k of 30k); report the MSE on a held-out share before and after."""
    rng = np.random.default_rng(seed)
    emb = np.asarray(emb, np.float32) / np.linalg.norm(emb, axis=1, keepdims=True)
    target = np.asarray(target, np.float32)
    order = rng.permutation(len(emb))
    cut = int(len(emb) * (1 - held_out))
    tr, te = order[:cut], order[cut:]
    keras.utils.set_random_seed(seed)
    model = build_ssr(emb.shape[1], hidden, float(target[tr].mean()), float(target[tr].std()) or 1.0)
    bounds = list(boundaries or (steps // 2, steps * 2 // 3, steps * 5 // 6))
    rates = [lr * 0.1 ** i for i in range(len(bounds) + 1)]
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay(bounds, rates)
    opt = keras.optimizers.SGD(schedule, momentum=0.9)

    def mse(idx):
        return float(np.mean((model.predict(emb[idx], batch_size=4096, verbose=0) - target[idx]) ** 2))

    before = mse(te)
    x_tr, y_tr = tf.constant(emb[tr]), tf.constant(target[tr])
    scale2 = float(target[tr].var()) or 1.0

    @tf.function
    def step(i):
        pick = tf.random.stateless_uniform([batch], tf.stack([tf.constant(seed, tf.int64), i]), 0, len(tr),
                                           dtype=tf.int64)
        with tf.GradientTape() as tape:
            err = model(tf.gather(x_tr, pick), training=True) - tf.gather(y_tr, pick)
            loss = tf.reduce_mean(tf.square(err)) / scale2  # MSE of the unit-scale z (Eq. 6 up to a constant)
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    curve = []
    for i in range(steps):
        loss = step(tf.constant(i, tf.int64))
        if (i + 1) % max(1, steps // 10) == 0:
            curve.append((i + 1, float(loss) * scale2))
            log(f"SSR step {i + 1}/{steps}: train MSE {float(loss) * scale2:.3g} (relative {float(loss):.3f})")
    return model, {"held_out_mse_before": before, "held_out_mse_after": mse(te), "train_curve": curve,
                   "held_out": int(len(te)), "target_variance": float(target[te].var())}
