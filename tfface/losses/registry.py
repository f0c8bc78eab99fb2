"""Metric losses by name, as functions (embeddings, labels) -> this replica's share of the loss.

Each mines against the global batch (all replicas' embeddings, :func:`pairs.global_reference`) and
is normalised by the global term count (:func:`pairs.mean_of`), so the shares summed over replicas
equal the single-device loss on the global batch.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import keras
import tensorflow as tf

from tfface.errors import ConfigError
from tfface.losses import pairs
from tfface.settings import FRACTION, NON_NEGATIVE, POSITIVE, Limit, Section, at_least, section, setting

METRIC_LOSS_NAMES = ("contrastive", "triplet", "npair", "ms", "rll", "histogram")


@section("losses", flat=True)
class LossSettings(Section):
    """What the standard program's loss is made of: the margin head, metric losses, auxiliary terms."""

    loss: str = setting("softmax", "Main loss: softmax (the --head margin head), a metric loss (contrastive | "
                        "triplet | npair | ms | rll | histogram) over the global batch, or '<metric>+head' for both. "
                        "Metric losses want --sampler=pk.", structural=True)
    aux_loss: str = setting("", "Extra weighted terms, e.g. 'center:0.003' or 'triplet:0.5,center:0.001'.",
                            structural=True)
    center_alpha: float = setting(0.5, "Centre loss: centre update rate α.", limit=FRACTION)

    def used(self) -> set[str]:
        """The names of the terms --loss and --aux_loss name (softmax/head, metric losses, center)."""
        names = set(self.loss.split("+"))
        try:
            names |= {name for name, _ in parse_weighted(self.aux_loss, "`aux_loss`")}
        except ConfigError:
            pass  # reported when the loss is built
        return names

    def unread(self, cfg) -> dict[str, str]:
        if "center" in self.used():
            return {}
        return {"center_alpha": "there is no centre loss (add it with `aux_loss=center:<weight>`)"}


@section("metric")
class MetricLossParams(Section):
    """Hyper-parameters of the metric losses (defaults from the papers / their reference code)."""

    contrastive_margin: float = setting(1.0, "Contrastive: negative margin (Euclidean).", limit=NON_NEGATIVE)
    triplet_margin: float = setting(0.2, "Triplet: margin m.", limit=NON_NEGATIVE)
    triplet_mining: str = setting("batch_hard", "Triplet mining.", choices=("batch_all", "batch_hard", "semi_hard"))
    npair_l2: float = setting(0.002, "N-pair: L2 penalty λ on the embeddings.", limit=NON_NEGATIVE)
    ms_alpha: float = setting(2.0, "Multi-similarity α (positive scale).", limit=POSITIVE)
    ms_beta: float = setting(50.0, "Multi-similarity β (negative scale).", limit=POSITIVE)
    ms_lambda: float = setting(0.5, "Multi-similarity λ (similarity threshold).", limit=Limit(-1, 1))
    ms_eps: float = setting(0.1, "Multi-similarity ε (mining margin).", limit=NON_NEGATIVE)
    rll_alpha: float = setting(1.2, "Ranked list: negative boundary α.", limit=POSITIVE)
    rll_margin: float = setting(0.4, "Ranked list: margin m (positives pulled within α − m).", limit=NON_NEGATIVE)
    rll_tn: float = setting(10.0, "Ranked list: negative weighting temperature T_n.", limit=POSITIVE)
    rll_tp: float = setting(0.0, "Ranked list: positive weighting temperature T_p (0 = plain mean).",
                            limit=NON_NEGATIVE)
    hist_bins: int = setting(101, "Histogram loss: number of bins R.", limit=at_least(2))

    def unread(self, cfg) -> dict[str, str]:
        used = cfg.losses.used()
        owner = {"contrastive": "contrastive_", "triplet": "triplet_", "npair": "npair_", "ms": "ms_", "rll": "rll_",
                 "histogram": "hist_"}
        return {d.flag: f"it is a setting of the {name} loss, which neither `loss` nor `aux_loss` names"
                for name, prefix in owner.items() if name not in used
                for d in self.DECLARED.values() if d.flag.startswith(prefix)}

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _per_anchor(fn) -> LossFn:
    def loss(emb, labels):
        return pairs.mean_of(*fn(emb, labels, *pairs.global_reference(emb, labels)))

    return loss


def _npair(p: MetricLossParams) -> LossFn:
    main = _per_anchor(pairs.npair)

    def loss(emb, labels):
        return main(emb, labels) + p.npair_l2 * pairs.mean_of(*pairs.embedding_l2(emb))

    return loss


_BUILDERS: dict[str, Callable[[MetricLossParams], LossFn]] = {
    "contrastive": lambda p: _per_anchor(functools.partial(pairs.contrastive, margin=p.contrastive_margin)),
    "triplet": lambda p: _per_anchor(functools.partial(pairs.triplet, margin=p.triplet_margin,
                                                       mining=p.triplet_mining)),
    "npair": _npair,
    "ms": lambda p: _per_anchor(functools.partial(pairs.multi_similarity, alpha=p.ms_alpha, beta=p.ms_beta,
                                                  lam=p.ms_lambda, eps=p.ms_eps)),
    "rll": lambda p: _per_anchor(functools.partial(pairs.ranked_list, alpha=p.rll_alpha, margin=p.rll_margin,
                                                   t_n=p.rll_tn, t_p=p.rll_tp)),
    "histogram": lambda p: functools.partial(pairs.histogram_global, bins=p.hist_bins),
}

METRIC_LOSSES = tuple(_BUILDERS)


def metric_loss(name: str, params: MetricLossParams | None = None) -> LossFn:
    """The named metric loss as a per-replica function of (embeddings, labels)."""
    if name not in _BUILDERS:
        raise ConfigError(f"metric loss {name!r} is unknown; choose one of {', '.join(METRIC_LOSSES)}.")
    if name == "triplet" and (params or MetricLossParams()).triplet_mining not in (
            "batch_all", "batch_hard", "semi_hard"):
        raise ConfigError("`triplet_mining`: choose batch_all, batch_hard or semi_hard.")
    return _BUILDERS[name](params or MetricLossParams())


def parse_weighted(spec: str, flag: str) -> list[tuple[str, float]]:
    """``"center:0.003,triplet:0.5"`` -> [("center", 0.003), ("triplet", 0.5)] (weight 1 when omitted)."""
    out = []
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, weight = item.partition(":")
        try:
            out.append((name, float(weight) if weight else 1.0))
        except ValueError:
            raise ConfigError(f"{flag}={spec!r}: {item!r} is not name:weight (e.g. center:0.003).") from None
    return out


@keras.saving.register_keras_serializable(package="tfface")
class MetricLoss(keras.losses.Loss):
    """Thin Keras wrapper of a metric loss: ``MetricLoss("ms", ms_beta=40.0)(labels, embeddings)``.

    Usable with ``model.compile(loss=…)`` (labels as y_true, embeddings as y_pred) or inside a custom
    step; under ``tf.distribute`` it mines over the global batch like the trainer's terms.
    ``get_config`` holds the loss name and its hyper-parameters.
    """

    def __init__(self, kind: str = "triplet", name: str | None = None, reduction: str = "sum", dtype=None,
                 **params):
        super().__init__(name=name or kind, reduction=reduction, dtype=dtype)
        self.kind, self.params = kind, dict(params)
        self._fn = metric_loss(kind, dataclasses.replace(MetricLossParams(), **params))

    def call(self, y_true, y_pred):
        return self._fn(y_pred, tf.reshape(tf.cast(y_true, tf.int32), [-1]))

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, **self.params}
