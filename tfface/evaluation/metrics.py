"""Verification metrics from pair scores: k-fold accuracy, ROC, AUC, EER, TAR@FAR."""

from __future__ import annotations

import numpy as np

FARS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)


def best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """Threshold (accept score > t) with the highest accuracy on these pairs; midpoints of sorted scores."""
    order = np.argsort(scores)
    s, y = scores[order], same[order].astype(np.int64)
    # accept everything above position i: correct = (#neg at or below i) + (#pos above i)
    neg_below = np.concatenate([[0], np.cumsum(1 - y)])
    pos_above = y.sum() - np.concatenate([[0], np.cumsum(y)])
    correct = neg_below + pos_above
    cuts = np.concatenate([[s[0] - 1e-6], (s[:-1] + s[1:]) / 2, [s[-1] + 1e-6]])
    valid = np.concatenate([[True], s[:-1] < s[1:], [True]])  # no cut between equal scores
    correct = np.where(valid, correct, -1)
    return float(cuts[int(np.argmax(correct))])


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float, list]:
    """Accuracy per fold with the threshold chosen on the other folds: (mean, std, thresholds)."""
    accs, ths = [], []
    for f in np.unique(folds):
        test = folds == f
        t = best_threshold(scores[~test], same[~test])
        accs.append(float(np.mean((scores[test] > t) == same[test])))
        ths.append(t)
    return float(np.mean(accs)), float(np.std(accs)), ths


def roc(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, TAR) at every distinct threshold, from accept-nothing to accept-everything."""
    order = np.argsort(-scores)  # the order inside a run of tied scores does not matter: runs are collapsed
    s, y = scores[order], same[order].astype(bool)
    tp, fp = np.cumsum(y), np.cumsum(~y)
    last = np.concatenate([s[:-1] != s[1:], [True]])  # end of each run of tied scores
    tar = np.concatenate([[0.0], tp[last] / max(y.sum(), 1)])
    far = np.concatenate([[0.0], fp[last] / max((~y).sum(), 1)])
    return far, tar


def auc(far: np.ndarray, tar: np.ndarray) -> float:
    return float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2))


def eer(far: np.ndarray, tar: np.ndarray) -> float:
    """Equal error rate: where FAR = 1 − TAR (linear interpolation on the ROC)."""
    frr = 1 - tar
    i = int(np.argmax(far >= frr))
    if i == 0:
        return float(far[0])
    d0, d1 = frr[i - 1] - far[i - 1], frr[i] - far[i]
    w = d0 / (d0 - d1) if d0 != d1 else 0.0
    return float(far[i - 1] + w * (far[i] - far[i - 1]))


def tar_at_far(scores: np.ndarray, same: np.ndarray, fars=FARS) -> dict[str, float]:
    """TAR at each FAR the negative count supports (n_neg ≥ 1/FAR); accepts score > threshold,
    the threshold letting at most ⌊FAR·n_neg⌋ negatives through."""
    neg, pos = -scores[~same], scores[same]
    supported = [far for far in fars if len(neg) * far >= 1]
    ks = sorted({int(np.floor(far * len(neg))) for far in supported} - {len(neg)})
    part = np.partition(neg, ks) if ks else neg  # −neg[k] is then the (k+1)-th highest negative, no full sort
    out = {}
    for far in supported:
        k = int(np.floor(far * len(neg)))
        thr = -part[k] if k < len(neg) else -np.inf
        out[f"{far:g}"] = float(np.mean(pos > thr))
    return out


def verification_report(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict:
    """Everything ``eval.json`` holds for one pair set."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    acc, std, ths = kfold_accuracy(scores, same, folds)
    far, tar = roc(scores, same)
    return {"accuracy": acc, "accuracy_std": std, "thresholds": ths, "tar_at_far": tar_at_far(scores, same),
            "auc": auc(far, tar), "eer": eer(far, tar), "pairs": int(len(same)),
            "positives": int(same.sum()), "negatives": int((~same).sum())}
