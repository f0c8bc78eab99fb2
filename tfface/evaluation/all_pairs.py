"""Verification over every pair of a labelled image set, for the low-FAR regime (TAR at FAR 1e-4 … 1e-6).

The N×N score matrix is never held: rows are scored in blocks against the rows after them (each unordered
pair once). The genuine scores are all kept (with their identity); of the impostor scores only the highest
``keep_far`` share is kept, exactly (with the identities of both images), which is all TAR@FAR needs for
FAR ≤ ``keep_far``; the rest is counted in a fine histogram for the full ROC's AUC and EER.

TAR@FAR follows :func:`tfface.evaluation.metrics.tar_at_far`: the threshold is the ⌊FAR·n_imp⌋-th highest
impostor score (counting from 0), a pair is accepted when its score is above it, and a FAR is reported only
where the impostor count supports it (FAR·n_imp ≥ 1).

Confidence intervals come from a bootstrap over identities (pairs that share an identity are not
independent): each replicate draws identities with replacement; an identity drawn w times weighs its
genuine pairs by w and an impostor pair of identities (a, b) by w_a·w_b (what duplicating the drawn
identities' images would give, without the pairs between copies of one identity).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from tfface.evaluation import metrics
from tfface.evaluation.metrics import FARS
from tfface.scoring.ida import score_matrix

# a block's scores, given the row indices and the column indices: cosine unless told otherwise
BlockScore = Callable[[np.ndarray, np.ndarray], np.ndarray]
HIST_BINS = 20000
IDENTICAL_COSINE = 1 - 1e-5  # an impostor pair at or above this cosine is, in practice, one image twice (ours)
ROC_GRID = tuple(float(f) for f in np.logspace(-6, -1, 21))  # FARs of the plotted ROC / DET


@dataclasses.dataclass
class PairScores:
    """What :func:`score_all_pairs` keeps of the N(N−1)/2 pair scores."""

    genuine: np.ndarray  # every genuine score, descending
    genuine_identity: np.ndarray  # identity index of each
    impostor_top: np.ndarray  # the highest impostor scores, descending
    impostor_identities: np.ndarray  # [K, 2] identity indices of the two images of each
    impostors: int  # n_imp, all impostor pairs
    images_per_identity: np.ndarray  # n_i per identity index
    hist_edges: np.ndarray  # impostor and genuine histograms over these edges (for AUC / EER)
    impostor_hist: np.ndarray
    genuine_hist: np.ndarray
    # a listed pair set (not every pair of the images): the identity indices of all its impostor pairs, whose
    # weights then give a bootstrap replicate's impostor total
    listed_impostors: np.ndarray | None = None


def impostor_count(images_per_identity: np.ndarray) -> int:
    """Σ_{a<b} n_a·n_b: pairs of images of different identities."""
    n = np.asarray(images_per_identity, np.int64)
    return int((n.sum() ** 2 - (n ** 2).sum()) // 2)


def cosine_blocks(emb: np.ndarray) -> BlockScore:
    emb = np.asarray(emb, np.float32)
    return lambda rows, cols: score_matrix(emb[rows], emb[cols])


def ida_blocks(emb: np.ndarray, log_density: np.ndarray, tau: float) -> BlockScore:
    """IDA's log DAO (Liu et al. 2021, Eq. 4) of every pair: τ⟨f_i, f_j⟩ + logaddexp(log F_i, log F_j)."""
    emb, lf = np.asarray(emb, np.float32), np.asarray(log_density, np.float32)
    return lambda rows, cols: score_matrix(emb[rows], emb[cols], lf[rows], lf[cols], tau)


def ida_score_range(log_density: np.ndarray, tau: float) -> tuple[float, float]:
    """Bounds of log DAO over unit embeddings with these log densities: τ·[−1, 1] plus logaddexp's range."""
    lf = np.asarray(log_density, np.float32)
    return -tau + float(lf.min()), tau + float(lf.max()) + float(np.log(2))


