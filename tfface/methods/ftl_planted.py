"""A planted-effect check of FTL's feature transfer (issue 19): does stage 1 (Algorithm 1: UpdateStats, then R and
FC trained on a hard regular batch, a UR batch and the regular batch moved to the UR classes by Eq. 7) give UR
classes the intra-class variation they lack, when that variation is there to transfer?

Rich features g are drawn, not encoded: class centres c_i ~ N(0, I), and every sample c_i + Q a + noise with one
variation basis Q [D, k] shared by all classes (the paper's premise, Sec. 3.2: regular and UR classes share the
variance of pose and the like). Regular classes' training samples and every probe vary fully along Q; UR classes'
training samples barely do (their "frontal" images). FC trained on that without the transferred batch learns UR
classes from tight clusters and mistakes UR probes, which vary along Q; with it, FC sees the UR classes spread along
the estimated Q. Both arms run the library's own TransferTask, update_stats and transfer (Eq. 7) on the same draws,
weights and batches; the encoder is the identity. Every size, spread and step count here is ours.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfface.evaluation.identification import centre_rank1
from tfface.heads.classifier import MarginHead
from tfface.methods.ftl import TransferTask
from tfface.models.ftl import build_filter
from tfface.transforms.ftl import update_stats


@dataclasses.dataclass(frozen=True)
class PlantedFeatures:
    """Training and probe features of the planted classes; ``regular[i]`` is True for a regular class."""

    train_g: np.ndarray
    train_y: np.ndarray
    probe_g: np.ndarray
    probe_y: np.ndarray
    regular: np.ndarray


def planted_features(seed: int, dim: int = 16, variation_dim: int = 8, regular: int = 40, ur: int = 40,
                     per_regular: int = 40, per_ur: int = 4, probes: int = 20, spread: float = 3.0,
                     ur_spread: float = 0.2, noise: float = 0.1) -> PlantedFeatures:
    """Classes 0..regular-1 regular (``per_regular`` training samples with coefficients ~ N(0, spread²) along Q),
    the rest UR (``per_ur`` samples at ``ur_spread``); ``probes`` per class, all at ``spread``."""
    rng = np.random.default_rng(seed)
    classes = regular + ur
    centres = rng.normal(size=(classes, dim))
    basis = np.linalg.qr(rng.normal(size=(dim, variation_dim)))[0]

    def draw(labels: np.ndarray, scale: np.ndarray) -> np.ndarray:
        coeff = rng.normal(size=(len(labels), variation_dim)) * scale[:, None]
        return (centres[labels] + coeff @ basis.T + noise * rng.normal(size=(len(labels), dim))).astype(np.float32)

    is_regular = np.arange(classes) < regular
    train_y = np.concatenate([np.repeat(np.arange(regular), per_regular),
                              np.repeat(np.arange(regular, classes), per_ur)])
    probe_y = np.repeat(np.arange(classes), probes)
    return PlantedFeatures(draw(train_y, np.where(is_regular[train_y], spread, ur_spread)), train_y,
                           draw(probe_y, np.full(len(probe_y), spread)), probe_y, is_regular)


class StageOneWithoutTransfer(TransferTask):
    """Stage 1 with only its regular and UR batches: the ablation of Eq. 7's transferred batch."""

    def batches(self, batch):
        return super().batches(batch)[:2]


def run_stage_one(data: PlantedFeatures, transfer: bool, seed: int, steps: int = 300, batch: int = 64,
                  filter_shape: str = "paper", lr: float = 1e-3) -> dict:
    """Train R and FC from the same initial weights (``seed``) by stage 1 with or without the transferred batch on
    the planted features; FC's top-1 and the nearest training-class centre's rank-1 on f (the paper's measure) of
    the regular and the UR probes, and the PCA basis' kept energy."""
    keras.utils.set_random_seed(seed)
    dim, classes = data.train_g.shape[1], len(data.regular)
    encoder = keras.Sequential([keras.Input((dim,)), keras.layers.Identity()])
    head = MarginHead(classes, "softmax")
    head.build((None, dim))
    modules = {"encoder": encoder, "filter": build_filter(dim, dim, shape=filter_shape), "head": head}
    task = (TransferTask if transfer else StageOneWithoutTransfer)(modules, batch, classes, dim)
    stats = update_stats(data.train_g, data.train_g, data.train_y, classes, data.regular)
    task.set_stats(stats)
    optimizer = keras.optimizers.Adam(lr)
    step_fn = tf.function(lambda b: task.train_step(b, tf.constant(0, tf.int64), optimizer))
    ur_rows = np.flatnonzero(~data.regular[data.train_y])
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        hard = rng.choice(stats.hard, batch)
        ur = rng.choice(ur_rows, batch)
        step_fn(((data.train_g[hard], data.train_y[hard]), (data.train_g[ur], data.train_y[ur])))
    f_probe = modules["filter"](data.probe_g, training=False)
    correct = head.inference_logits(f_probe).numpy().argmax(1) == data.probe_y
    f_train = modules["filter"](data.train_g, training=False).numpy()
    nearest = centre_rank1(f_train, data.train_y, f_probe.numpy(), data.probe_y, classes)
    probe_regular = data.regular[data.probe_y]
    return {"top1_regular": float(correct[probe_regular].mean()), "top1_ur": float(correct[~probe_regular].mean()),
            "rank1_f_regular": float(nearest[probe_regular].mean()),
            "rank1_f_ur": float(nearest[~probe_regular].mean()),
            "pca_energy": stats.energy, "pca_components": int(stats.basis.shape[1])}


def planted_transfer_check(seed: int, steps: int = 300) -> dict:
    """Both arms on one seed's planted features, with R in the paper's shape and as one linear layer:
    {shape: {"transfer": …, "no_transfer": …}} as :func:`run_stage_one`."""
    data = planted_features(seed)
    return {shape: {arm: run_stage_one(data, arm == "transfer", seed, steps, filter_shape=shape)
                    for arm in ("transfer", "no_transfer")} for shape in ("paper", "linear")}
