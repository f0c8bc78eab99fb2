"""Deep-metric-learning retrieval protocol (as in the SFT paper, Sec. 4): Recall@K over the test set,
and NMI / F1 of a k-means clustering with k = number of test classes."""

from __future__ import annotations

import numpy as np

DEFAULT_KS = (1, 2, 4, 8, 10, 16, 32, 100)


def _unit(x):
    x = np.asarray(x, np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def recall_at_k(emb: np.ndarray, labels: np.ndarray, ks=DEFAULT_KS, chunk: int = 1024) -> dict[str, float]:
    """Fraction of queries with a same-label item among their K nearest others (cosine), for each K < N."""
    x, labels = _unit(emb), np.asarray(labels)
    n = len(labels)
    ks = [k for k in ks if k < n]
    kmax = max(ks)
    hits = np.zeros(len(ks))
    for s in range(0, n, chunk):
        sim = x[s:s + chunk] @ x.T
        sim[np.arange(len(sim)), np.arange(s, s + len(sim))] = -np.inf  # not itself
        top = np.argpartition(-sim, kmax - 1, axis=1)[:, :kmax]
        order = np.take_along_axis(sim, top, 1).argsort(axis=1)[:, ::-1]
        nn = np.take_along_axis(top, order, 1)
        match = labels[nn] == labels[s:s + chunk, None]
        first = np.where(match.any(1), match.argmax(1), kmax)
        hits += [(first < k).sum() for k in ks]
    return {str(k): float(h / n) for k, h in zip(ks, hits)}


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def nmi(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Normalised mutual information 2·I(Y; C) / (H(Y) + H(C))."""
    t = contingency(labels, clusters).astype(np.float64)
    p = t / t.sum()
    py, pc = p.sum(1), p.sum(0)
    nz = p > 0
    mi = float(np.sum(p[nz] * np.log(p[nz] / np.outer(py, pc)[nz])))
    h = -float(np.sum(py[py > 0] * np.log(py[py > 0]))) - float(np.sum(pc[pc > 0] * np.log(pc[pc > 0])))
    return 2 * mi / h if h > 0 else 1.0


def pairwise_f1(labels: np.ndarray, clusters: np.ndarray) -> float:
    """F1 of "same cluster" as a predictor of "same class" over all unordered pairs."""
    t = contingency(labels, clusters)
    pairs = lambda n: n * (n - 1) // 2  # noqa: E731
    tp = pairs(t).sum()
    precision = tp / max(pairs(t.sum(0)).sum(), 1)
    recall = tp / max(pairs(t.sum(1)).sum(), 1)
    return float(2 * precision * recall / (precision + recall)) if tp else 0.0


def kmeans(x: np.ndarray, k: int, seed: int = 0, restarts: int = 5, iters: int = 100) -> np.ndarray:
    """Cluster assignments of the best (lowest inertia) of several seeded k-means++ runs."""
    from scipy.cluster.vq import kmeans2

    best, best_inertia = None, np.inf
    for r in range(restarts):
        centroids, assign = kmeans2(x, k, iter=iters, minit="++", seed=np.random.default_rng(seed + r))
        inertia = float(np.sum((x - centroids[assign]) ** 2))
        if inertia < best_inertia:
            best, best_inertia = assign, inertia
    return best


def retrieval_report(emb: np.ndarray, labels: np.ndarray, ks=DEFAULT_KS, seed: int = 0,
                     restarts: int = 5) -> dict:
    """Recall@K, NMI and F1 (k-means with k = number of classes) of test embeddings."""
    labels = np.asarray(labels)
    clusters = kmeans(_unit(emb), len(np.unique(labels)), seed, restarts)
    return {"recall_at_k": recall_at_k(emb, labels, ks), "nmi": nmi(labels, clusters),
            "f1": pairwise_f1(labels, clusters), "images": int(len(labels)),
            "classes": int(len(np.unique(labels)))}
