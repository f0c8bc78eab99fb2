"""Verification protocol: embed the images of a pair list, score pairs, report metrics and an ROC plot."""

from __future__ import annotations

import json
import os

import numpy as np

from tfface.evaluation.metrics import roc, verification_report
from tfface.evaluation.pairs import Pairs
from tfface.models.embed import EmbedFn, embed_paths
from tfface.scoring.score import COSINE, Score
from tfface.settings import Section, at_least, section, setting


@section("eval", prefix="eval_", programs=("train", "evaluate"))
class EvalSettings(Section):
    """Verification on a pairs file (after training, and in evaluate.py)."""

    pairs: str | None = setting(None, "Pairs file: LFW pairs.txt or CSV path1,path2,same (default for SynthFaces: its "
                                "held-out pairs).")
    root: str | None = setting(None, "Folder the pairs' paths are relative to (default: the file's).")
    flip: bool = setting(True, "Embed original + mirrored image (sum).")
    batch: int = setting(256, "Batch size for embedding extraction.", limit=at_least(1))


def evaluate_pairs(embed: EmbedFn, pairs: Pairs, image_size: int, batch: int = 256, flip: bool = False,
                   score: Score = COSINE) -> tuple[dict, np.ndarray]:
    """Embed each distinct image once and score the pairs by ``score`` (cosine, or IDA's log DAO, Eq. 4, with
    each image's log density computed once); return (report, scores)."""
    unique, inverse = np.unique(np.concatenate([pairs.path1, pairs.path2]), return_inverse=True)
    emb = embed_paths(embed, unique, image_size, batch, flip)
    n = len(pairs.same)
    i1, i2 = inverse[:n], inverse[n:]
    ld = score.log_density(emb)
    scores = score.pairs(emb[i1], emb[i2], *((None, None) if ld is None else (ld[i1], ld[i2])))
    return verification_report(scores, pairs.same, pairs.folds), scores


def save_report(report: dict, scores: np.ndarray, same: np.ndarray, out_dir: str, name: str = "eval") -> str:
    """Write ``<name>.json`` and ``<name>_roc.png`` into out_dir; return the JSON path."""
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{name}.json")
    with open(path, "w") as fh:
        json.dump(report, fh, indent=1)
    plot_roc(scores, same, os.path.join(out_dir, f"{name}_roc.png"), report)
    return path


def plot_roc(scores: np.ndarray, same: np.ndarray, path: str, report: dict | None = None) -> None:
    """ROC (TAR against log FAR) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    far, tar = roc(np.asarray(scores), np.asarray(same, bool))
    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    keep = far > 0
    ax.plot(far[keep], tar[keep], lw=1.5)
    ax.set_xscale("log")
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    if report:
        ax.set_title(f"acc {report['accuracy'] * 100:.2f}% ± {report['accuracy_std'] * 100:.2f}, "
                     f"AUC {report['auc']:.4f}")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
