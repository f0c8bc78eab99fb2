"""The gap each SynthFaces scenario is built to show (tfface.data.synth_scenarios), measured on a model's embeddings.

- :func:`probe_rank1_by_group`: nearest-centre rank-1 of the probes (centres of the training images' normalised
  embeddings as the gallery), per group — regular / ur (``ur_pose``), head / tail (``longtail``), easy / hard
  (``hard_partitions``).
- :func:`far_per_identity`: at the one threshold where the impostor pairs of a set reach a global FAR (scored by
  cosine or IDA's log DAO, :func:`pair_scores`), each identity's own FAR — how miscalibrated one threshold is
  across look-alike families and isolated identities (``density``).
"""

from __future__ import annotations

import numpy as np

from tfface.evaluation.identification import centre_rank1
from tfface.scoring.ida import score_matrix

GAPS = (("regular", "ur"), ("head", "tail"), ("easy", "hard"))  # (better-served group, the one the paper helps)


def probe_rank1_by_group(train_emb: np.ndarray, train_labels: np.ndarray, probe_emb: np.ndarray,
                         probe_labels: np.ndarray, probe_groups: np.ndarray) -> dict:
    """Rank-1 per probe group, and for a known pair of groups (GAPS) the gap between them in points."""
    hit = centre_rank1(train_emb, train_labels, probe_emb, probe_labels, int(max(train_labels.max(),
                                                                                probe_labels.max())) + 1)
    by = {str(g): float(hit[probe_groups == g].mean()) for g in sorted(set(probe_groups.tolist()))}
    out = {"rank1": by, "probes": {g: int((probe_groups == g).sum()) for g in by}}
    for a, b in GAPS:
        if a in by and b in by:
            out["gap"] = {"groups": [a, b], "points": 100 * (by[a] - by[b])}
    return out


def pair_scores(emb: np.ndarray, log_density: np.ndarray | None = None, tau: float = 1.0) -> np.ndarray:
    """[N, N] scores of every pair of images: cosine, or with IDA's log densities its log DAO (Eq. 4). All pairs at
    once: for scenario-sized sets (≲ 10k images)."""
    unit = np.asarray(emb, np.float32)
    unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
    return score_matrix(unit, unit, log_density, log_density, tau)


def far_per_identity(scores: np.ndarray, labels: np.ndarray, far: float = 1e-3) -> tuple[float, np.ndarray,
                                                                                        np.ndarray]:
    """(threshold, FAR and impostor-pair count of each identity in ``np.unique(labels)`` order) from the [N, N]
    pair ``scores``: the threshold is the score above which a fraction ``far`` of all impostor pairs fall; an
    identity's FAR is the fraction of the impostor pairs with one image of it that score above the threshold."""
    impostor = labels[:, None] != labels[None, :]
    upper = np.triu(impostor, 1)
    threshold = float(np.quantile(scores[upper], 1.0 - far, method="higher"))
    accepted = ((scores > threshold) & impostor).sum(1)
    ids, inv = np.unique(labels, return_inverse=True)
    pairs = np.bincount(inv, impostor.sum(1), len(ids))
    return threshold, np.bincount(inv, accepted, len(ids)) / pairs, pairs


def far_spread(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, far: float = 1e-3) -> dict:
    """Per-identity FAR at the global-FAR threshold, summarised per kind of identity (the group of its first image:
    ``family…`` → family, no group → all, others as they are): mean FAR per kind, the ratio family / isolated,
    and the identities' 10/50/90% quantiles. When no isolated identity's impostor pair passes, the ratio is a lower
    bound: the isolated FAR is taken as one accepted pair among theirs. ``unevenness_log10`` = |log10| of the ratio
    with both sides floored so (0: even; a calibration that over-corrects, isolated above family, counts too)."""
    threshold, per_id, pairs = far_per_identity(scores, labels, far)
    ids, first = np.unique(labels, return_index=True)
    kind = np.array(["family" if str(g).startswith("family") else str(g) or "all" for g in groups[first]])
    mean = {k: float(per_id[kind == k].mean()) for k in sorted(set(kind.tolist()))}
    out = {"far": far, "threshold": threshold, "far_mean": mean,
           "far_quantiles": dict(zip(("10%", "50%", "90%"), np.quantile(per_id, [0.1, 0.5, 0.9]).tolist())),
           "identities": {k: int((kind == k).sum()) for k in mean}}
    if "family" in mean and "isolated" in mean:
        floor = {k: 1.0 / pairs[kind == k].sum() for k in ("family", "isolated")}  # one accepted pair of the kind
        out["family_over_isolated"] = mean["family"] / max(mean["isolated"], floor["isolated"])
        out["ratio_is_lower_bound"] = bool(mean["isolated"] < floor["isolated"])
        out["unevenness_log10"] = abs(float(np.log10(max(mean["family"], floor["family"]) /
                                                     max(mean["isolated"], floor["isolated"]))))
    return out
