"""Paired comparisons over seeds: the mean difference with a 95% t interval, and a verdict on a claimed direction."""

from __future__ import annotations

import numpy as np


def paired_difference(baseline: list[float], other: list[float]) -> dict:
    """``other − baseline`` per seed (the lists are in the same seed order): the mean, its 95% t interval (NaN with
    one seed) and the per-seed differences."""
    from scipy import stats

    diff = np.asarray(other, float) - np.asarray(baseline, float)
    n = len(diff)
    half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    return {"mean": float(diff.mean()), "ci95": [float(diff.mean() - half), float(diff.mean() + half)],
            "per_seed": diff.tolist()}


def verdict(ci95: list[float], direction: int) -> str:
    """``reproduced`` when the interval excludes 0 in the claimed ``direction`` (+1: the method raises the
    measure, −1: lowers it), ``refuted`` when it excludes 0 the other way, else ``inconclusive``."""
    lo, hi = ci95
    if not np.isfinite(lo) or not np.isfinite(hi) or lo <= 0 <= hi:
        return "inconclusive"
    return "reproduced" if (lo > 0) == (direction > 0) else "refuted"
