"""Distribution statistics of embeddings (used by DDL and SFT): positive/negative cosine histograms,
their expectation margin and intersection, and per-class scatter ("divergence")."""

from __future__ import annotations

import numpy as np


def pair_cosines(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of all unordered positive and negative pairs."""
    x = np.asarray(emb, np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    iu = np.triu_indices(len(x), 1)
    same = (np.asarray(labels)[:, None] == np.asarray(labels)[None, :])[iu]
    return sim[iu][same], sim[iu][~same]


def histogram_intersection(h_pos: np.ndarray, h_neg: np.ndarray) -> float:
    """Σ_r min(h⁺_r, h⁻_r) of two normalised histograms (0 = separated, 1 = identical)."""
    return float(np.minimum(h_pos, h_neg).sum())


def class_scatter(emb: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per class, the trace of its scatter matrix divided by its size: mean ‖x − μ_c‖² (classes with ≥ 2)."""
    x, labels = np.asarray(emb, np.float64), np.asarray(labels)
    out = []
    for c in np.unique(labels):
        xc = x[labels == c]
        if len(xc) > 1:
            out.append(float(np.mean(np.sum((xc - xc.mean(0)) ** 2, axis=1))))
    return np.array(out)


def distribution_report(emb: np.ndarray, labels: np.ndarray, bins: int = 100) -> dict:
    pos, neg = pair_cosines(emb, labels)
    edges = np.linspace(-1, 1, bins + 1)
    h_pos = np.histogram(pos, edges)[0] / max(len(pos), 1)
    h_neg = np.histogram(neg, edges)[0] / max(len(neg), 1)
    scatter = class_scatter(emb, labels)
    return {"expectation_margin": float(pos.mean() - neg.mean()) if len(pos) and len(neg) else None,
            "mean_pos": float(pos.mean()) if len(pos) else None, "mean_neg": float(neg.mean()) if len(neg) else None,
            "intersection": histogram_intersection(h_pos, h_neg),
            "divergence_mean": float(scatter.mean()) if len(scatter) else None,
            "divergence_std": float(scatter.std()) if len(scatter) else None,
            "bin_edges": edges.tolist(), "hist_pos": h_pos.tolist(), "hist_neg": h_neg.tolist(),
            "positive_pairs": int(len(pos)), "negative_pairs": int(len(neg))}


def plot_distribution(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    edges = np.array(report["bin_edges"])
    mid = (edges[:-1] + edges[1:]) / 2
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.plot(mid, report["hist_pos"], label="positive pairs")
    ax.plot(mid, report["hist_neg"], label="negative pairs")
    ax.set_xlabel("cosine similarity")
    ax.set_ylabel("fraction of pairs")
    ax.set_title(f"margin {report['expectation_margin']:.3f}, intersection {report['intersection']:.3f}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
