"""SFT (Zhu et al., ECCV 2020): feature-space augmentation for any tfface loss.

:class:`FeatureAugmenter` tracks class centres (Eq. 9), sends each feature of the batch to another
class with ``sft`` (rotation, Eq. 3), ``translation`` (Eq. 2) or ``sft_d`` (Sec. 3.4), and the task
adds λ·J(X_gen, Y_gen) to J(X, Y) (Eq. 10). Schemes (Sec. 3.5): ``balanced`` sends every feature to a
random other class; ``unbalanced`` sends only head-class features, to random tail classes.

Targets are drawn per feature (the paper's wording) or per identity: then all images of an identity in the
global batch move to the same target class — for balanced training through a random bijection of the
classes, so distinct identities stay distinct — which keeps every positive pair of a P×K batch for the
metric losses (per feature, a 16×4 batch kept ~13–27 of its 96). Per identity is ours, and the default when
a metric loss is in the loss.

Its analysis tools are in :mod:`tfface.methods.sft_analysis`.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.losses.pairs import global_sum, mean_of
from tfface.settings import NON_NEGATIVE, Section, section, setting
from tfface.training.terms import HeadTerm, LossTerm, MetricLossTerm, StepState
from tfface.transforms.centres import ClassCentres
from tfface.transforms.spherical import TRANSFORMS, transform

SCHEMES = ("balanced", "unbalanced")


@section("sft", prefix="sft_")
class SFTSettings(Section):
    """SFT (Zhu et al. 2020): feature augmentation wrapped around any loss."""

    transform: str = setting("none", "SFT (Zhu et al. 2020) feature augmentation on any loss: sft = spherical rotation "
                             "between class centres (Eq. 3), sft_d = translation before normalisation then "
                             "re-projection (Sec. 3.4), translation = Eq. 2 on normalised features.",
                             choices=("none", *TRANSFORMS), flag="feature_transform", structural=True)
    weight: float = setting(0.2, "SFT: weight λ of the loss on the generated batch (Eq. 10).", flag="sft_lambda",
                            limit=NON_NEGATIVE)
    scheme: str = setting("balanced", "SFT training scheme (Sec. 3.5): every feature to a random other class, or only "
                          "head-class features to tail classes.", choices=SCHEMES)
    tail_threshold: int = setting(15, "SFT unbalanced scheme: classes with fewer training images are tail classes.",
                                  limit=NON_NEGATIVE)
    warmup_steps: int = setting(100, "SFT: steps of centre tracking before features are generated.",
                                limit=NON_NEGATIVE)
    targets: str = setting("auto", "SFT: draw target classes per feature (sample, the paper's wording) or per "
                           "identity (all images of an identity move to one class, keeping the positive pairs a "
                           "metric loss needs); auto = identity when --loss or --aux_loss has a metric loss, else "
                           "sample.", choices=("auto", "sample", "identity"))

    def unread(self, cfg) -> dict[str, str]:
        if self.transform == "none":
            return {d.flag: "SFT is off (`feature_transform=none`)" for d in self.DECLARED.values()
                    if d.field != "transform"}
        if self.scheme != "unbalanced":
            return {"sft_tail_threshold": f"it splits head and tail classes for `sft_scheme=unbalanced`, not "
                                          f"`sft_scheme={self.scheme}`"}
        return {}


@keras.saving.register_keras_serializable(package="tfface")
class FeatureAugmenter(keras.layers.Layer):
    """Generates the transformed batch (X_gen, Y_gen, weights) and owns the class centres.

    ``class_counts`` (images per class in the training set) defines head (≥ ``tail_threshold``) and
    tail classes for the unbalanced scheme. A feature is generated only once ``warmup_steps`` have
    passed and both its own and its target class have been seen by the centre tracker; the others get
    weight 0. Targets are drawn from a stateless generator keyed on (seed, step, position in the
    global batch) — or, with ``per_identity``, on (seed, step, class) — so any number of replicas draws the
    same targets as one device.
    """

    def __init__(self, kind: str, num_classes: int, dim: int, class_counts=None, scheme: str = "balanced",
                 tail_threshold: int = 15, warmup_steps: int = 0, seed: int = 0, per_identity: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if kind not in TRANSFORMS:
            raise ConfigError(f"`feature_transform={kind!r}`: choose none or one of {', '.join(TRANSFORMS)}.")
        if scheme not in SCHEMES:
            raise ConfigError(f"`sft_scheme={scheme!r}`: choose balanced or unbalanced.")
        if num_classes < 2:
            raise ConfigError("`feature_transform` needs at least 2 training classes.")
        self.kind, self.scheme, self.seed, self.per_identity = kind, scheme, int(seed), bool(per_identity)
        self.num_classes, self.dim, self.warmup_steps = int(num_classes), int(dim), int(warmup_steps)
        self.tail_threshold = int(tail_threshold)
        self.class_counts = None if class_counts is None else [int(c) for c in class_counts]
        counts = np.full(num_classes, tail_threshold) if class_counts is None else np.asarray(class_counts)
        if len(counts) != num_classes:
            raise ValueError(f"class_counts has {len(counts)} entries for {num_classes} classes")
        self.is_head = counts >= tail_threshold
        self.tail_classes = np.flatnonzero(~self.is_head).astype(np.int32)
        if scheme == "unbalanced" and (len(self.tail_classes) == 0 or not self.is_head.any()):
            raise ConfigError(f"`sft_scheme=unbalanced`: with `sft_tail_threshold={tail_threshold}` there are "
                              f"{int(self.is_head.sum())} head and {len(self.tail_classes)} tail classes; both "
                              "must be non-empty (change the threshold or use `sft_scheme=balanced`).")
        self.centres = ClassCentres(num_classes, dim, alpha=1.0, name="centres")
        self.built = True  # all state lives in the centre tracker, created above

    def centre_input(self, emb):
        """What the centres average: raw features for ``sft_d``, normalised features otherwise."""
        emb = tf.cast(emb, tf.float32)
        return emb if self.kind == "sft_d" else tf.math.l2_normalize(emb, axis=1, epsilon=1e-12)

    def _uniform(self, n, step):
        """n uniforms for this replica's slice of the global batch (same draw on any replica count)."""
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        rid = ctx.replica_id_in_sync_group if ctx is not None else 0
        u = tf.random.stateless_uniform(tf.reshape(n * replicas, [1]), self._step_seed(step))
        return u[tf.cast(rid, tf.int32) * n: (tf.cast(rid, tf.int32) + 1) * n]

    def _step_seed(self, step) -> tf.Tensor:
        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])

    def _identity_targets(self, labels, step) -> tuple[tf.Tensor, tf.Tensor]:
        """Per identity: balanced — the next class in a random cycle through all classes (a bijection
        without fixed points, drawn per step); unbalanced — a random tail class per head class."""
        if self.scheme == "balanced":
            cycle = tf.random.experimental.stateless_shuffle(tf.range(self.num_classes), self._step_seed(step))
            position = tf.math.invert_permutation(cycle)
            return tf.gather(cycle, (tf.gather(position, labels) + 1) % self.num_classes), tf.ones_like(labels, tf.bool)
        u = tf.gather(tf.random.stateless_uniform([self.num_classes], self._step_seed(step)), labels)
        return self._tail_target(u), tf.gather(tf.constant(self.is_head), labels)

    def _tail_target(self, u):
        pick = tf.minimum(tf.cast(u * len(self.tail_classes), tf.int32), len(self.tail_classes) - 1)
        return tf.gather(tf.constant(self.tail_classes), pick)

    def targets(self, labels, step) -> tuple[tf.Tensor, tf.Tensor]:
        """(target class, eligible) per sample for the scheme (Sec. 3.5)."""
        labels = tf.cast(labels, tf.int32)
        if self.per_identity:
            return self._identity_targets(labels, step)
        u = self._uniform(tf.shape(labels)[0], step)
        if self.scheme == "balanced":  # uniformly one of the C − 1 other classes
            shift = 1 + tf.minimum(tf.cast(u * (self.num_classes - 1), tf.int32), self.num_classes - 2)
            return (labels + shift) % self.num_classes, tf.ones_like(labels, tf.bool)
        return self._tail_target(u), tf.gather(tf.constant(self.is_head), labels)

    def call(self, emb, labels, step):
        """(X_gen, Y_gen, weight): generated features (unit norm), target labels, 1.0 where generated."""
        target, ok = self.targets(labels, step)
        labels = tf.cast(labels, tf.int32)
        centers, seen = tf.convert_to_tensor(self.centres.centers), tf.convert_to_tensor(self.centres.seen)
        ok = tf.logical_and(ok, tf.gather(seen, labels) > 0)
        ok = tf.logical_and(ok, tf.gather(seen, target) > 0)
        ok = tf.logical_and(ok, tf.cast(step, tf.int64) >= self.warmup_steps)
        gen = transform(self.kind, tf.cast(emb, tf.float32), tf.gather(centers, labels), tf.gather(centers, target))
        return gen, target, tf.cast(ok, tf.float32)

    def update(self, emb, labels) -> None:
        """Eq. 9 on this step's (global) batch; call after the optimiser step."""
        self.centres.update(self.centre_input(emb), labels)

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "num_classes": self.num_classes, "dim": self.dim,
                "class_counts": self.class_counts, "scheme": self.scheme, "tail_threshold": self.tail_threshold,
                "warmup_steps": self.warmup_steps, "seed": self.seed, "per_identity": self.per_identity}


