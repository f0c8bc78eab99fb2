"""Verification of an exported SavedModel on a pairs file, with its report, ROC plot and summary line."""

from __future__ import annotations

import tfface.messages as messages
from tfface.errors import ConfigError
from tfface.evaluation.calibration import calibrate, people
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.results import require_numbers
from tfface.evaluation.verification import evaluate_pairs, save_report
from tfface.export.saved_model import load_embedder, read_metadata, write_metadata
from tfface.scoring.score import COSINE, Score

PRINT = messages.info  # the default printer: the tfface logger


def verify_saved_model(model: str, pairs_file: str, root: str | None, out_dir: str, flip: bool = True,
                       batch: int = 256, printer=PRINT, score: Score = COSINE, write_calibration: bool = False) -> dict:
    """Verification of an exported model on a pairs file; writes eval.json and eval_roc.png (scored by IDA:
    ``eval_<score>.json`` and its ROC). With ``write_calibration`` the thresholds calibrated on these pairs
    (:func:`tfface.evaluation.calibration.calibrate`) go into the model's ``tfface.json`` as well."""
    if write_calibration:
        check_calibration_matches(model, flip, score)
    embed, size = load_embedder(model)
    pairs = read_pairs(pairs_file, root)
    report, scores = evaluate_pairs(embed, pairs, size, batch, flip, score)
    report = {"model": str(model), "pairs_file": str(pairs_file), "flip": flip, "score": score.name, **report}
    report["calibration"] = calibrate(scores, pairs.same, score.name, flip, str(pairs_file),
                                      persons=people(pairs.path1, pairs.path2, pairs.same))
    require_numbers(report, f"verification on {pairs_file}")
    if write_calibration:
        write_metadata(model, {**read_metadata(model), "calibration": report["calibration"]})
    path = save_report(report, scores, pairs.same, out_dir, "eval" if score.is_cosine else f"eval_{score.name}")
    tar = report["tar_at_far"].get("0.001")
    printer(f"verification on {pairs_file}: accuracy {report['accuracy'] * 100:.2f}% ± "
            f"{report['accuracy_std'] * 100:.2f}, TAR@FAR=1e-3 "
            f"{'n/a' if tar is None else f'{tar * 100:.2f}%'}, AUC {report['auc']:.4f} -> {path}")
    return report


def check_calibration_matches(model: str, flip: bool, score: Score) -> None:
    """Refuse to calibrate thresholds the model's served scores would not meet: another flip choice than the
    export's, or a score its ``score`` signature does not compute."""
    exported_flip = read_metadata(model).get("flip")
    if exported_flip is None:
        raise ConfigError(f"--calibrate: {model} was exported by an older version whose served embeddings have no "
                          "mirror image; re-export it (evaluate.py --checkpoint=<workdir>) before calibrating.")
    if bool(exported_flip) != bool(flip):
        raise ConfigError(f"--calibrate with --eval_flip={flip}: {model} serves embeddings with flip={exported_flip}, "
                          f"so these thresholds would not apply to its scores; drop --eval_flip or set it to "
                          f"{exported_flip}.")
    if not score.is_cosine:
        raise ConfigError(f"--calibrate with --score={score.name}: an export's thresholds are for the cosine its "
                          "`score` signature serves; IDA scores are calibrated in the IDA export "
                          "(--protocol=ida_export).")
