"""``evaluate.py --protocol=tflite``: convert an exported model to LiteRT (float32 and quantised variants) and
report, beside the SavedModel's, each variant's size, agreement with the SavedModel's embeddings and — given a
pairs file — verification accuracy."""

from __future__ import annotations

import json
import os
import time

import numpy as np

from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import evaluate_pairs
from tfface.export.lite import export_tflite
from tfface.export.saved_model import load_embedder
from tfface.models.embed import embed_paths
from tfface.runtime.verify import PRINT


def tflite_report(backbone, saved_model: str, out_dir: str, quantizations=("none", "float16", "int8"),
                  pairs_file: str | None = None, root: str | None = None, flip: bool = True, batch: int = 64,
                  printer=PRINT) -> dict:
    """Write ``<out_dir>/embedder*.tflite`` of ``backbone`` and ``<out_dir>/tflite.json``. Agreement: the smallest
    and the mean cosine between each variant's and the SavedModel's (unflipped) embeddings of the pairs' images."""
    os.makedirs(out_dir, exist_ok=True)
    reference, size = load_embedder(saved_model)
    pairs = read_pairs(pairs_file, root) if pairs_file else None
    images = np.unique(np.concatenate([pairs.path1, pairs.path2])) if pairs is not None else None
    want = embed_paths(reference, images, size, batch) if images is not None else None
    rows = {"saved_model": _verification(reference, pairs, size, batch, flip)} if pairs is not None else {}
    for quantize in quantizations:
        path = export_tflite(backbone, out_dir, quantize)
        row = {"file": path, "bytes": os.path.getsize(path)}
        if pairs is not None:
            embed, _ = load_embedder(path)
            t0 = time.time()
            got = embed_paths(embed, images, size, batch)
            cos = np.sum(got * want, axis=1)
            row.update(min_cosine_to_saved_model=float(cos.min()), mean_cosine_to_saved_model=float(cos.mean()),
                       ms_per_image=1000 * (time.time() - t0) / len(images),
                       **_verification(embed, pairs, size, batch, flip))
        rows[quantize] = row
        printer(f"{path}: {row['bytes'] / 1e6:.2f} MB" + (
            f", min cosine to the SavedModel {row['min_cosine_to_saved_model']:.6f}, verification accuracy "
            f"{row['accuracy'] * 100:.2f}%" if pairs is not None else ""))
    report = {"protocol": "tflite", "model": str(saved_model), "pairs_file": pairs_file, "flip": flip,
              "variants": rows}
    with open(os.path.join(out_dir, "tflite.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report


def _verification(embed, pairs, size: int, batch: int, flip: bool) -> dict:
    rep, _ = evaluate_pairs(embed, pairs, size, batch, flip)
    return {"accuracy": rep["accuracy"], "tar_at_far": rep["tar_at_far"], "auc": rep["auc"]}