def score_all_pairs(labels: np.ndarray, score: BlockScore, keep_far: float = 0.2, block: int = 1024,
                    score_range: tuple[float, float] = (-1.0, 1.0), progress=None) -> PairScores:
    """Score every unordered pair of the images (``labels`` one per image) in row blocks of ``block``;
    keep every genuine score and the top ``keep_far`` share of impostor scores exactly. ``score_range`` bounds
    the AUC histogram (scores outside fall in its end bins)."""
    _, ids = np.unique(np.asarray(labels), return_inverse=True)
    ids = ids.astype(np.int32)
    n = len(ids)
    per_id = np.bincount(ids)
    n_imp = impostor_count(per_id)
    keep = min(n_imp, int(math.floor(keep_far * n_imp)) + 1)
    edges = np.linspace(score_range[0], score_range[1], HIST_BINS + 1)
    imp_hist, gen_hist = np.zeros(HIST_BINS, np.int64), np.zeros(HIST_BINS, np.int64)
    gen, gen_id = [], []
    top_s = np.empty(0, np.float32)
    top_ab = np.empty((0, 2), np.int32)
    floor = -np.inf  # scores at or below the current keep-th highest cannot enter the kept set
    for r0 in range(0, n - 1, block):
        rows = np.arange(r0, min(r0 + block, n))
        cols = np.arange(r0 + 1, n)
        s = score(rows, cols)
        upper = cols[None, :] > rows[:, None]  # each unordered pair once
        same = ids[rows][:, None] == ids[cols][None, :]
        g = upper & same
        gen.append(s[g])
        gen_id.append(np.broadcast_to(ids[rows][:, None], s.shape)[g])
        imp = upper & ~same
        imp_hist += _histogram(s[imp], edges)
        cand = imp & (s > floor) if np.isfinite(floor) else imp
        ri, ci = np.nonzero(cand)
        top_s = np.concatenate([top_s, s[ri, ci].astype(np.float32)])
        top_ab = np.concatenate([top_ab, np.stack([ids[rows[ri]], ids[cols[ci]]], 1)])
        if len(top_s) > keep:
            part = np.argpartition(-top_s, keep - 1)[:keep]
            top_s, top_ab = top_s[part], top_ab[part]
            floor = float(top_s.min())
        if progress is not None:
            progress(min(r0 + block, n), n)
    order = np.argsort(-top_s, kind="stable")
    gen_s = np.concatenate(gen) if gen else np.empty(0, np.float32)
    gen_ids = np.concatenate(gen_id) if gen_id else np.empty(0, np.int32)
    gen_hist += _histogram(gen_s, edges)
    g_order = np.argsort(-gen_s, kind="stable")
    return PairScores(gen_s[g_order], gen_ids[g_order], top_s[order], top_ab[order], n_imp, per_id, edges,
                      imp_hist, gen_hist)


def listed_pairs(scores: np.ndarray, same: np.ndarray, identity1: np.ndarray, identity2: np.ndarray) -> PairScores:
    """The :class:`PairScores` of a listed pair set (e.g. IJB template matches): every score kept, identities
    for the bootstrap (``images_per_identity`` then counts each identity's pairs)."""
    scores, same = np.asarray(scores, np.float32), np.asarray(same, bool)
    _, ids = np.unique(np.concatenate([identity1, identity2]), return_inverse=True)
    ab = ids.reshape(2, -1).T.astype(np.int32)
    g, imp = np.flatnonzero(same), np.flatnonzero(~same)
    g, imp = g[np.argsort(-scores[g], kind="stable")], imp[np.argsort(-scores[imp], kind="stable")]
    lo, hi = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    edges = np.linspace(lo, hi + 1e-6 * max(1.0, abs(hi)), HIST_BINS + 1)
    return PairScores(scores[g], ab[g, 0], scores[imp], ab[imp], int(len(imp)), np.bincount(ab.ravel()), edges,
                      _histogram(scores[imp], edges), _histogram(scores[g], edges), listed_impostors=ab[~same])


