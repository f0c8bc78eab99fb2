"""DiscFace wiring: diagnostics and the toy 3-D experiment of Fig. 4 (Kim et al., ACCV 2020).

The training integration itself is generic: any margin head + ``--discface_lambda`` (see
:class:`tfface.training.tasks.EmbeddingTask`); this module holds what is specific to the paper.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfface.heads.classifier import MarginHead
from tfface.losses.discface import (
    DiscFaceTerm,
    batch_discrepancies,
    discrepancy,
    displacement,
    displacement_discrepancies,
)
from tfface.settings import NON_NEGATIVE, POSITIVE, Section, at_least, section, setting
from tfface.training.terms import LossTerm, StepState


@section("discface", prefix="discface_")
class DiscFaceSettings(Section):
    """DiscFace (Kim et al. 2020): the discrepancy term on the margin head."""

    weight: float = setting(0.0, "DiscFace (Kim et al. 2020): weight λ of the discrepancy loss on the margin head "
                            "(Eq. 4; the paper uses 0.2). 0 = off.", flag="discface_lambda", limit=NON_NEGATIVE)
    basis_max_norm: float = setting(0.05, "DiscFace: clip ξ_max of the displacement basis norm.", limit=POSITIVE)
    num_bases: int = setting(1, "DiscFace: number of displacement bases (each sample uses the nearest; the paper's "
                             "Fig. 4(d) shows 2).", limit=at_least(1), structural=True)

    def unread(self, cfg) -> dict[str, str]:
        if self.weight:
            return {}
        return {f: "DiscFace is off (`discface_lambda=0`)" for f in ("discface_basis_max_norm", "discface_num_bases")}


def discface_term(cfg) -> DiscFaceTerm | None:
    """The DiscFace bases a config asks for (None when `discface_lambda` is 0)."""
    if not cfg.discface.weight:
        return None
    return DiscFaceTerm(cfg.model.embedding_size, cfg.discface.num_bases, cfg.discface.basis_max_norm)


def discrepancy_report(emb: np.ndarray, kernel: np.ndarray, labels: np.ndarray, term: DiscFaceTerm | None = None):
    """Directional (mean intra-class cosine of ε: 1 = aligned) and radial (mean |‖ε_i‖ − ‖ε_j‖|)
    displacement discrepancy of Sec. 3.2, the mean ‖ε‖, and with a DiscFace term ‖ξ_eff‖ and Eq. 3's mean
    ‖ε − ξ_eff‖ (without one, Eq. 3 at ξ = 0 is the mean ‖ε‖)."""
    eps = displacement(tf.constant(emb), tf.constant(kernel), tf.constant(labels)).numpy()
    directional, radial = displacement_discrepancies(eps, labels)
    out = {"directional_cosine": directional, "radial": radial,
           "displacement_norm": float(np.linalg.norm(eps, axis=1).mean())}
    if term is not None:
        basis = term.basis()
        out["xi_eff_norm"] = [float(v) for v in np.linalg.norm(basis.numpy(), axis=1)]
        out["eq3_discrepancy"] = float(tf.reduce_mean(discrepancy(tf.constant(eps), basis)))
    return out


class DiscFaceLoss(LossTerm):
    """DiscFace Eq. 4's second summand, λ·mean_i ‖ε_i − ξ_eff‖ (Eq. 3), on a margin head's class weights.
    Logs ``discrepancy``, max ‖ξ_eff‖ and the batch's directional / radial discrepancies (Sec. 3.2); K > 1
    bases are seeded once, from the first step's displacements (:meth:`DiscFaceTerm.seed_from`)."""

    name = "discrepancy"

    def __init__(self, bases: DiscFaceTerm, head: MarginHead, weight: float):
        self.bases, self.head, self.weight, self.modules = bases, head, weight, {"discface": bases}

    def value(self, state: StepState):
        eps = displacement(state.emb, self.head.kernel, state.labels)
        basis = self.bases.basis()
        disc = tf.reduce_sum(discrepancy(eps, basis)) / float(state.global_batch)
        # diagnostics, averaged over replicas: the trainer sums what replicas return
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        directional, radial = batch_discrepancies(tf.stop_gradient(eps), state.labels)
        return disc, {"discrepancy": disc, "xi_norm": tf.reduce_max(tf.norm(basis, axis=1)) / replicas,
                      "directional": directional / replicas, "radial": radial / replicas}

    def after_step(self, state: StepState) -> None:
        if self.bases.num_bases > 1:  # seeded once, from the first step
            self.bases.seed_from(displacement(state.emb, self.head.kernel, state.labels))


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
