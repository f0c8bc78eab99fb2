"""Which variables hold NaN or Inf: checked before any checkpoint or export is written, so that non-finite
state (e.g. batch-norm statistics gone to NaN while the loss still looks fine) is never saved."""

from __future__ import annotations

from collections.abc import Iterable

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
