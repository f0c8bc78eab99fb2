"""SFT's analysis of an embedding space (Zhu et al., ECCV 2020, Secs. 3.4 and 4.2), ``evaluate.py --protocol=sft``.

:func:`orthogonality` (r_w, Eqs. 7–8), :func:`rotation_residuals` (‖Aσ − σ‖, Fig. 6) and :func:`sft_report`
(with per-class divergence, Eq. 11 / Fig. 4).
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfface.evaluation.protocols import list_protocol
from tfface.transforms.spherical import rotate


def class_means(emb: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(classes, their mean features)."""
    classes, inv = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(classes), emb.shape[1]))
    np.add.at(sums, inv, emb)
    return classes, sums / np.bincount(inv)[:, None]


def orthogonality(emb: np.ndarray, labels: np.ndarray, energy: float = 0.99) -> dict:
    """r_w = trace(Uᵀ S_w U) / trace(S_w) (Eq. 8), S_c and S_w of Eq. 7, U the leading eigenvectors of
    S_c holding ``energy`` of its trace. 0: the within-class variation σ is orthogonal to the class means."""
    emb = np.asarray(emb, np.float64)
    classes, mu = class_means(emb, labels)
    inv = np.searchsorted(classes, labels)
    s_c = mu.T @ mu / len(classes)
    sigma = emb - mu[inv]
    per_class = np.bincount(inv)
    s_w = (sigma / per_class[inv][:, None]).T @ sigma / len(classes)  # mean over classes of class scatter
    vals, vecs = np.linalg.eigh(s_c)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    k = int(np.searchsorted(np.cumsum(vals) / vals.sum(), energy - 1e-12) + 1)
    u = vecs[:, :k]
    return {"r_w": float(np.trace(u.T @ s_w @ u) / np.trace(s_w)), "energy": energy, "k": k}


def rotation_residuals(emb: np.ndarray, labels: np.ndarray, samples: int = 10000, seed: int = 0) -> np.ndarray:
    """d = ‖Aσ − σ‖₂ (Fig. 6a) for random (feature, other class) draws: σ = x/‖x‖ − μ₁, A rotates the
    normalised centre μ₁ of x's class onto that of the other class. d ≈ 0 where SFT ≈ translation."""
    x = np.asarray(emb, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    classes, mu = class_means(x, labels)
    inv = np.searchsorted(classes, labels)
    rng = np.random.default_rng(seed)
    i = rng.integers(len(x), size=samples)
    j = (inv[i] + 1 + rng.integers(len(classes) - 1, size=samples)) % len(classes)
    sigma = x[i] - mu[inv[i]]
    moved = rotate(tf.constant(sigma), tf.constant(mu[inv[i]]), tf.constant(mu[j])).numpy()
    return np.linalg.norm(moved - sigma, axis=1)


def sft_report(emb: np.ndarray, labels: np.ndarray, energies=(0.5, 0.8, 0.9, 0.95, 0.99),
               samples: int = 2000) -> dict:
    """r_w over several energies of the means, the ‖Aσ − σ‖ distribution and per-class divergence."""
    from tfface.evaluation.distribution import class_scatter

    x = np.asarray(emb, np.float64)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = rotation_residuals(x, labels, samples)
    div = class_scatter(x, labels)
    hist, edges = np.histogram(d, bins=50)
    return {"orthogonality": [orthogonality(x, labels, e) for e in energies],
            "rotation_residual": {"mean": float(d.mean()), "median": float(np.median(d)),
                                  "hist": hist.tolist(), "edges": edges.tolist()},
            "divergence": {"mean": float(div.mean()), "std": float(div.std()), "per_class": div.tolist()}}


def plot_sft_report(report: dict, path: str) -> None:
    """Three panels: ‖Aσ − σ‖ histogram (Fig. 6a), r_w vs energy (Fig. 6c), sorted divergences (Fig. 4a)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    r = report["rotation_residual"]
    ax[0].stairs(r["hist"], r["edges"], fill=True)
    ax[0].set(xlabel="‖Aσ − σ‖", ylabel="draws", title=f"rotation residual (mean {r['mean']:.3f})")
    o = report["orthogonality"]
    ax[1].plot([e["energy"] for e in o], [e["r_w"] for e in o], "o-")
    ax[1].set(xlabel="energy of the means kept", ylabel="r_w", title="orthogonality (Eq. 8)", ylim=(0, 1))
    div = np.sort(report["divergence"]["per_class"])
    ax[2].bar(np.arange(len(div)), div, width=1.0)
    ax[2].axhline(report["divergence"]["mean"], ls="--", c="k")
    ax[2].set(xlabel="class (sorted)", ylabel="divergence (Eq. 11)",
              title=f"divergence std {report['divergence']['std']:.4f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sft_protocol_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """``--protocol=sft``: :func:`sft_report` of the list, plotted to ``sft.png``."""
    report = sft_report(emb, labels)
    plot_sft_report(report, os.path.join(out_dir, "sft.png"))
    return report


list_protocol("sft", sft_protocol_report)
