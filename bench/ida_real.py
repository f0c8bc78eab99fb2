"""IDA on real embeddings (Liu et al. 2021): the CelebA pairs scored by cosine, IDA-R and IDA-L.

    python bench/ida_real.py                     # bench/results/ida_real.json
    python bench/ida_real.py --model=runs/X/export --out=bench/results/ida_real_tfface.json
    python bench/ida_real.py --train_steps=1500 --out=bench/results/ida_real_tfface.json   # trains the model first

Embeddings: the precomputed dlib 128-D descriptors in ../shared/data/embeddings (default), or those of a
tfface SavedModel (``--model``, embedded here with flips). Anchor sets (never the pairs' identities):
- celeba-disjoint: the CelebA identities that no pair uses (all their images);
- other datasets: AT&T and Yale B (all images);
- head weights are not available for dlib, so they are not part of this table.
IDA-L: an SSR module (2 FC layers) trained on the celeba-disjoint embeddings against their IDA-R targets
(own identity excluded), lr 1e-2, 30k steps; its scores are compared with IDA-R's (Pearson).
Reported: 10-fold accuracy and TAR@FAR=1e-2/1e-3 on the 2,000 pairs, k = 10, τ = 1 (the paper's values);
with ``--bootstrap=N`` also IDA-R's TAR difference over cosine with its 95% paired-bootstrap interval.
With ``--train_steps`` a tfface model (small CNN, 64 px, ArcFace) is first trained on the CelebA identities
no pair uses, and the k and τ sweep (Figs. 6–7) is written beside the result (``<out>_sweep.json/.png``).
"""

from tfface.env import configure_tf_env

configure_tf_env()

import csv  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402
from celeba import detected_rows, train_on_list, write_list  # noqa: E402
from paired import paired_bootstrap_tar  # noqa: E402

from tfface.evaluation.metrics import verification_report  # noqa: E402
from tfface.evaluation.pairs import read_csv_pairs  # noqa: E402
from tfface.scoring.ida import ida_r_log_density, pair_scores  # noqa: E402
from tfface.scoring.ssr import train_ssr  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
flags.DEFINE_string("data", str(DATA), "The shared data folder.")
flags.DEFINE_string("model", None, "A tfface SavedModel to embed the images with (default: the dlib descriptors).")
flags.DEFINE_integer("k", 10, "Support-set size.")
flags.DEFINE_float("tau", 1.0, "τ of DAO.")
flags.DEFINE_integer("ssr_steps", 30000, "SSR training steps.")
flags.DEFINE_float("ssr_lr", 1e-2, "SSR learning rate.")
flags.DEFINE_integer("train_steps", 0, "Train a tfface model on the pair-free CelebA identities first (0 = no).")
flags.DEFINE_string("out", str(REPO / "bench" / "results" / "ida_real.json"), "Result file.")
flags.DEFINE_integer("bootstrap", 0, "Paired bootstrap resamples of the pairs for the interval of IDA-R's TAR@FAR "
                     "difference over cosine (0 = none; the reproduction report uses 1000).")
FLAGS = flags.FLAGS


