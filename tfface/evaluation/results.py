"""A report is written only when it holds numbers: a NaN is not a result, and an evaluation that cannot compute
one stops saying so (exit code 1) instead of writing it with exit code 0. The protocols check their data for
what they measure first, with a message saying what is missing; this is the last guard."""

from __future__ import annotations

import math

from tfface.errors import DataError


def non_numbers(report, where: str = "") -> list[str]:
    """The keys (``rank1``, ``tar_at_far.0.001``, …) of ``report`` whose value is a NaN or infinite number."""
    found = []
    if isinstance(report, dict):
        for key, value in report.items():
            found += non_numbers(value, f"{where}.{key}" if where else str(key))
    elif isinstance(report, (list, tuple)):
        for i, value in enumerate(report):
            found += non_numbers(value, f"{where}[{i}]")
    elif isinstance(report, float) and not math.isfinite(report):
        found.append(where)
    return found


def require_numbers(report: dict, what: str, why: str = "") -> None:
    """Raise a DataError naming ``what`` (e.g. the protocol) and the first keys without a number."""
    bad = non_numbers(report)
    if bad:
        raise DataError(f"{what}: no number for {', '.join(bad[:3])}{' …' if len(bad) > 3 else ''}"
                        f"{f' ({why})' if why else ''}; nothing written. Check that the evaluation data has what the "
                        "protocol measures (e.g. probes whose identity is in the gallery, pairs of both kinds).")
