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

from tfface.config import MetricLossParams
from tfface.errors import ConfigError
from tfface.losses import pairs

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
