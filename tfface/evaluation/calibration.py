"""Calibrated decision thresholds: the score above which a pair is accepted at a chosen false accept rate.

From a set of scored pairs (genuine and impostor), the threshold at FAR ``f`` is the ``(k+1)``-th highest
impostor score with ``k = ⌊f · n_impostors⌋``: accepting ``score > threshold`` lets at most ``k`` of these
impostors through (the rule evaluate.py's TAR@FAR uses). A FAR needs at least ``1/f`` impostor pairs to
have a threshold at all.

Each threshold carries a 95 % interval of the FAR it gives on new pairs of the same kind. Pairs are not
independent draws — an image, and a person, appear in many pairs — so the interval is the wider of two: the
exact binomial (Clopper–Pearson) interval over the impostor pairs, which is right when false accepts are few,
and a bootstrap over people, which counts the pairs that share a person as one draw. People are found from
the pairs themselves: images joined by genuine pairs are one person. The grid (1e-1 … 1e-4), the 95 % level,
the 500 replicates and taking the wider interval are our defaults.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from tfface.errors import ConfigError

CALIBRATED_FARS = (1e-1, 1e-2, 1e-3, 1e-4)
CONFIDENCE = 0.95


def far_interval(false_accepts: int, impostors: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper–Pearson) two-sided interval of a rate observed as ``false_accepts`` of ``impostors``."""
    alpha = 1 - confidence
    k, n = int(false_accepts), int(impostors)
    lo = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def people(path1, path2, same) -> tuple[np.ndarray, np.ndarray]:
    """A person index for the two images of each pair: the connected components of the images joined by
    genuine pairs (union–find)."""
    names, index = np.unique(np.concatenate([np.asarray(path1), np.asarray(path2)]), return_inverse=True)
    parent = np.arange(len(names))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    n = len(same)
    for a, b in zip(index[:n][np.asarray(same, bool)], index[n:][np.asarray(same, bool)]):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[ra] = rb
    roots = np.array([root(i) for i in range(len(names))])
    _, person = np.unique(roots, return_inverse=True)
    return person[index[:n]], person[index[n:]]


def bootstrap_far_interval(accepted: np.ndarray, person1: np.ndarray, person2: np.ndarray,
                           replicates: int = 500, confidence: float = CONFIDENCE, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the FAR over resamples of the people (with replacement): an impostor pair's weight
    in a replicate is the product of its two people's draw counts. ``accepted``: whether each impostor pair is
    above the threshold."""
    n_people = int(max(person1.max(), person2.max())) + 1
    rng = np.random.default_rng(seed)
    rates = []
    chunk = max(1, 5_000_000 // max(len(accepted), 1))
    for start in range(0, replicates, chunk):
        draws = rng.multinomial(n_people, np.full(n_people, 1 / n_people), size=min(chunk, replicates - start))
        weights = draws[:, person1].astype(np.float64) * draws[:, person2]
        total = weights.sum(axis=1)
        rates.append(np.where(total > 0, (weights * accepted).sum(axis=1) / np.maximum(total, 1), np.nan))
    rates = np.concatenate(rates)
    alpha = 1 - confidence
    return float(np.nanquantile(rates, alpha / 2)), float(np.nanquantile(rates, 1 - alpha / 2))


def eer_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, rate) where the false accept and false reject rates of ``score > threshold`` are closest,
    over the observed scores; the rate is their mean there."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    cuts = np.unique(scores)
    neg, pos = np.sort(scores[~same]), np.sort(scores[same])
    far = 1 - np.searchsorted(neg, cuts, side="right") / max(len(neg), 1)
    frr = np.searchsorted(pos, cuts, side="right") / max(len(pos), 1)
    i = int(np.argmin(np.abs(far - frr)))
    return float(cuts[i]), float((far[i] + frr[i]) / 2)


def calibrate(scores: np.ndarray, same: np.ndarray, score: str = "cosine", flip: bool = True,
              source: str = "", fars=CALIBRATED_FARS, persons: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """The calibration an export carries: per supported FAR the threshold, the observed FAR and its 95 %
    interval, and the TAR on these pairs; the unsupported FARs with the reason; the EER threshold.
    ``persons``: each pair's two person indices (:func:`people`), for the bootstrap part of the interval."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    neg, pos = np.sort(scores[~same])[::-1], scores[same]
    n = len(neg)
    if n == 0 or len(pos) == 0:
        raise ConfigError(f"calibration on {source or 'these pairs'} needs genuine and impostor pairs; it has "
                          f"{len(pos)} genuine and {n} impostor pairs.")
    table, unsupported = {}, {}
    for far in fars:
        if n * far < 1:
            unsupported[f"{far:g}"] = (f"needs at least {math.ceil(1 / far):,} impostor pairs; the calibration "
                                       f"pairs have {n:,}")
            continue
        threshold = float(neg[int(math.floor(far * n))])
        false_accepts = int(np.sum(neg > threshold))
        pairs_lo, pairs_hi = far_interval(false_accepts, n)
        entry = {"threshold": threshold, "far_observed": false_accepts / n, "far_interval": [pairs_lo, pairs_hi],
                 "far_interval_pairs": [pairs_lo, pairs_hi], "tar": float(np.mean(pos > threshold))}
        if persons is not None:
            boot = bootstrap_far_interval(scores[~same] > threshold, persons[0][~same], persons[1][~same])
            entry["far_interval_people"] = list(boot)
            entry["far_interval"] = [min(pairs_lo, boot[0]), max(pairs_hi, boot[1])]
        table[f"{far:g}"] = entry
    threshold, rate = eer_threshold(scores, same)
    return {"score": score, "flip": bool(flip), "pairs": source, "impostor_pairs": n, "genuine_pairs": int(len(pos)),
            "confidence": CONFIDENCE, "far": table, "unsupported": unsupported,
            "eer": {"threshold": threshold, "rate": rate}}


def threshold_at(calibration: dict | None, far: float, model: str = "the model") -> float:
    """The calibrated threshold for ``far``; a clear error when the model has no calibration or this FAR was
    not (or could not be) calibrated."""
    if not calibration:
        raise ConfigError(f"{model} carries no calibrated thresholds (it was trained without verification pairs, "
                          "or exported by an older version). Calibrate it on pairs of your own: evaluate.py "
                          "--model=<export> --eval_pairs=<pairs> --calibrate.")
    key = f"{far:g}"
    if key in calibration["far"]:
        return float(calibration["far"][key]["threshold"])
    if key in calibration.get("unsupported", {}):
        raise ConfigError(f"far={key}: {model}'s calibration {calibration['unsupported'][key]}, too few to set a "
                          "threshold at that rate. Use a larger FAR, or recalibrate on more pairs (evaluate.py "
                          "--calibrate).")
    raise ConfigError(f"far={key} was not calibrated for {model}; calibrated: {', '.join(calibration['far'])}.")
