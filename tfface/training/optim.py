"""Optimisers and learning-rate schedules."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.settings import NON_NEGATIVE, POSITIVE, Limit, Section, at_least, section, setting

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "piecewise", "cosine")


@section("optim")
class OptimSettings(Section):
    """The optimiser and its learning-rate schedule."""

    optimizer: str = setting("sgd", "Optimiser.", choices=OPTIMIZERS, structural=True)
    lr: float = setting(0.1, "Base learning rate.", limit=POSITIVE)
    momentum: float = setting(0.9, "SGD momentum.", limit=Limit(0, 1, open_hi=True))
    weight_decay: float = setting(5e-4, "Weight decay (decoupled, SGD / AdamW).", limit=NON_NEGATIVE)
    lr_schedule: str = setting("cosine", "Learning-rate schedule.", choices=SCHEDULES)
    lr_boundaries: tuple[int, ...] = setting((), "Piecewise schedule: steps where the lr is multiplied by "
                                             "--lr_factor.", limit=at_least(1))
    lr_factor: float = setting(0.1, "Piecewise schedule factor.", limit=POSITIVE)
    warmup_steps: int = setting(200, "Linear learning-rate warm-up steps.", limit=NON_NEGATIVE)

    def unread(self, cfg) -> dict[str, str]:
        out = {}
        if self.optimizer != "sgd":
            out["momentum"] = f"`optimizer={self.optimizer}` has no momentum setting (it is SGD's)"
        if self.optimizer == "adam" and self.weight_decay:  # 0 is what Adam does: saying so is not refused
            out["weight_decay"] = "`optimizer=adam` has no weight decay; use `optimizer=adamw` or sgd"
        if self.lr_schedule != "piecewise":
            for flag in ("lr_boundaries", "lr_factor"):
                out[flag] = f"it shapes `lr_schedule=piecewise`, not `lr_schedule={self.lr_schedule}`"
        return out


@keras.saving.register_keras_serializable(package="tfface")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Base learning rate ``lr`` shaped by ``kind`` after a linear warm-up of ``warmup`` steps.

    kind: ``constant``; ``piecewise`` (× ``factor`` at each of ``boundaries``);
    ``cosine`` (from lr to lr·final_fraction over the remaining steps).
    """

    def __init__(self, lr: float, total_steps: int, kind: str = "cosine", warmup: int = 0,
                 boundaries: tuple[int, ...] = (), factor: float = 0.1, final_fraction: float = 0.0):
        if kind not in ("constant", "piecewise", "cosine"):
            raise ConfigError(f"`lr_schedule={kind!r}`: choose constant, piecewise or cosine.")
        self.lr, self.total, self.kind, self.warmup = float(lr), int(total_steps), kind, int(warmup)
        self.boundaries, self.factor, self.final_fraction = tuple(boundaries), float(factor), final_fraction

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        if self.kind == "constant":
            lr = tf.constant(self.lr)
        elif self.kind == "piecewise":
            passed = tf.add_n([tf.cast(step >= b, tf.float32) for b in self.boundaries] + [0.0])
            lr = self.lr * tf.pow(self.factor, passed)
        else:
            span = max(self.total - self.warmup, 1)
            t = tf.clip_by_value((step - self.warmup) / span, 0.0, 1.0)
            lr = self.lr * (self.final_fraction + (1 - self.final_fraction) * 0.5 * (1 + tf.cos(math.pi * t)))
        if self.warmup:
            lr = lr * tf.minimum(1.0, (step + 1) / self.warmup)
        return lr

    def get_config(self):
        return {"lr": self.lr, "total_steps": self.total, "kind": self.kind, "warmup": self.warmup,
                "boundaries": self.boundaries, "factor": self.factor, "final_fraction": self.final_fraction}


def make_optimizer(name: str, schedule, momentum: float = 0.9, weight_decay: float = 5e-4,
                   mixed_precision: str = "none") -> keras.optimizers.Optimizer:
    """``sgd`` (momentum, decoupled weight decay), ``adam`` or ``adamw``."""
    if name == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=momentum, weight_decay=weight_decay or None)
    elif name == "adam":
        opt = keras.optimizers.Adam(schedule)
    elif name == "adamw":
        opt = keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    else:
        raise ConfigError(f"`optimizer={name!r}`: choose sgd, adam or adamw.")
    if mixed_precision == "fp16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt
