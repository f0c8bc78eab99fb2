"""Classifier layers holding the class-weight matrix, and the head that applies a margin."""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.heads.margins import MARGINS, NORMALIZED, make_margin
from tfface.settings import ANY, NON_NEGATIVE, POSITIVE, Limit, Section, section, setting

MARGIN_SETTINGS = {"softmax": (), "normface": ("scale",), "cosface": ("scale", "margin"),
                   "arcface": ("scale", "margin"), "combined": ("scale", "margin", "m1", "m3")}  # what each rule reads

# each margin head's margins (the flag --margin is m2 of the combined form): beyond them the target logit no
# longer falls below the plain cosine over the whole angle range, and training "converges" at once to nothing
HEAD_LIMITS: dict[str, dict[str, Limit]] = {
    "arcface": {"margin": Limit(0, math.pi / 2, open_hi=True)},  # additive angle, below a right angle
    "cosface": {"margin": Limit(0, 1, open_hi=True)},  # cos θ − m, below the cosine's range half-width
    "combined": {"margin": Limit(0, math.pi / 2, open_hi=True), "m1": Limit(1, 4), "m3": Limit(0, 1, open_hi=True)},
}


@section("head")
class HeadSettings(Section):
    """The margin head: a classifier over the training identities with a margin rule."""

    kind: str = setting("arcface", "Margin head: softmax | normface | cosface (CosFace/AM-Softmax) | arcface | "
                        "combined (cos(m1·θ + m2) − m3).", choices=tuple(MARGINS), flag="head",
                        structural=lambda kind: kind in NORMALIZED)  # softmax's classifier has a bias, the others not
    scale: float = setting(32.0, "Logit scale s of the normalised heads.", limit=POSITIVE)
    margin: float = setting(0.5, "Margin m (CosFace: cosine margin; ArcFace: angular margin; combined: m2).",
                            limit=ANY)
    m1: float = setting(1.0, "Combined margin: multiplicative angular m1.", limit=POSITIVE)
    m3: float = setting(0.0, "Combined margin: additive cosine m3.", limit=ANY)
    mlreg_weight: float = setting(0.0, "FTL's m-L2 regulariser ‖Wᵀf‖² (Eq. 3) on a softmax head: its weight (0 = "
                                  "off). Refused on normalised heads, whose cosine logits it cannot change.",
                                  limit=NON_NEGATIVE)
    scale_warmup_steps: int = setting(0, "Warm the head scale up linearly from 8 to --scale over this many steps "
                                      "(0 = off).", limit=NON_NEGATIVE)

    def margin_args(self) -> dict:
        """The margin rule's arguments (s, m, m1, m3)."""
        return {"s": self.scale, "m": self.margin, "m1": self.m1, "m3": self.m3}

    def unread(self, cfg) -> dict[str, str]:
        out = margin_unread(self.kind, "head")
        if self.kind in NORMALIZED:
            out["mlreg_weight"] = (f"m-L2 cannot change the cosine logits of `head={self.kind}`; it acts on "
                                   "`head=softmax`")
        if self.kind not in NORMALIZED:
            out["scale_warmup_steps"] = f"`head={self.kind}` has no scale to warm up"
        return out

    def check(self, cfg) -> None:
        for flag, limit in HEAD_LIMITS.get(self.kind, {}).items():
            value = getattr(self, flag)
            if not limit.holds(float(value)):
                raise ConfigError(f"`{flag}={value:g}` with `head={self.kind}` must be {limit} (outside it the "
                                  "margin no longer makes the target class harder, and training learns nothing).")


def margin_unread(kind: str, flag: str) -> dict[str, str]:
    """The margin settings (scale, margin, m1, m3) that head ``kind`` (chosen by setting ``flag``) does not
    read, each with why."""
    used = MARGIN_SETTINGS[kind]
    return {name: f"`{flag}={kind}` has no {name}" for name in ("scale", "margin", "m1", "m3") if name not in used}


