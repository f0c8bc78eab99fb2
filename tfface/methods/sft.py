"""SFT (Zhu et al., ECCV 2020): feature-space augmentation for any tfface loss, and its analysis tools.

:class:`FeatureAugmenter` tracks class centres (Eq. 9), sends each feature of the batch to another
class with ``sft`` (rotation, Eq. 3), ``translation`` (Eq. 2) or ``sft_d`` (Sec. 3.4), and the task
adds λ·J(X_gen, Y_gen) to J(X, Y) (Eq. 10). Schemes (Sec. 3.5): ``balanced`` sends every feature to a
random other class; ``unbalanced`` sends only head-class features, to random tail classes.

Targets are drawn per feature (the paper's wording) or per identity: then all images of an identity in the
global batch move to the same target class — for balanced training through a random bijection of the
classes, so distinct identities stay distinct — which keeps every positive pair of a P×K batch for the
metric losses (per feature, a 16×4 batch kept ~13–27 of its 96). Per identity is ours, and the default when
a metric loss is in the loss.

Analysis (Sec. 3.4, 4.2): :func:`orthogonality` (r_w, Eqs. 7–8), :func:`rotation_residuals`
(‖Aσ − σ‖, Fig. 6) and :func:`sft_report` (with per-class divergence, Eq. 11 / Fig. 4).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.losses.pairs import global_sum, mean_of
from tfface.registry import ListProtocol, register_list_protocol
from tfface.training.terms import HeadTerm, LossTerm, MetricLossTerm, StepState
from tfface.transforms.centres import ClassCentres
from tfface.transforms.spherical import TRANSFORMS, rotate, transform

SCHEMES = ("balanced", "unbalanced")


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
            raise ConfigError(f"--feature_transform={kind!r}: choose none or one of {', '.join(TRANSFORMS)}.")
        if scheme not in SCHEMES:
            raise ConfigError(f"--sft_scheme={scheme!r}: choose balanced or unbalanced.")
        if num_classes < 2:
            raise ConfigError("--feature_transform needs at least 2 training classes.")
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
            raise ConfigError(f"--sft_scheme=unbalanced: with --sft_tail_threshold={tail_threshold} there are "
                              f"{int(self.is_head.sum())} head and {len(self.tail_classes)} tail classes; both "
                              "must be non-empty (change the threshold or use --sft_scheme=balanced).")
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


def class_means(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(classes, their mean features)."""
    classes, inv = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(classes), emb.shape[1]))
    np.add.at(sums, inv, emb)
    return classes, sums / np.bincount(inv)[:, None]


def orthogonality(emb: np.ndarray, labels: np.ndarray, energy: float = 0.99) -> dict:
    """r_w = trace(Uᵀ S_w U) / trace(S_w) (Eq. 8), S_c and S_w of Eq. 7, U the leading eigenvectors of
    S_c holding ``energy`` of its trace. 0: the within-class variation σ is orthogonal to the class means."""
    emb = np.asarray(emb, np.float64)
    classes, mu = class_means(emb, labels)
    inv = np.searchsorted(classes, labels)
    s_c = mu.T @ mu / len(classes)
    sigma = emb - mu[inv]
    per_class = np.bincount(inv)
    s_w = (sigma / per_class[inv][:, None]).T @ sigma / len(classes)  # mean over classes of class scatter
    vals, vecs = np.linalg.eigh(s_c)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    k = int(np.searchsorted(np.cumsum(vals) / vals.sum(), energy - 1e-12) + 1)
    u = vecs[:, :k]
    return {"r_w": float(np.trace(u.T @ s_w @ u) / np.trace(s_w)), "energy": energy, "k": k}


def rotation_residuals(emb: np.ndarray, labels: np.ndarray, samples: int = 10000, seed: int = 0) -> np.ndarray:
    """d = ‖Aσ − σ‖₂ (Fig. 6a) for random (feature, other class) draws: σ = x/‖x‖ − μ₁, A rotates the
    normalised centre μ₁ of x's class onto that of the other class. d ≈ 0 where SFT ≈ translation."""
    x = np.asarray(emb, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    classes, mu = class_means(x, labels)
    inv = np.searchsorted(classes, labels)
    rng = np.random.default_rng(seed)
    i = rng.integers(len(x), size=samples)
    j = (inv[i] + 1 + rng.integers(len(classes) - 1, size=samples)) % len(classes)
    sigma = x[i] - mu[inv[i]]
    moved = rotate(tf.constant(sigma), tf.constant(mu[inv[i]]), tf.constant(mu[j])).numpy()
    return np.linalg.norm(moved - sigma, axis=1)


def sft_report(emb: np.ndarray, labels: np.ndarray, energies=(0.5, 0.8, 0.9, 0.95, 0.99),
               samples: int = 2000) -> dict:
    """r_w over several energies of the means, the ‖Aσ − σ‖ distribution and per-class divergence."""
    from tfface.evaluation.distribution import class_scatter

    x = np.asarray(emb, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = rotation_residuals(x, labels, samples)
    div = class_scatter(x, labels)
    hist, edges = np.histogram(d, bins=50)
    return {"orthogonality": [orthogonality(x, labels, e) for e in energies],
            "rotation_residual": {"mean": float(d.mean()), "median": float(np.median(d)),
                                  "hist": hist.tolist(), "edges": edges.tolist()},
            "divergence": {"mean": float(div.mean()), "std": float(div.std()), "per_class": div.tolist()}}


def plot_sft_report(report: dict, path: str) -> None:
    """Three panels: ‖Aσ − σ‖ histogram (Fig. 6a), r_w vs energy (Fig. 6c), sorted divergences (Fig. 4a)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    r = report["rotation_residual"]
    ax[0].stairs(r["hist"], r["edges"], fill=True)
    ax[0].set(xlabel="‖Aσ − σ‖", ylabel="draws", title=f"rotation residual (mean {r['mean']:.3f})")
    o = report["orthogonality"]
    ax[1].plot([e["energy"] for e in o], [e["r_w"] for e in o], "o-")
    ax[1].set(xlabel="energy of the means kept", ylabel="r_w", title="orthogonality (Eq. 8)", ylim=(0, 1))
    div = np.sort(report["divergence"]["per_class"])
    ax[2].bar(np.arange(len(div)), div, width=1.0)
    ax[2].axhline(report["divergence"]["mean"], ls="--", c="k")
    ax[2].set(xlabel="class (sorted)", ylabel="divergence (Eq. 11)",
              title=f"divergence std {report['divergence']['std']:.4f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sft_protocol_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """``--protocol=sft``: :func:`sft_report` of the list, plotted to ``sft.png``."""
    report = sft_report(emb, labels)
    plot_sft_report(report, os.path.join(out_dir, "sft.png"))
    return report


register_list_protocol(ListProtocol("sft", sft_protocol_report))
