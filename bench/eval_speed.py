"""How fast the low-FAR evaluation is on this CPU, and that it agrees with scikit-learn.

1. ROC and TAR@FAR over 15 M scores: tfface.evaluation.metrics (roc + tar_at_far) against
   sklearn.metrics.roc_curve on the same scores, alternating, 3 repeats each; the two curves must agree.
2. All pairs (evaluate.py --protocol=all_pairs, without the embedding): 6,064 images (CelebA's detected
   faces, ~18 M pairs) and 14,142 images (~100 M pairs), synthetic clustered 128-D embeddings, with 200
   bootstrap replicates; seconds and peak memory, each size in its own process.

    python bench/eval_speed.py            # writes bench/results/eval_speed.json
"""

from __future__ import annotations

import json
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

flags.DEFINE_string("part", "", "Internal: run one part (roc | pairs) and print its JSON.")
flags.DEFINE_integer("images", 6064, "pairs part: images.")
flags.DEFINE_list("pair_images", ["6064", "14142"], "The image counts the pairs part is run at.")
flags.DEFINE_integer("scores", 15_000_000, "roc part: scores.")
flags.DEFINE_integer("repeats", 3, "roc part: timed repeats of each contender.")
flags.DEFINE_string("out", str(pathlib.Path(__file__).parent / "results" / "eval_speed.json"), "Result file.")
FLAGS = flags.FLAGS


def roc_part() -> dict:
    from sklearn.metrics import roc_curve

    from tfface.evaluation import metrics

    rng = np.random.default_rng(0)
    n_pos = FLAGS.scores // 1000
    same = np.zeros(FLAGS.scores, bool)
    same[:n_pos] = True
    scores = np.where(same, rng.normal(0.6, 0.15, FLAGS.scores), rng.normal(0.0, 0.12, FLAGS.scores))
    scores = np.round(scores, 5)  # ties, as real float32 cosines have
    times = {"tfface": [], "sklearn": []}
    for _ in range(FLAGS.repeats):
        t0 = time.perf_counter()
        far, tar = metrics.roc(scores, same)
        ours = metrics.tar_at_far(scores, same)
        times["tfface"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fpr, tpr, thr = roc_curve(same, scores, drop_intermediate=False)
        times["sklearn"].append(time.perf_counter() - t0)
    agree = bool(len(fpr) == len(far) and np.allclose(fpr, far) and np.allclose(tpr, tar))
    # TAR@FAR read off sklearn's curve with the same rule: the last point with at most ⌊FAR·n_neg⌋ negatives
    n_neg = int((~same).sum())
    skl = {}
    for f in ours:
        k = int(np.floor(float(f) * n_neg))
        i = int(np.searchsorted(np.round(fpr * n_neg), k, side="right")) - 1
        skl[f] = float(tpr[i])
    return {"scores": FLAGS.scores, "positives": n_pos, "seconds": times, "curves_agree": agree,
            "tar_at_far": ours, "tar_at_far_from_sklearn": skl,
            "tar_at_far_agree": all(abs(ours[f] - skl[f]) < 1e-12 for f in ours)}


def pairs_part() -> dict:
    from tfface.evaluation.all_pairs import all_pairs_report

    rng = np.random.default_rng(1)
    n_ids = FLAGS.images // 6
    labels = rng.integers(0, n_ids, FLAGS.images)
    emb = rng.normal(size=(n_ids, 128))[labels] + 1.3 * rng.normal(size=(FLAGS.images, 128))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rep = all_pairs_report(emb, labels, replicates=200)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"images": FLAGS.images, "pairs": rep["genuine_pairs"] + rep["impostor_pairs"],
            "seconds": round(seconds, 2), "seconds_scoring": rep["seconds_scoring"],
            "seconds_metrics_and_bootstrap": rep["seconds_metrics"], "peak_rss_gb": round(peak / 2**20, 2),
            "rss_before_gb": round(before / 2**20, 2),
            "tar_at_far": {f: {"tar": v["tar"], "ci95": v.get("ci95")} for f, v in rep["tar_at_far"].items()}}


def main(argv):
    del argv
    if FLAGS.part:
        print(json.dumps(roc_part() if FLAGS.part == "roc" else pairs_part()))
        return
    result = {"cpu_only": True, "note": "2 CPU cores; a background job halves every number"}

    def run(*args) -> dict:
        out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    result["roc_15M"] = run("--part=roc", f"--scores={FLAGS.scores}", f"--repeats={FLAGS.repeats}")
    print("roc:", json.dumps(result["roc_15M"]["seconds"]), "agree:", result["roc_15M"]["curves_agree"], flush=True)
    result["all_pairs"] = []
    for images in map(int, FLAGS.pair_images):
        result["all_pairs"].append(run("--part=pairs", f"--images={images}"))
        print("all pairs:", json.dumps(result["all_pairs"][-1]), flush=True)
    pathlib.Path(FLAGS.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {FLAGS.out}")


if __name__ == "__main__":
    app.run(main)
