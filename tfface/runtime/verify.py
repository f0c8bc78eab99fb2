"""Verification of an exported SavedModel on a pairs file, with its report, ROC plot and summary line."""

from __future__ import annotations

from tfface import messages
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import evaluate_pairs, save_report
from tfface.export.saved_model import load_embedder
from tfface.scoring.score import COSINE, Score

PRINT = messages.info  # the default printer: the tfface logger


def verify_saved_model(model: str, pairs_file: str, root: str | None, out_dir: str, flip: bool = True,
                       batch: int = 256, printer=PRINT, score: Score = COSINE) -> dict:
    """Verification of an exported model on a pairs file; writes eval.json and eval_roc.png (scored by IDA:
    ``eval_<score>.json`` and its ROC)."""
    embed, size = load_embedder(model)
    pairs = read_pairs(pairs_file, root)
    report, scores = evaluate_pairs(embed, pairs, size, batch, flip, score)
    report = {"model": str(model), "pairs_file": str(pairs_file), "flip": flip, "score": score.name, **report}
    path = save_report(report, scores, pairs.same, out_dir, "eval" if score.is_cosine else f"eval_{score.name}")
    tar = report["tar_at_far"].get("0.001")
    printer(f"verification on {pairs_file}: accuracy {report['accuracy'] * 100:.2f}% ± "
            f"{report['accuracy_std'] * 100:.2f}, TAR@FAR=1e-3 "
            f"{'n/a' if tar is None else f'{tar * 100:.2f}%'}, AUC {report['auc']:.4f} -> {path}")
    return report
