"""DiscFace wiring: diagnostics and the toy 3-D experiment of Fig. 4 (Kim et al., ACCV 2020).

The training integration itself is generic: any margin head + ``--discface_lambda`` (see
:class:`tfface.training.tasks.EmbeddingTask`); this module holds what is specific to the paper.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np
import tensorflow as tf

from tfface.data.build import training_data
from tfface.evaluation.verification import embed_paths
from tfface.heads.classifier import MarginHead
from tfface.losses.discface import DiscFaceTerm, displacement, displacement_discrepancies
from tfface.methods.standard import restore_workdir
from tfface.runtime.run import random_access_source


def discrepancy_report(emb: np.ndarray, kernel: np.ndarray, labels: np.ndarray, term: DiscFaceTerm | None = None):
    """Directional (mean intra-class cosine of ε: 1 = aligned) and radial (mean |‖ε_i‖ − ‖ε_j‖|)
    displacement discrepancy of Sec. 3.2, and ‖ξ_eff‖ when a DiscFace term is given."""
    eps = displacement(tf.constant(emb), tf.constant(kernel), tf.constant(labels)).numpy()
    directional, radial = displacement_discrepancies(eps, labels)
    out = {"directional_cosine": directional, "radial": radial}
    if term is not None:
        out["xi_eff_norm"] = [float(v) for v in np.linalg.norm(term.basis().numpy(), axis=1)]
    return out


def discface_diagnostics(workdir: str, out_dir: str, max_images: int = 2000, batch: int = 256) -> dict:
    """DiscFace Sec. 3.2 diagnostics of a trained workdir on (up to ``max_images`` of) its training data:
    directional and radial displacement discrepancy and ‖ξ_eff‖; writes ``discface.json``."""
    cfg, backbone, head, discface, latest = restore_workdir(workdir)
    source = random_access_source(training_data(cfg, log=lambda s: None), "--protocol=discface")
    pick = np.random.default_rng(0).permutation(len(source))[:max_images]
    emb = embed_paths(lambda x: backbone(x, training=False), source.paths[pick], cfg.image_size, batch)
    report = {"checkpoint": latest, "images": int(len(pick)),
              **discrepancy_report(emb, head.kernel.numpy(), source.labels[pick], discface)}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "discface.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    """4 classes of 16-D Gaussian inputs, an MLP to a 3-D embedding, CosFace (s, m) as in Fig. 4."""

    classes: int = 4
    input_dim: int = 16
    steps: int = 400
    batch: int = 64
    lr: float = 0.01
    s: float = 10.0
    m: float = 0.2
    noise: float = 1.0
    seed: int = 0
    eval_every: int = 50


def toy_run(discface_lambda: float, cfg: ToyConfig = ToyConfig()) -> dict:
    """Train CosFace (λ = 0) or Cos-DiscFace (λ > 0) on the toy problem; return the directional-cosine
    history on held-out samples and the final 3-D embeddings."""
    rng = np.random.default_rng(cfg.seed)
    means = rng.normal(size=(cfg.classes, cfg.input_dim)) * 2.0
    test_y = np.repeat(np.arange(cfg.classes), 100)
    test_x = (means[test_y] + cfg.noise * rng.normal(size=(len(test_y), cfg.input_dim))).astype(np.float32)
    keras.utils.set_random_seed(cfg.seed)
    model = keras.Sequential([keras.Input((cfg.input_dim,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(3)])
    head = MarginHead(cfg.classes, "cosface", s=cfg.s, m=cfg.m)
    head.build((None, 3))
    term = DiscFaceTerm(3, 1, 0.05)
    variables = model.trainable_variables + head.trainable_variables + (term.trainable_variables
                                                                        if discface_lambda else [])
    opt = keras.optimizers.Adam(cfg.lr)
    opt.build(variables)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            emb = model(x, training=True)
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(y, head(emb, y))
            loss = tf.reduce_mean(ce)
            if discface_lambda:
                loss += discface_lambda * tf.reduce_mean(term(emb, head.kernel, y))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))

    history = []
    for i in range(cfg.steps + 1):
        if i % cfg.eval_every == 0:
            rep = discrepancy_report(model(test_x).numpy(), head.kernel.numpy(), test_y)
            history.append((i, rep["directional_cosine"], rep["radial"]))
        if i == cfg.steps:
            break
        y = rng.integers(0, cfg.classes, cfg.batch)
        x = (means[y] + cfg.noise * rng.normal(size=(cfg.batch, cfg.input_dim))).astype(np.float32)
        step(tf.constant(x), tf.constant(y, tf.int32))
    return {"lambda": discface_lambda, "history": history, "embeddings": model(test_x).numpy(),
            "labels": test_y, "kernel": head.kernel.numpy()}
