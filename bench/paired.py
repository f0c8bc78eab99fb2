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


def paired_bootstrap_tar(reference: np.ndarray, other: np.ndarray, same: np.ndarray, fars=(1e-2, 1e-3),
                         replicates: int = 1000, seed: int = 0) -> dict:
    """TAR@FAR of two scorings of the same pairs and of ``other − reference``, with the difference's 95% percentile
    interval over ``replicates`` paired bootstrap resamples of the pairs (positives and negatives resampled apart,
    so every resample keeps their counts and supports the same FARs)."""
    from tfface.evaluation.metrics import tar_at_far

    same = np.asarray(same, bool)
    pos, neg = np.flatnonzero(same), np.flatnonzero(~same)
    rng = np.random.default_rng(seed)
    keys = [f"{far:g}" for far in fars]
    diffs = {k: [] for k in keys}
    for _ in range(replicates):
        idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
        a, b = tar_at_far(reference[idx], same[idx], fars), tar_at_far(other[idx], same[idx], fars)
        for k in keys:
            diffs[k].append(b[k] - a[k])
    full_a, full_b = tar_at_far(reference, same, fars), tar_at_far(other, same, fars)
    return {k: {"reference": full_a[k], "other": full_b[k], "difference": full_b[k] - full_a[k],
                "ci95": np.percentile(diffs[k], [2.5, 97.5]).tolist()} for k in keys}
