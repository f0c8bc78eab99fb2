"""Which variables hold NaN or Inf, and whether a model's embeddings are usable: checked before any checkpoint
or export is written, so that non-finite state (e.g. batch-norm statistics gone to NaN while the loss still
looks fine, or finite weights of 1e27 whose features overflow) is never saved."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import tensorflow as tf

from tfface.errors import NonFiniteStateError


def _name(variable) -> str:
    return getattr(variable, "path", None) or variable.name


def non_finite_variables(variables: Iterable) -> list[str]:
    """Names of the floating-point variables (Keras or tf.Variables) with a NaN or Inf entry."""
    floats = [v for v in variables if tf.as_dtype(v.dtype).is_floating]
    if not floats:
        return []
    flags = tf.stack([tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(v))) for v in floats]).numpy()
    return [_name(v) for v, ok in zip(floats, flags) if not ok]


def check_finite(variables: Iterable, what: str, advice: str = "") -> None:
    """Raise :class:`NonFiniteStateError` naming ``what`` and the first bad variables, if any is non-finite."""
    variables = list(variables)
    bad = non_finite_variables(variables)
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise NonFiniteStateError(f"{what}: {len(bad)} of {len(variables)} variables hold NaN or Inf ({shown}); "
                                  f"not written. {advice}".strip())


def check_embeddings(embed: Callable, image_size: int, what: str, advice: str = "") -> None:
    """Refuse a model whose embeddings (``embed``: uint8 images → features) of a fixed probe batch (seeded noise
    images) are NaN / Inf or overflow float32 when squared for the normalisation (weights can stay finite while
    a diverged network's features reach 1e25 and normalise to zeros)."""
    probe = np.random.default_rng(0).integers(0, 256, (4, image_size, image_size, 3)).astype(np.uint8)
    emb = tf.cast(embed(probe), tf.float32)
    squared = tf.reduce_sum(tf.square(emb), axis=1)
    if not bool(tf.reduce_all(tf.math.is_finite(squared))) or not bool(tf.reduce_all(squared > 0)):
        raise NonFiniteStateError(f"{what}: the model's embeddings of a probe batch are NaN, Inf, zero or too large "
                                  f"to normalise (largest |f| {float(tf.reduce_max(tf.abs(emb))):.3g}); not "
                                  f"written. {advice}".strip())
