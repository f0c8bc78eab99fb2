"""Identity-disjoint splits of a labelled list and balanced verification pairs for each split.

The identities are shuffled with the seed and cut by the fractions asked for (validation, test; the rest
trains), so no person appears in two splits. Pairs are half genuine, half impostor, in ``folds`` folds that
each hold both kinds in equal number (as LFW's). Genuine pairs go round the identities that have two or more
images, so every such person gives pairs before any gives a second; impostor pairs join two random images of
two different people. No pair is drawn twice. These rules and the defaults (10 folds) are ours.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tfface.errors import DataError


@dataclasses.dataclass(frozen=True)
class PairDraw:
    """Indices into a split's images: pair ``k`` joins ``first[k]`` and ``second[k]``."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray
    fold: np.ndarray


def split_identities(identities: np.ndarray, fractions: dict[str, float], seed: int = 0) -> dict[str, np.ndarray]:
    """{split name: mask over the images}: each fraction of the (shuffled) identities to its split, in the order
    given, at least one identity each; the remaining identities to ``train``."""
    identities = np.asarray(identities)
    names = np.unique(identities)
    rng = np.random.default_rng(seed)
    order = names[rng.permutation(len(names))]
    counts = {split: max(1, int(round(f * len(names)))) for split, f in fractions.items() if f > 0}
    if sum(counts.values()) >= len(names):
        raise DataError(f"{len(names)} identities cannot give {', '.join(f'{k} {v}' for k, v in counts.items())} "
                        "and leave any to train; lower the fractions or add identities.")
    masks, start = {}, 0
    for split, n in counts.items():
        masks[split] = np.isin(identities, order[start:start + n])
        start += n
    masks["train"] = np.isin(identities, order[start:])
    return masks


def balanced_pairs(identities: np.ndarray, n_pairs: int, seed: int = 0, folds: int = 10) -> PairDraw:
    """``n_pairs`` pairs of the images labelled ``identities`` (a multiple of ``2 · folds``, rounded down):
    half genuine (round-robin over the people with two or more images), half impostor, shuffled into folds."""
    identities = np.asarray(identities)
    per_kind = (n_pairs // (2 * folds)) * folds
    if per_kind == 0:
        raise DataError(f"{n_pairs} pairs cannot fill {folds} folds with both kinds; ask for at least {2 * folds}.")
    rng = np.random.default_rng(seed)
    genuine = _genuine(identities, per_kind, rng)
    impostor = _impostor(identities, per_kind, rng)
    first = np.concatenate([genuine[:, 0], impostor[:, 0]])
    second = np.concatenate([genuine[:, 1], impostor[:, 1]])
    same = np.r_[np.ones(per_kind, bool), np.zeros(per_kind, bool)]
    fold = np.concatenate([rng.permutation(np.arange(per_kind) % folds), rng.permutation(np.arange(per_kind) % folds)])
    order = np.lexsort((~same, fold))  # fold by fold, genuine first (LFW's layout)
    return PairDraw(first[order], second[order], same[order], fold[order])


def _genuine(identities: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct genuine pairs, taking one new pair from each person in turn."""
    pools = []
    for name in np.unique(identities):
        images = np.flatnonzero(identities == name)
        if len(images) >= 2:
            i, j = np.triu_indices(len(images), 1)
            pools.append(images[np.stack([i, j], 1)[rng.permutation(len(i))]])
    available = sum(len(p) for p in pools)
    if available < n:
        raise DataError(f"{n} genuine pairs asked for, but the people with two or more images give only "
                        f"{available}; ask for fewer pairs.")
    rng.shuffle(pools)
    taken, rounds = [], 0
    while len(taken) < n:
        for pool in pools:
            if rounds < len(pool) and len(taken) < n:
                taken.append(pool[rounds])
        rounds += 1
    return np.array(taken)


def _impostor(identities: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct impostor pairs of random images of two different people (first draws kept)."""
    count = len(identities)
    if len(np.unique(identities)) < 2:
        raise DataError("impostor pairs need two or more people in the split.")
    drawn = np.zeros((0, 2), np.int64)
    for _ in range(20):
        a, b = rng.integers(0, count, (2, 4 * n))
        keep = identities[a] != identities[b]
        drawn = np.concatenate([drawn, np.stack([np.minimum(a, b), np.maximum(a, b)], 1)[keep]])
        _, first = np.unique(drawn, axis=0, return_index=True)
        if len(first) >= n:
            return drawn[np.sort(first)[:n]]
    raise DataError(f"could not draw {n} distinct impostor pairs from {count} images; ask for fewer pairs.")


def genuine_available(identities: np.ndarray) -> int:
    """How many distinct genuine pairs the images labelled ``identities`` can give."""
    _, counts = np.unique(np.asarray(identities), return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))