def _histogram(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.histogram(np.clip(x, edges[0], edges[-1]), edges)[0]


def tar_at_far(p: PairScores, fars=FARS, weights: np.ndarray | None = None) -> dict[str, dict]:
    """TAR, threshold and the number of impostors accepted at each FAR the impostor count supports (and the
    kept share covers); with ``weights`` (per identity) the bootstrap replicate's weighted values."""
    w = np.ones(len(p.images_per_identity)) if weights is None else np.asarray(weights, np.float64)
    n = p.images_per_identity.astype(np.float64)
    if p.listed_impostors is not None:
        total_imp = float(np.sum(w[p.listed_impostors[:, 0]] * w[p.listed_impostors[:, 1]]))
    else:
        total_imp = (np.dot(w, n) ** 2 - np.dot(w ** 2, n ** 2)) / 2
    imp_w = np.cumsum(w[p.impostor_identities[:, 0]] * w[p.impostor_identities[:, 1]])
    gen_w = np.cumsum(w[p.genuine_identity])
    total_gen = gen_w[-1] if len(gen_w) else 0.0
    out = {}
    for far in fars:
        if p.impostors * far < 1:
            continue
        if weights is None:
            k = int(math.floor(far * p.impostors))  # as metrics.tar_at_far
        else:  # the most impostors from the top whose weight stays within FAR × the replicate's impostor weight
            k = int(np.searchsorted(imp_w, far * total_imp * (1 + 1e-12), side="right"))
        if k >= len(p.impostor_top):
            out[f"{far:g}"] = None  # beyond the kept share
            continue
        thr = float(p.impostor_top[k])
        above = int(np.searchsorted(-p.genuine, -thr, side="left"))  # genuine scores > thr
        tar = float(gen_w[above - 1] / total_gen) if above and total_gen else 0.0
        out[f"{far:g}"] = {"tar": tar, "threshold": thr, "impostors_accepted": int(np.sum(p.impostor_top > thr))}
    return out


def bootstrap(p: PairScores, fars, replicates: int = 200, seed: int = 0) -> np.ndarray:
    """[replicates, len(fars)] TAR of identity-bootstrap replicates (NaN where a replicate's threshold falls
    beyond the impostors it looks at: the top 3·max(fars) share, ample for a replicate's FAR)."""
    rng = np.random.default_rng(seed)
    m = len(p.images_per_identity)
    out = np.full((replicates, len(fars)), np.nan)
    head = min(len(p.impostor_top), int(math.ceil(3 * max(fars) * p.impostors)) + 1)
    top = dataclasses.replace(p, impostor_top=p.impostor_top[:head], impostor_identities=p.impostor_identities[:head])
    for r in range(replicates):
        w = np.bincount(rng.integers(0, m, m), minlength=m)
        rep = tar_at_far(top, fars, w)
        for j, far in enumerate(fars):
            v = rep.get(f"{far:g}")
            if v is not None:
                out[r, j] = v["tar"]
    return out


def auc_eer(p: PairScores) -> tuple[float, float]:
    """AUC and EER of the full ROC, from the histograms (thresholds at the bin edges)."""
    fp = np.concatenate([[0], np.cumsum(p.impostor_hist[::-1])]) / max(p.impostors, 1)
    tp = np.concatenate([[0], np.cumsum(p.genuine_hist[::-1])]) / max(len(p.genuine), 1)
    return metrics.auc(fp, tp), metrics.eer(fp, tp)


def all_pairs_report(emb: np.ndarray, labels: np.ndarray, replicates: int = 200, block: int = 1024,
                     score: BlockScore | None = None, score_range: tuple[float, float] = (-1.0, 1.0),
                     grid=ROC_GRID, progress=None, interval_max_far: float = 1e-2) -> dict:
    """Every pair of the images scored (cosine unless ``score``), summarised by :func:`summary`; by cosine also
    the count of impostor pairs that are the same image twice (label noise, which sets the thresholds at the
    lowest FARs)."""
    import time

    t0 = time.time()
    p = score_all_pairs(labels, score or cosine_blocks(emb), block=block, score_range=score_range,
                        progress=progress)
    t1 = time.time()
    report = {"images": int(len(labels)), **summary(p, replicates, grid, interval_max_far)}
    if score is None:
        report["identical_impostor_pairs"] = int(np.sum(p.impostor_top >= IDENTICAL_COSINE))
    return {**report, "seconds_scoring": round(t1 - t0, 3), "seconds_metrics": round(time.time() - t1, 3)}


def summary(p: PairScores, replicates: int = 200, grid=ROC_GRID, interval_max_far: float = 1e-2) -> dict:
    """TAR@FAR with bootstrap intervals (2.5 / 97.5 percentiles over ``replicates`` identity resamples; 0 = none)
    for FAR ≤ ``interval_max_far`` (ours: the low-FAR regime; a replicate there needs only the top 3% of
    impostors), the counts behind them, AUC and EER, and the ROC on a log grid of FARs for the plots."""
    fars = sorted({*FARS, *(float(f) for f in grid)})
    point = tar_at_far(p, fars)
    boot_fars = [f for f in fars if f <= interval_max_far]
    boot = bootstrap(p, boot_fars, replicates) if replicates and boot_fars else None
    auc, eer = auc_eer(p)
    rows = {}
    for far in fars:
        v = point.get(f"{far:g}")
        if v is None:
            continue
        if boot is not None and far in boot_fars:
            col = boot[:, boot_fars.index(far)]
            if np.isfinite(col).sum() >= 0.9 * replicates:
                v["ci95"] = [float(np.nanpercentile(col, 2.5)), float(np.nanpercentile(col, 97.5))]
        rows[far] = v
    return {"identities": int(len(p.images_per_identity)), "genuine_pairs": int(len(p.genuine)),
            "impostor_pairs": int(p.impostors), "tar_at_far": {f"{f:g}": rows[f] for f in FARS if f in rows},
            "auc": auc, "eer": eer, "bootstrap_replicates": int(replicates),
            "roc": [[f, rows[f]["tar"], *rows[f].get("ci95", [None, None])] for f in sorted(rows)]}


def plot_all_pairs(report: dict, path: str, title: str = "") -> None:
    """ROC (TAR against FAR) and DET (FRR against FAR) on log axes, with the bootstrap band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roc = np.array([[np.nan if v is None else v for v in row] for row in report["roc"]], np.float64)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, y, name in ((a, roc[:, 1], "TAR"), (b, 1 - roc[:, 1], "FRR")):
        ax.plot(roc[:, 0], y, "o-", ms=3)
        if np.isfinite(roc[:, 2]).any():
            lo, hi = (roc[:, 2], roc[:, 3]) if name == "TAR" else (1 - roc[:, 3], 1 - roc[:, 2])
            ax.fill_between(roc[:, 0], lo, hi, alpha=0.25, label="95% bootstrap over identities")
            ax.legend(loc="best", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("FAR")
        ax.set_ylabel(name)
        ax.grid(True, which="both", alpha=0.3)
    b.set_yscale("log")
    a.set_title(f"ROC {title}".strip())
    b.set_title(f"DET {title}".strip())
    what = f"{report['images']} images, " if "images" in report else ""
    fig.suptitle(f"{what}{report['genuine_pairs']} genuine / {report['impostor_pairs']} impostor pairs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
