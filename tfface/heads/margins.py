"""Margin functions: (cosine [B, C], integer labels [B]) -> logits [B, C], all in float32.

Each margin is a small frozen dataclass, callable as ``margin(cos, labels, scale=None)``;
``scale`` overrides ``s`` (used by the scale warm-up). Labels are integer ids: the target
column is touched with a gather/scatter, never a dense one-hot of the logits' shape built
from Python.

References: NormFace (Wang et al. 2017, Eq. 7), CosFace (Wang et al. 2018, Eq. 4),
ArcFace (Deng et al. 2019, Eq. 3 and the combined form of Eq. 4).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import tensorflow as tf

_CLIP = 1.0 - 1e-7


def _target_update(logits: tf.Tensor, labels: tf.Tensor, new_target: tf.Tensor) -> tf.Tensor:
    """Replace logits[i, labels[i]] with new_target[i]."""
    labels = tf.cast(labels, tf.int32)
    idx = tf.stack([tf.range(tf.shape(labels)[0]), labels], axis=1)
    return tf.tensor_scatter_nd_update(logits, idx, new_target)


def _target(cos: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    return tf.gather(cos, tf.cast(labels, tf.int32), axis=1, batch_dims=1)


class _Serializable:
    """get_config / from_config of a margin dataclass (its fields), for Keras serialisation."""

    def get_config(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfface")
@dataclasses.dataclass(frozen=True)
class Plain(_Serializable):
    """Plain softmax: logits pass through unchanged (use with the unnormalised W·f + b classifier)."""

    normalized = False

    def __call__(self, logits, labels, scale=None):
        return tf.cast(logits, tf.float32)


@keras.saving.register_keras_serializable(package="tfface")
@dataclasses.dataclass(frozen=True)
class NormFace(_Serializable):
    """NormFace / L2-softmax: s·cos θ (NormFace Eq. 7)."""

    s: float = 64.0
    normalized = True

    def __call__(self, cos, labels, scale=None):
        s = self.s if scale is None else scale
        return s * tf.cast(cos, tf.float32)


@keras.saving.register_keras_serializable(package="tfface")
@dataclasses.dataclass(frozen=True)
class CosFace(_Serializable):
    """CosFace / AM-softmax: s·(cos θ_y − m) for the target, s·cos θ_j otherwise (CosFace Eq. 4)."""

    s: float = 64.0
    m: float = 0.35
    normalized = True

    def __call__(self, cos, labels, scale=None):
        s = self.s if scale is None else scale
        cos = tf.cast(cos, tf.float32)
        return s * _target_update(cos, labels, _target(cos, labels) - self.m)


@keras.saving.register_keras_serializable(package="tfface")
@dataclasses.dataclass(frozen=True)
class Combined(_Serializable):
    """Combined margin s·(cos(m1·θ_y + m2) − m3) (ArcFace paper Eq. 4).

    Where m1·θ + m2 would pass π the target is no longer monotonic in θ; there the
    target becomes cos θ − m3 − m2·sin(m2) (the ArcFace reference implementation's rule,
    ``th = cos(π − m)``, ``mm = sin(π − m)·m``), so the loss keeps pushing θ down.
    Cosines are clipped to ±(1 − 1e-7) before ``acos``.
    """

    s: float = 64.0
    m1: float = 1.0
    m2: float = 0.5
    m3: float = 0.0
    normalized = True

    def __call__(self, cos, labels, scale=None):
        s = self.s if scale is None else scale
        cos = tf.clip_by_value(tf.cast(cos, tf.float32), -_CLIP, _CLIP)
        t = _target(cos, labels)
        theta = tf.acos(t)
        with_margin = tf.cos(self.m1 * theta + self.m2) - self.m3
        limit = (math.pi - self.m2) / self.m1
        fallback = t - self.m3 - self.m2 * math.sin(self.m2)
        new_t = tf.where(theta <= limit, with_margin, fallback)
        return s * _target_update(cos, labels, new_t)


def ArcFace(s: float = 64.0, m: float = 0.5) -> Combined:  # noqa: N802 - reads like a class
    """ArcFace additive angular margin s·cos(θ_y + m) (ArcFace Eq. 3) = Combined(m1=1, m2=m, m3=0)."""
    return Combined(s=s, m1=1.0, m2=m, m3=0.0)


MARGINS = {
    "softmax": lambda s, m, m1, m3: Plain(),
    "normface": lambda s, m, m1, m3: NormFace(s=s),
    "cosface": lambda s, m, m1, m3: CosFace(s=s, m=m),
    "arcface": lambda s, m, m1, m3: ArcFace(s=s, m=m),
    "combined": lambda s, m, m1, m3: Combined(s=s, m1=m1, m2=m, m3=m3),
}



def make_margin(name: str, s: float = 64.0, m: float = 0.5, m1: float = 1.0, m3: float = 0.0):
    """Build a margin by name: softmax | normface | cosface | arcface | combined (m is m2 there)."""
    if name not in MARGINS:
        raise ValueError(f"`head={name!r}` is not a head; choose one of {sorted(MARGINS)}.")
    return MARGINS[name](s, m, m1, m3)


NORMALIZED = tuple(name for name in MARGINS if make_margin(name).normalized)  # the margins on cosines