# ---- analysis (NumPy) -------------------------------------------------------------------------------

class GeneratedLoss(LossTerm):
    """J(X_gen, Y_gen) of SFT Eq. 10, weighted by λ: the other terms of the loss on generated features.

    The head term is the mean cross-entropy over the generated features (global count). The metric terms
    see the whole batch with generated features in place of the originals they came from (others
    normalised, unchanged), as pair mining needs a full batch. Logs ``generated_loss`` and the fraction of
    the batch ``generated``; the augmenter's centres move after each step (Eq. 9)."""

    name = "generated_loss"

    def __init__(self, augment: FeatureAugmenter, weight: float, head: HeadTerm | None = None,
                 metric_terms: list[MetricLossTerm] = ()):
        self.augment, self.weight, self.modules = augment, weight, {"augment": augment}
        self.head, self.metric_terms = head, list(metric_terms)

    def value(self, state: StepState):
        gen, target, weight = self.augment(state.emb, state.labels, state.step)
        value = tf.constant(0.0)
        if self.head is not None:
            ce, _ = self.head.cross_entropy(gen, target, state.step)
            value += mean_of(tf.reduce_sum(weight * ce), tf.reduce_sum(weight))
        if self.metric_terms:
            keep = weight[:, None] > 0
            unit = tf.math.l2_normalize(tf.cast(state.emb, tf.float32), axis=1, epsilon=1e-12)
            mixed = tf.where(keep, gen, unit)
            mixed_labels = tf.where(weight > 0, target, tf.cast(state.labels, tf.int32))
            active = tf.cast(global_sum(tf.reduce_sum(weight)) > 0, tf.float32)  # same on every replica
            for term in self.metric_terms:
                value += active * term.weight * term.fn(mixed, mixed_labels)
        generated = tf.reduce_sum(weight) / float(state.global_batch)
        return value, {"generated_loss": value, "generated": generated}

    def after_step(self, state: StepState) -> None:
        self.augment.update(state.emb, state.labels)
