"""evaluate.py's IDA commands: anchors from flags, verification with --score=ida_r|ida_l, SSR training
(``--protocol=ida_ssr``), the k/τ sweep of Figs. 6–7 (``--protocol=ida_sweep``) and export with IDA
signatures (``--protocol=ida_export``)."""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

import tfface.messages as messages
from tfface.errors import ConfigError
from tfface.scoring.anchors import anchors_from_images, load_anchor_file
from tfface.scoring.ida import ida_r_log_density, log_density, topk_similarities
from tfface.scoring.score import Score


def anchor_set(spec: str, embed, image_size: int, root: str | None = None, per_identity: int = 1,
               head_anchors=None) -> tuple[np.ndarray, np.ndarray | None]:
    """--ida_anchors: ``head`` (``head_anchors()``, the class weights of the --checkpoint's head), a CSV image
    list, or a .npy/.npz file."""
    if not spec:
        raise ConfigError("IDA needs `ida_anchors=<embeddings .npy/.npz | image list .csv | head>`.")
    if spec == "head":
        if head_anchors is None:
            raise ConfigError("`ida_anchors=head` needs `checkpoint=<train.py workdir>` (its head's class weights).")
        return head_anchors()
    if spec.endswith(".csv"):
        return anchors_from_images(embed, spec, root, image_size, per_identity)
    return load_anchor_file(spec)


def load_ssr(path: str):
    import keras

    if not path or not os.path.isfile(path):
        raise ConfigError(f"`score=ida_l` needs `ida_ssr=<ssr.keras>` (written by `protocol=ida_ssr`; got {path!r}).")
    return keras.models.load_model(path)


def build_score(name: str, anchors: np.ndarray | None = None, k: int = 10, tau: float = 1.0, ssr=None,
                log=messages.info) -> Score:
    """The :class:`Score` ``--score`` names: cosine; IDA-R from ``anchors`` and ``k``; IDA-L from the ``ssr``
    model; DAO's ``tau`` for both. IDA-R warns (through ``log``) when scored images are themselves anchors:
    their support sets start at similarity 1, which lowers their density and every score with them."""
    return Score(name, density_fn(name, anchors, k, tau, ssr, log), tau)


def density_fn(score: str, anchors: np.ndarray | None, k: int, tau: float, ssr=None, log=messages.info):
    """Embeddings → log density for ``--score`` (None for cosine), see :func:`build_score`."""
    if score == "cosine":
        return None
    if score == "ida_r":
        def reference_density(emb: np.ndarray) -> np.ndarray:
            sims, _ = topk_similarities(emb, anchors, k)
            own = int(np.sum(sims[:, 0] >= 1 - 1e-5))
            if own:
                log(f"warning: {own} of the {len(emb)} images scored are themselves anchors (`ida_anchors`); their "
                    "IDA-R densities and scores are biased low. Use anchors of other images.")
            return log_density(tf.constant(sims), tau).numpy()

        return reference_density
    if score == "ida_l":
        return lambda emb: ssr.predict(emb, batch_size=4096, verbose=0)
    raise ConfigError(f"`score={score!r}`: choose cosine, ida_r or ida_l.")


def inter_class_target(emb: np.ndarray, identities, anchors: np.ndarray, anchor_identities, k: int,
                       tau: float) -> np.ndarray:
    """The SSR target (Liu et al. Eq. 6): IDA-R's log density of each embedding from its top-k anchors of
    *other* identities. Both sides' identities are names; without anchor identities, anchors that are
    images of the queries themselves (cosine ≥ 1 − 1e-5) are refused, since their identity cannot be left out."""
    if identities is not None and anchor_identities is not None:
        vocab = {n: i for i, n in enumerate(sorted(set(map(str, identities)) | set(map(str, anchor_identities))))}
        q = np.array([vocab[str(n)] for n in identities], np.int64)
        a = np.array([vocab[str(n)] for n in anchor_identities], np.int64)
        sims, _ = topk_similarities(emb, anchors, k, q, a)
        if not np.isfinite(sims).all():
            raise ConfigError(f"`ida_k={k}`: some queries have fewer than {k} anchors of other identities; "
                              "lower `ida_k` or add anchors.")
        return log_density(tf.constant(sims), tau).numpy()
    top1, _ = topk_similarities(emb, anchors, 1)
    same = int(np.sum(top1[:, 0] >= 1 - 1e-5))
    if same:
        raise ConfigError(f"`ida_anchors`: {same} of the {len(emb)} images to fit SSR on are themselves anchors, and "
                          "the anchors carry no identities, so a query's own identity cannot be left out of its "
                          "support set. Use anchors with identities (a CSV image list, an .npz with 'labels' naming "
                          "the identities, or 'head') or anchors of other identities.")
    return ida_r_log_density(emb, anchors, k, tau)


