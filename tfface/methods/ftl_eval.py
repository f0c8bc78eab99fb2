"""FTL evaluation and visualisation (Yin et al. 2019, Secs. 4.3, 4.4 and 4.6).

- :func:`nn_report`: nearest-neighbour protocol — centres of the training images' features as the
  gallery, held-out images of the same classes as probes; rank-1 for regular and UR classes, on the
  rich feature g and the identity feature f; plus the one-shot measure (coverage at precision 0.99
  with the classifier's softmax confidence).
- :func:`visualize`: decoded class centres, transfer between two classes (Fig. 7) and the three
  interpolations of Fig. 8, as PNG grids.
"""

from __future__ import annotations

import json
import os

import numpy as np
import tensorflow as tf

from tfface.data.build import training_source
from tfface.data.sources import Source, from_list_file
from tfface.errors import ConfigError
from tfface.evaluation.identification import centre_rank1
from tfface.methods.ftl import compute_stats, regular_classes, restore_ftl
from tfface.registry import Protocol, register_protocol
from tfface.settings import RunConfig
from tfface.transforms.ftl import encode_all


def restore_ftl_run(workdir: str) -> tuple[RunConfig, dict, Source]:
    """(cfg, modules, training source) of an FTL workdir's latest checkpoint."""
    cfg, modules, _ = restore_ftl(workdir)
    source, _ = training_source(cfg, log=lambda s: None)
    return cfg, modules, source


def coverage_at_precision(confidence: np.ndarray, correct: np.ndarray, precision: float = 0.99) -> float:
    """Largest share of probes, taken by decreasing confidence, whose accuracy is still ≥ ``precision``."""
    order = np.argsort(-np.asarray(confidence), kind="stable")
    hits = np.cumsum(np.asarray(correct, float)[order])
    prec = hits / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(prec >= precision)
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


