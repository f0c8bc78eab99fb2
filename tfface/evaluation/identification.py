"""Identification: closed-set rank-k (CMC curve) and open-set TPIR@FPIR of probes against a gallery."""

from __future__ import annotations

import numpy as np

from tfface.errors import DataError
from tfface.scoring.ida import score_matrix

# (gallery log densities, probe log densities) for IDA's log DAO; None scores by cosine
LogDensities = tuple[np.ndarray, np.ndarray] | None


def _unit(x):
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def identity_scores(gallery: np.ndarray, gallery_labels: np.ndarray, probes: np.ndarray,
                    log_density: LogDensities = None, tau: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(identities [G], scores [P, G]): each probe's best score to each gallery identity's images — cosine, or
    with ``log_density`` IDA's log DAO (Liu et al. 2021, Eq. 4)."""
    ids, inv = np.unique(gallery_labels, return_inverse=True)
    lg, lp = log_density if log_density is not None else (None, None)
    sim = score_matrix(_unit(probes), _unit(gallery), lp, lg, tau)
    order = np.argsort(inv, kind="stable")
    starts = np.searchsorted(inv[order], np.arange(len(ids)))
    return ids, np.maximum.reduceat(sim[:, order], starts, axis=1)


def centre_rank1(train_emb: np.ndarray, train_y: np.ndarray, probe_emb: np.ndarray, probe_y: np.ndarray,
                 num_classes: int) -> np.ndarray:
    """Per probe: is the nearest class centre (cosine; centres of normalised training features) its own?"""
    unit = train_emb / np.linalg.norm(train_emb, axis=1, keepdims=True)
    sums = np.zeros((num_classes, unit.shape[1]))
    np.add.at(sums, train_y, unit)
    c = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    p = probe_emb / np.linalg.norm(probe_emb, axis=1, keepdims=True)
    return np.argmax(p @ c.T, axis=1) == probe_y


def cmc(gallery, gallery_labels, probes, probe_labels, max_rank: int = 20, log_density: LogDensities = None,
        tau: float = 1.0) -> np.ndarray:
    """CMC[r−1] = fraction of (mated) probes whose identity is among the top r gallery identities."""
    ids, scores = identity_scores(gallery, gallery_labels, probes, log_density, tau)
    probe_labels = np.asarray(probe_labels)
    mated = np.isin(probe_labels, ids)
    if not mated.any():
        raise DataError(f"none of the {len(probe_labels)} probes has its identity in the gallery, so there is no "
                        "rank to measure; identification needs probes of the gallery's identities.")
    col = np.searchsorted(ids, probe_labels[mated])
    true = scores[mated, col]
    rank = (scores[mated] > true[:, None]).sum(axis=1)  # 0 = best
    return np.array([(rank < r).mean() for r in range(1, min(max_rank, len(ids)) + 1)])


def tpir_at_fpir(gallery, gallery_labels, probes, probe_labels, fpirs=(0.01, 0.1), log_density: LogDensities = None,
                 tau: float = 1.0) -> dict[str, float]:
    """Open set: FPIR = share of non-mated probes whose best score passes t; TPIR = share of mated probes
    whose rank-1 identity is right and passes t. Threshold chosen on the non-mated probes per FPIR."""
    ids, scores = identity_scores(gallery, gallery_labels, probes, log_density, tau)
    probe_labels = np.asarray(probe_labels)
    mated = np.isin(probe_labels, ids)
    if mated.all() or not mated.any():
        return {}
    top = scores.argmax(axis=1)
    best = scores.max(axis=1)
    non = np.sort(best[~mated])[::-1]
    right = ids[top[mated]] == probe_labels[mated]
    out = {}
    for f in fpirs:
        k = int(np.floor(f * len(non)))
        if len(non) * f < 1:
            continue
        t = non[k] if k < len(non) else -np.inf
        out[f"{f:g}"] = float(np.mean(right & (best[mated] > t)))
    return out


def plot_cmc(curve: np.ndarray, path: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(np.arange(1, len(curve) + 1), curve * 100, marker="o", ms=3)
    ax.set_xlabel("rank")
    ax.set_ylabel("identification rate (%)")
    ax.set_title(title or f"rank-1 {curve[0] * 100:.2f}%")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