def train_ssr_protocol(embed, image_size: int, list_file: str, root: str | None, anchors, anchor_identities,
                       k: int, tau: float, steps: int, lr: float, out_dir: str, flip: bool = True) -> dict:
    """Fit SSR on the embeddings of --eval_list (a frozen model) against their inter-class IDA-R targets
    (:func:`inter_class_target`); writes ``ssr.keras`` and ``ida_ssr.json`` (held-out MSE before/after,
    correlation of the densities)."""
    from tfface.data.sources import from_list_file
    from tfface.models.embed import embed_paths
    from tfface.scoring import ssr

    src = from_list_file(list_file, root)
    src.check_files_exist()
    emb = embed_paths(embed, src.paths, image_size, flip=flip)
    identities = np.asarray(src.class_names, dtype=str)[src.labels]
    target = inter_class_target(emb, identities, anchors, anchor_identities, k, tau)
    model, report = ssr.train_ssr(emb, target, steps, lr)
    os.makedirs(out_dir, exist_ok=True)
    model.save(os.path.join(out_dir, "ssr.keras"))
    pred = model.predict(emb, batch_size=4096, verbose=0)
    report = {"protocol": "ida_ssr", "images": int(len(emb)), "k": k, "tau": tau, "steps": steps, "lr": lr,
              "exclude_own_identity": anchor_identities is not None,
              "density_pearson_all": float(np.corrcoef(pred, target)[0, 1]), **report}
    with open(os.path.join(out_dir, "ida_ssr.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report


def sweep(embed, image_size: int, pairs_file: str, root: str | None, anchors, out_dir: str,
          ks=(1, 5, 10, 50, 100, 500), taus=(0.5, 1, 2, 4, 8, 16, 32, 64), flip: bool = True) -> dict:
    """Verification accuracy and TAR@FAR of IDA-R over k (τ = 1) and over τ (k = 10), cf. Figs. 6–7; writes
    ``ida_sweep.json`` and ``ida_sweep.png``."""
    from tfface.evaluation.metrics import verification_report
    from tfface.evaluation.pairs import read_pairs
    from tfface.models.embed import embed_paths
    from tfface.scoring.ida import pair_scores

    pairs = read_pairs(pairs_file, root)
    unique, inverse = np.unique(np.concatenate([pairs.path1, pairs.path2]), return_inverse=True)
    emb = embed_paths(embed, unique, image_size, flip=flip)
    n = len(pairs.same)
    i1, i2 = inverse[:n], inverse[n:]
    kmax = min(max(ks), len(anchors))
    sims, _ = topk_similarities(emb, anchors, kmax)

    def evaluate(k, tau):
        ld = log_density(tf.constant(sims[:, :k]), tau).numpy()
        rep = verification_report(pair_scores(emb[i1], emb[i2], ld[i1], ld[i2], tau), pairs.same, pairs.folds)
        return {"k": k, "tau": tau, "accuracy": rep["accuracy"], "tar_at_far": rep["tar_at_far"]}

    cos = verification_report(pair_scores(emb[i1], emb[i2]), pairs.same, pairs.folds)
    report = {"protocol": "ida_sweep", "pairs_file": str(pairs_file), "anchors": int(len(anchors)),
              "cosine": {"accuracy": cos["accuracy"], "tar_at_far": cos["tar_at_far"]},
              "over_k": [evaluate(k, 1.0) for k in ks if k <= kmax],
              "over_tau": [evaluate(min(10, kmax), t) for t in taus]}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "ida_sweep.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    plot_sweep(report, os.path.join(out_dir, "ida_sweep.png"))
    return report


def plot_sweep(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    for a, key, label in ((ax[0], "over_k", "k (τ = 1)"), (ax[1], "over_tau", "τ (k = 10)")):
        xs = [r["k" if key == "over_k" else "tau"] for r in report[key]]
        a.semilogx(xs, [r["accuracy"] * 100 for r in report[key]], "o-", label="IDA-R")
        a.axhline(report["cosine"]["accuracy"] * 100, ls="--", c="k", label="cosine")
        a.set(xlabel=label, ylabel="10-fold accuracy (%)")
        a.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