@keras.saving.register_keras_serializable(package="tfface")
class NormalizedClassifier(keras.layers.Layer):
    """cos θ = (f/‖f‖)ᵀ(w_c/‖w_c‖) for every class c. Weights ``kernel`` are [D, C]; output float32."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(int(input_shape[-1]), self.num_classes),
            initializer=keras.initializers.RandomNormal(stddev=0.01),
            dtype="float32",
        )

    def call(self, embeddings):
        f = tf.math.l2_normalize(tf.cast(embeddings, tf.float32), axis=1, epsilon=1e-12)
        w = tf.math.l2_normalize(tf.cast(self.kernel, tf.float32), axis=0, epsilon=1e-12)
        return tf.matmul(f, w)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="tfface")
class LinearClassifier(keras.layers.Layer):
    """Unnormalised logits Wᵀf + b (plain softmax), float32."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(int(input_shape[-1]), self.num_classes),
            initializer="glorot_uniform", dtype="float32")
        self.bias = self.add_weight(name="bias", shape=(self.num_classes,), initializer="zeros",
                                    dtype="float32")

    def call(self, embeddings):
        return tf.matmul(tf.cast(embeddings, tf.float32), self.kernel) + self.bias

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def metric_l2(embeddings: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """FTL's m-L2 regulariser ‖Wᵀf‖²₂ (FTL Eq. 3), per sample, on unnormalised W and f."""
    out = tf.matmul(tf.cast(embeddings, tf.float32), tf.cast(kernel, tf.float32))
    return tf.reduce_sum(tf.square(out), axis=1)


@keras.saving.register_keras_serializable(package="tfface")
class MarginHead(keras.layers.Layer):
    """(embeddings, labels) -> logits: a classifier followed by a margin function.

    ``reg_weight`` > 0 adds FTL's m-L2 term α_reg·mean‖Wᵀf‖² as a layer loss (``self.losses``);
    the trainer reads it through :meth:`regularization`.
    """

    def __init__(self, num_classes: int, margin="arcface", s: float = 64.0, m: float = 0.5,
                 m1: float = 1.0, m3: float = 0.0, reg_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.margin_name = margin
        self.margin_args = {"s": float(s), "m": float(m), "m1": float(m1), "m3": float(m3)}
        self.margin = make_margin(margin, **self.margin_args)
        self.num_classes = int(num_classes)
        self.reg_weight = float(reg_weight)
        cls = NormalizedClassifier if self.margin.normalized else LinearClassifier
        self.classifier = cls(num_classes, name="classifier")

    @property
    def kernel(self):
        return self.classifier.kernel

    def build(self, input_shape):
        self.classifier.build(input_shape)

    def call(self, embeddings, labels, scale=None):
        return self.margin(self.classifier(embeddings), labels, scale=scale)

    def inference_logits(self, embeddings: tf.Tensor) -> tf.Tensor:
        """Logits without any margin (for prediction): s·cos θ for normalised heads, Wᵀf + b otherwise."""
        out = self.classifier(embeddings)
        return out * self.margin_args["s"] if self.margin.normalized else out

    def regularization(self, embeddings: tf.Tensor) -> tf.Tensor:
        """Per-sample m-L2 term α_reg·‖Wᵀf‖² (zeros when reg_weight is 0)."""
        if self.reg_weight == 0.0:
            return tf.zeros(tf.shape(embeddings)[:1], tf.float32)
        return self.reg_weight * metric_l2(embeddings, self.classifier.kernel)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "margin": self.margin_name,
                **self.margin_args, "reg_weight": self.reg_weight}


def refuse_mlreg_on_normalised_head(head: MarginHead, weight_flag: str, head_flag: str) -> None:
    """m-L2 (FTL Eq. 3) regularises softmax logits; on a normalised head the logits are cosines, which
    ‖Wᵀf‖² cannot change: a clear error naming the two flags (``--name=value``)."""
    if head.reg_weight and head.margin.normalized:
        raise ConfigError(f"{weight_flag} with {head_flag}: m-L2 (FTL Eq. 3) regularises softmax logits; a "
                          "normalised head's logits are cosines, which ‖Wᵀf‖² cannot change. Use a softmax head "
                          "or a weight of 0.")