def embeddings(name: str, data: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(paths relative to the set, identity labels, embeddings) of a data set."""
    if FLAGS.model is None:
        d = np.load(data / "embeddings" / f"{name}_dlib128.npz")
        return d["paths"].astype(str), d["labels"], d["features"].astype(np.float32)
    from tfface.export.saved_model import load_embedder
    from tfface.models.embed import embed_paths

    rows = list(csv.DictReader(open(data / name / "meta.csv")))
    embed, size = load_embedder(FLAGS.model)
    paths = np.array([r["path"] for r in rows])
    emb = embed_paths(embed, [str(data / name / p) for p in paths], size, flip=True)
    return paths, np.unique([r["identity"] for r in rows], return_inverse=True)[1], emb


def train_model(data: pathlib.Path) -> str:
    """Train on the CelebA identities that no pair uses; return the SavedModel folder."""
    import tempfile

    pairs = list(csv.DictReader(open(data / "celeba" / "pairs.csv")))
    used = {p.split("/")[1] for r in pairs for p in (r["path1"], r["path2"])}
    rows = [(r["path"], r["identity"]) for r in detected_rows(data / "celeba") if r["identity"] not in used]
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ida-model-"))
    return train_on_list(write_list(tmp / "train.csv", rows), str(data / "celeba"), tmp, FLAGS.train_steps)


def main(argv):
    del argv
    data = pathlib.Path(FLAGS.data)
    if not (data / "celeba" / "pairs.csv").exists():
        raise SystemExit(f"error: {data}/celeba/pairs.csv not found (research data kept beside the clone).")
    if FLAGS.train_steps and FLAGS.model is None:
        FLAGS.model = train_model(data)
    paths, labels, emb = embeddings("celeba", data)
    row = {p: i for i, p in enumerate(paths)}
    pairs = read_csv_pairs(data / "celeba" / "pairs.csv", data / "celeba")
    rel = lambda p: str(pathlib.Path(p).relative_to(data / "celeba"))  # noqa: E731
    i1 = np.array([row[rel(p)] for p in pairs.path1])
    i2 = np.array([row[rel(p)] for p in pairs.path2])
    used = np.unique(labels[np.concatenate([i1, i2])])
    disjoint = ~np.isin(labels, used)
    others = [embeddings(n, data)[2] for n in ("att", "yaleb")]
    anchor_sets = {"celeba-disjoint": (emb[disjoint], labels[disjoint]),
                   "att+yaleb": (np.concatenate(others), None)}
    results = {}

    def report(name, scores):
        rep = verification_report(scores, pairs.same, pairs.folds)
        results[name] = {"accuracy": rep["accuracy"], "accuracy_std": rep["accuracy_std"],
                         "tar_at_far": rep["tar_at_far"], "auc": rep["auc"]}
        print(name, json.dumps(results[name]), flush=True)
        return scores

    s_c = report("cosine", pair_scores(emb[i1], emb[i2]))
    densities = {}
    for name, (anchors, _) in anchor_sets.items():
        ld = ida_r_log_density(emb, anchors, FLAGS.k, FLAGS.tau)
        densities[name] = ld
        report(f"IDA-R ({name}, {len(anchors)} anchors)", pair_scores(emb[i1], emb[i2], ld[i1], ld[i2], FLAGS.tau))
    anchors, anchor_labels = anchor_sets["celeba-disjoint"]
    target = ida_r_log_density(anchors, anchors, FLAGS.k, FLAGS.tau, anchor_labels, anchor_labels)
    ssr, fit = train_ssr(anchors, target, FLAGS.ssr_steps, FLAGS.ssr_lr, log=lambda s: None)
    learned = ssr.predict(emb / np.linalg.norm(emb, axis=1, keepdims=True), batch_size=4096, verbose=0)
    s_l = report("IDA-L (SSR fit on celeba-disjoint)", pair_scores(emb[i1], emb[i2], learned[i1], learned[i2],
                                                                    FLAGS.tau))
    ld = densities["celeba-disjoint"]
    s_r = pair_scores(emb[i1], emb[i2], ld[i1], ld[i2], FLAGS.tau)
    pair_ids = np.unique(np.concatenate([i1, i2]))
    out = {"embeddings": FLAGS.model or "dlib128", "k": FLAGS.k, "tau": FLAGS.tau, "pairs": int(len(pairs.same)),
           "results": results,
           "ssr": {**{k: v for k, v in fit.items() if k != "train_curve"}, "steps": FLAGS.ssr_steps,
                   "lr": FLAGS.ssr_lr,
                   "density_pearson_on_pair_images": float(np.corrcoef(learned[pair_ids], ld[pair_ids])[0, 1]),
                   "score_pearson_ida_l_vs_ida_r": float(np.corrcoef(s_l, s_r)[0, 1]),
                   # the reference for the score correlation: cosine alone against IDA-R, and the spread of
                   # the two parts of log DAO (τ·cos and the density term) over the pairs
                   "score_pearson_cosine_vs_ida_r": float(np.corrcoef(s_c, s_r)[0, 1]),
                   "std_tau_cosine": float(np.std(FLAGS.tau * s_c)),
                   "std_density_term": float(np.std(s_r - FLAGS.tau * s_c))}}
    print(json.dumps(out["ssr"]), flush=True)
    if FLAGS.bootstrap:  # IDA-R (celeba-disjoint anchors) against cosine on resamples of the same pairs
        boot = paired_bootstrap_tar(s_c, s_r, pairs.same, replicates=FLAGS.bootstrap)
        out["bootstrap"] = {"replicates": FLAGS.bootstrap, "tar_at_far": {
            far: {"cosine": b["reference"], "ida_r": b["other"], "difference": b["difference"], "ci95": b["ci95"]}
            for far, b in boot.items()}}
        print(json.dumps(out["bootstrap"]), flush=True)
    if FLAGS.model is not None:  # the k / τ sweep of Figs. 6–7 with the celeba-disjoint anchors
        from tfface.export.saved_model import load_embedder
        from tfface.scoring.protocols import sweep

        embed, size = load_embedder(FLAGS.model)
        stem = pathlib.Path(FLAGS.out).with_suffix("")
        rep = sweep(embed, size, str(data / "celeba" / "pairs.csv"), str(data / "celeba"), anchors,
                    str(stem.parent), ks=(1, 5, 10, 50, 100, 500))
        for ext in ("json", "png"):
            (stem.parent / f"ida_sweep.{ext}").rename(f"{stem}_sweep.{ext}")
        out["sweep"] = {k: rep[k] for k in ("over_k", "over_tau")}
    path = pathlib.Path(FLAGS.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    app.run(main)
