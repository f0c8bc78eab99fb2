"""1:N identification with distractors (MegaFace-style): rank-1 of probes against a gallery as D images of
other people join it.

The gallery holds one image of each identity; every other image of those identities is a probe. A probe is
identified at rank 1 when its own identity's gallery score is above its best score to every other gallery
identity and to each of the first D distractors (a seeded order, so each D's set contains the smaller
ones). The distractors are streamed in blocks against all probes with a running maximum — exact, and
memory of one block whatever D is.
"""

from __future__ import annotations

import numpy as np

from tfface.evaluation.identification import identity_scores
from tfface.scoring.ida import normalize, score_matrix


def decades(n: int) -> list[int]:
    """0, 10, 100, … below n, and n: the default distractor counts (ours)."""
    return sorted({0, *(10 ** k for k in range(1, 12) if 10 ** k < n), n})


def rank1_with_distractors(gallery: np.ndarray, gallery_labels: np.ndarray, probes: np.ndarray,
                           probe_labels: np.ndarray, distractors: np.ndarray, sizes, block: int = 8192,
                           seed: int = 0, log_density: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                           tau: float = 1.0) -> dict[int, float]:
    """Rank-1 of the (mated) probes with the first D of the shuffled distractors in the gallery, per D;
    scored by cosine, or with ``log_density`` (of the gallery, the probes, the distractors) by IDA's log DAO."""
    lg, lp, ld = log_density if log_density is not None else (None, None, None)
    ids, scores = identity_scores(gallery, gallery_labels, probes, None if lg is None else (lg, lp), tau)
    probe_labels = np.asarray(probe_labels)
    mated = np.isin(probe_labels, ids)
    scores, probe_emb = scores[mated], normalize(np.asarray(probes)[mated])
    lp = None if lp is None else np.asarray(lp)[mated]
    col = np.searchsorted(ids, probe_labels[mated])
    true = scores[np.arange(len(col)), col]
    others = scores.copy()
    others[np.arange(len(col)), col] = -np.inf
    best_other = others.max(axis=1) if others.shape[1] > 1 else np.full(len(col), -np.inf)
    order = np.random.default_rng(seed).permutation(len(distractors))
    dis = normalize(np.asarray(distractors)[order])
    ld = None if ld is None else np.asarray(ld)[order]
    sizes = sorted({int(s) for s in sizes if 0 <= s <= len(dis)})
    out, running, done = {}, np.full(len(col), -np.inf, np.float32), 0
    for size in sizes:
        while done < size:
            end = min(size, done + block)
            part = score_matrix(probe_emb, dis[done:end], lp, None if ld is None else ld[done:end], tau)
            running = np.maximum(running, part.max(axis=1))
            done = end
        out[size] = float(np.mean(true > np.maximum(best_other, running)))
    return out


def plot_rank1(curve: dict[int, float], path: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = np.array(sorted(curve))
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(np.maximum(sizes, 1), [curve[s] * 100 for s in sizes], "o-", ms=4)
    ax.set_xscale("log")
    ax.set_xlabel("distractors (0 plotted at 1)")
    ax.set_ylabel("rank-1 identification (%)")
    ax.set_title(title or "1:N with distractors")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