def features(modules: dict, paths, image_size: int, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(g, f) of images: rich feature (flip-averaged) and identity feature R(g)."""
    g, g_flip = encode_all(tf.distribute.get_strategy(), modules["encoder"], paths, image_size, batch)
    g = (g + g_flip) / 2
    f = np.concatenate([modules["filter"](g[i:i + batch], training=False).numpy() for i in range(0, len(g), batch)])
    return g, f


def nn_report(modules: dict, source: Source, probes: Source, regular: np.ndarray, image_size: int) -> dict:
    """Rank-1 of held-out probes against training-class centres, per regular/UR and per feature, and
    the one-shot coverage at precision 0.99 (softmax confidence of FC on f)."""
    if probes.class_names != source.class_names:
        probes = _relabel(probes, source)
    g_train, f_train = features(modules, source.paths, image_size)
    g_probe, f_probe = features(modules, probes.paths, image_size)
    reg = regular[probes.labels]
    out = {"probes": int(len(probes)), "regular_probes": int(reg.sum()), "ur_probes": int((~reg).sum())}
    for name, tr, pr in (("g", g_train, g_probe), ("f", f_train, f_probe)):
        hit = centre_rank1(tr, source.labels, pr, probes.labels, source.num_classes)
        out[f"rank1_{name}"] = {"regular": _mean(hit[reg]), "ur": _mean(hit[~reg]), "all": _mean(hit)}
    logits = modules["head"].inference_logits(tf.constant(f_probe)).numpy()
    prob = tf.nn.softmax(logits).numpy()
    correct = prob.argmax(1) == probes.labels
    out["classifier"] = {"regular": _mean(correct[reg]), "ur": _mean(correct[~reg]),
                         "coverage_at_p99": coverage_at_precision(prob.max(1), correct),
                         "coverage_at_p99_ur": coverage_at_precision(prob.max(1)[~reg], correct[~reg])}
    return out


def _mean(x: np.ndarray) -> float | None:
    return float(np.mean(x)) if len(x) else None


def _relabel(probes: Source, source: Source) -> Source:
    """Probes with the training source's label ids (probe identities must be training classes)."""
    index = {n: i for i, n in enumerate(source.class_names)}
    names = [probes.class_names[y] for y in probes.labels]
    unknown = sorted({n for n in names if n not in index})
    if unknown:
        raise ConfigError(f"`eval_list`: identities not in the training set, e.g. {unknown[0]!r}; the nearest-"
                          "neighbour protocol probes held-out images of training classes.")
    labels = np.array([index[n] for n in names])
    order = np.argsort(labels, kind="stable")
    return Source(probes.paths[order], labels[order], source.class_names, {}, probes.origin)


def visualize(modules: dict, source: Source, regular: np.ndarray, stats, image_size: int, out_dir: str,
              classes: int = 8, steps: int = 7, seed: int = 0) -> list[str]:
    """PNG grids: decoded centres of regular and UR classes; transfer of regular samples to UR centres
    (Fig. 7); interpolations plain g₁ + α(g₂ − g₁), non-identity c₁ + αQQᵀ(g₂ − c₂) and identity
    g₁ + α(c₂ − c₁) (Fig. 8). Returns the written paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    dec = modules["decoder"]

    def decode(g):
        return np.clip(dec(tf.constant(np.asarray(g, np.float32)), training=False).numpy(), 0, 1)

    def grid(rows: list[np.ndarray], titles: list[str], path: str, col_titles=None) -> str:
        n = max(len(r) for r in rows)
        fig, ax = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.4 * len(rows)), squeeze=False)
        for i, row in enumerate(rows):
            for j in range(n):
                ax[i, j].axis("off")
                if j < len(row):
                    ax[i, j].imshow(row[j])
            ax[i, 0].set_title(titles[i], fontsize=7, loc="left")
        if col_titles:  # under the bottom row, so they never collide with the row titles
            for j, t in enumerate(col_titles):
                ax[-1, j].text(0.5, -0.12, t, transform=ax[-1, j].transAxes, ha="center", va="top", fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    os.makedirs(out_dir, exist_ok=True)
    reg_ids, ur_ids = np.flatnonzero(regular), np.flatnonzero(~regular)
    pick_r = rng.choice(reg_ids, min(classes, len(reg_ids)), replace=False)
    pick_u = rng.choice(ur_ids, min(classes, len(ur_ids)), replace=False)
    c, proj = stats.centres, stats.projection
    written = [grid([decode(c[pick_r]), decode(c[pick_u])], ["regular class centres", "UR class centres"],
                    os.path.join(out_dir, "ftl_centres.png"))]
    g_all, _ = encode_all(tf.distribute.get_strategy(), modules["encoder"], source.paths, image_size)
    j = pick_r[0]
    donors = rng.choice(np.flatnonzero(source.labels == j), min(classes, int((source.labels == j).sum())), False)
    rows, titles = [decode(g_all[donors])], [f"regular class {source.class_names[j]}: samples g_j"]
    for i in pick_u[:3]:
        rows.append(decode(c[i] + (g_all[donors] - c[j]) @ proj))
        titles.append(f"transferred to UR class {source.class_names[i]}: c_i + QQᵀ(g_j − c_j)")
    written.append(grid(rows, titles, os.path.join(out_dir, "ftl_transfer.png")))
    a, b = rng.choice(len(source), 2, replace=False)
    g1, g2, c1, c2 = g_all[a], g_all[b], c[source.labels[a]], c[source.labels[b]]
    alphas = np.linspace(0, 1, steps)[:, None]
    rows = [decode(g1 + alphas * (g2 - g1)), decode(c1 + alphas * ((g2 - c2) @ proj)), decode(g1 + alphas * (c2 - c1))]
    written.append(grid(rows, ["plain g₁ + α(g₂ − g₁)", "non-identity c₁ + αQQᵀ(g₂ − c₂)", "identity g₁ + α(c₂ − c₁)"],
                        os.path.join(out_dir, "ftl_interpolation.png"), [f"α={x:.2f}" for x in alphas[:, 0]]))
    return written


def run_ftl_protocol(protocol: str, workdir: str, out_dir: str, eval_list: str | None = None,
                     eval_root: str | None = None) -> dict:
    """``ftl_nn`` (needs a list of held-out images of training classes) or ``ftl_visualize`` on an FTL
    workdir; writes ``<protocol>.json`` (and the PNG grids) to ``out_dir``."""
    cfg, modules, source = restore_ftl_run(workdir)
    regular = regular_classes(source.class_counts, cfg.ftl.ur_max_images)
    os.makedirs(out_dir, exist_ok=True)
    if protocol == "ftl_nn":
        if not eval_list:
            raise ConfigError("`protocol=ftl_nn` needs `eval_list=<csv path,identity of held-out images of the "
                              "training classes>`.")
        probes = from_list_file(eval_list, eval_root)
        probes.check_files_exist()
        report = nn_report(modules, source, probes, regular, cfg.data.image_size)
    elif protocol == "ftl_visualize":
        stats = compute_stats(tf.distribute.get_strategy(), modules, source, regular, cfg)
        report = {"images": visualize(modules, source, regular, stats, cfg.data.image_size, out_dir, seed=cfg.seed)}
    else:
        raise ValueError(f"`protocol={protocol!r}` is not an FTL protocol")
    report = {"protocol": protocol, "checkpoint": workdir, **report}
    with open(os.path.join(out_dir, f"{protocol}.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report


for _name, _reads in (("ftl_nn", ("eval_list",)), ("ftl_visualize", ())):
    register_protocol(Protocol(
        _name, lambda cfg, score: run_ftl_protocol(cfg.protocol, cfg.checkpoint, cfg.out_dir(), cfg.eval_list,
                                                   cfg.eval.root),
        needs="checkpoint", reads=_reads))
