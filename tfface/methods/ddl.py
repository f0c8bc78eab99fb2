"""DDL training program and easy/hard evaluation (Huang et al., ECCV 2020, Secs. 3–4).

``--method=ddl`` fine-tunes a backbone and margin head (optionally initialised from a standard run's
checkpoint, ``--init_checkpoint``) with L = L_DDL + L_ArcFace (Eq. 8): the head's loss on a normal
classification batch plus the distribution distillation loss over the teacher and student partitions.
``easy_hard_report`` is the evaluation of Sec. 4: identification with an easy gallery and hard probes,
per student partition, and the similarity-distribution statistics of Fig. 6.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import tensorflow as tf

from tfface.config import RunConfig
from tfface.data import pipeline
from tfface.data.ddl_sampling import (
    attribute_partitions,
    ddl_dataset,
    list_partitions,
    load_pairs,
    parse_range,
    positive_pairs,
    save_pairs,
)
from tfface.errors import ConfigError
from tfface.evaluation import distribution, identification
from tfface.losses.ddl import DDLParams, ddl_loss
from tfface.methods.standard import restore_backbone
from tfface.registry import ListProtocol, Method, register_list_protocol, register_method
from tfface.runtime.model import build_model, build_optimizer, init_from
from tfface.runtime.run import PRINT, finish_run, make_trainer, random_access_source, start_run
from tfface.training.tasks import Task
from tfface.training.terms import head_cross_entropy


def ddl_params(cfg: RunConfig) -> DDLParams:
    return DDLParams(cfg.ddl_bins, cfg.ddl_gamma, cfg.ddl_lambda_pos, cfg.ddl_lambda_neg, cfg.ddl_lambda_order,
                     cfg.ddl_outlier, cfg.ddl_distance, cfg.ddl_terms, cfg.ddl_negatives, cfg.ddl_detach_teacher)


class DDLTask(Task):
    """One backbone pass over the classification batch and every partition's pair and identity images;
    head loss on the classification batch (its global mean) + DDL over the global batch (Eq. 8)."""

    def __init__(self, backbone, head, global_batch: int, params: DDLParams, weight: float = 1.0):
        super().__init__({"backbone": backbone, "head": head}, global_batch)
        self.backbone, self.head, self.params, self.weight = backbone, head, params, weight

    def loss(self, batch, step):
        (images, labels), parts = batch
        chunks = [images] + [x for pair_img, _, neg_img, _ in parts for x in (pair_img, neg_img)]
        emb = tf.cast(self.backbone(tf.concat(chunks, 0), training=True), tf.float32)
        pieces = tf.split(emb, [tf.shape(c)[0] for c in chunks], 0)
        ce, acc = head_cross_entropy(self.head, pieces[0], labels)
        gb = float(self.global_batch)
        head_loss = tf.reduce_sum(ce + self.head.regularization(pieces[0])) / gb
        emb_parts = [(pieces[1 + 2 * k], pieces[2 + 2 * k], part[3]) for k, part in enumerate(parts)]
        distill, metrics = ddl_loss(emb_parts, self.params, step)
        return head_loss + self.weight * distill, {"ce": tf.reduce_sum(ce) / gb, "ddl": distill,
                                                   "acc": tf.reduce_sum(acc) / gb, **metrics}


def partitions_of(cfg: RunConfig, source):
    """The teacher and student partitions the flags describe (attribute ranges or list files)."""
    if cfg.ddl_partition_lists:
        parts = list_partitions(source, list(cfg.ddl_partition_lists), cfg.data_root)
    else:
        if not cfg.ddl_attribute or len(cfg.ddl_ranges) < 2:
            raise ConfigError("--method=ddl needs --ddl_attribute and --ddl_ranges=teacher,student[,student…] "
                              "(e.g. --ddl_attribute=yaw --ddl_ranges=0:20,40:90), or --ddl_partition_lists.")
        ranges = [parse_range(r, "--ddl_ranges") for r in cfg.ddl_ranges]
        parts = attribute_partitions(source, cfg.ddl_attribute, ranges, cfg.ddl_abs)
    if len(parts) < 2:
        raise ConfigError("DDL needs a teacher and at least one student partition.")
    return parts


def offline_pairs(cfg: RunConfig, source, parts, chief: bool) -> list[np.ndarray]:
    """Positive pairs per partition, built once and kept in the workdir (``ddl_pairs_<name>.csv``)."""
    out = []
    for k, part in enumerate(parts):
        path = os.path.join(cfg.workdir, f"ddl_pairs_{part.name}.csv")
        if os.path.isfile(path):
            out.append(load_pairs(path, source))
            continue
        pairs = positive_pairs(source.labels, part.indices, cfg.ddl_pairs_per_identity, cfg.seed + k)
        if chief:
            save_pairs(path, source, pairs)
        out.append(pairs)
    return out


def train_ddl(cfg: RunConfig, printer=PRINT) -> dict:
    """Fine-tune with L_DDL + head loss (Eq. 8), export and evaluate verification."""
    run = start_run(cfg, printer)
    cfg, strategy, data = run.cfg, run.strategy, run.data
    source = random_access_source(data, "--method=ddl")
    parts = partitions_of(cfg, source)
    pairs = offline_pairs(cfg, source, parts, run.chief)
    for part, p in zip(parts, pairs):
        printer(f"DDL {part.name}: {len(part.indices)} images, "
                f"{len(np.unique(source.labels[part.indices]))} identities, {len(p)} positive pairs")
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        backbone, head = build_model(cfg, source.num_classes, replicas)
        if cfg.init_checkpoint:
            init_from(cfg.init_checkpoint, backbone, head, source.num_classes, printer)
        optimizer = build_optimizer(cfg)
        task = DDLTask(backbone, head, cfg.batch_size, ddl_params(cfg), cfg.ddl_weight)
    input_cfg = pipeline.TrainInput(cfg.batch_size, cfg.image_size, cfg.sampler, cfg.pk_k, cfg.pk_strict,
                                    cfg.flip, cfg.seed)
    b = cfg.ddl_pairs_per_replica
    trainer = make_trainer(run, task, optimizer, lambda x: backbone(x, training=False), printer)
    t0 = time.time()
    trainer.fit(lambda start, ctx: ddl_dataset(source, parts, pairs, input_cfg, b, start, ctx))
    printer(f"training took {time.time() - t0:.0f} s")
    return finish_run(run, backbone, {"method": "ddl", "backbone": cfg.backbone,
                                      "embedding_size": cfg.embedding_size, "head": cfg.head}, printer)


@dataclasses.dataclass(frozen=True)
class EasyHardSplit:
    gallery: np.ndarray  # one easy image per identity
    probes: list[np.ndarray]  # per student partition: its images of gallery identities
    easy: np.ndarray  # all easy images


def easy_hard_split(labels: np.ndarray, values: np.ndarray, ranges: list[tuple[float, float]],
                    use_abs: bool = True) -> EasyHardSplit:
    """Gallery = the first easy (teacher-range) image of each identity; probes = each student range's
    images of identities in the gallery (the SCface protocol: HR gallery, LR probes per distance)."""
    v = np.abs(values) if use_abs else values
    inside = [(v >= lo) & (v <= hi) for lo, hi in ranges]
    easy = np.flatnonzero(inside[0])
    _, first = np.unique(labels[easy], return_index=True)
    gallery = easy[first]
    known = np.isin(labels, labels[gallery])
    probes = [np.flatnonzero(m & known) for m in inside[1:]]
    return EasyHardSplit(gallery, probes, easy)


def easy_hard_report(emb: np.ndarray, labels: np.ndarray, split: EasyHardSplit, bins: int = 100) -> dict:
    """Rank-1 of each student partition's probes against the easy gallery (and of the remaining easy images,
    the easy/hard gap's reference; None when the gallery holds every easy image), and for the easy set and each
    hard set the positive/negative similarity distributions (expectation margin, intersection; Fig. 6)."""
    out = {"gallery": int(len(split.gallery)), "students": [], "easy_rank1": None}
    easy_probes = np.setdiff1d(split.easy, split.gallery)
    if len(easy_probes):
        curve = identification.cmc(emb[split.gallery], labels[split.gallery], emb[easy_probes], labels[easy_probes])
        out["easy_rank1"] = float(curve[0])
    dists = {"easy": distribution.distribution_report(emb[split.easy], labels[split.easy], bins)}
    for k, probes in enumerate(split.probes, 1):
        if len(probes) == 0:
            raise ConfigError(f"student partition {k} has no images of gallery identities in --eval_list.")
        curve = identification.cmc(emb[split.gallery], labels[split.gallery], emb[probes], labels[probes])
        out["students"].append({"partition": k, "probes": int(len(probes)), "rank1": float(curve[0]),
                                "rank5": float(curve[min(4, len(curve) - 1)])})
        dists[f"student{k}"] = distribution.distribution_report(emb[probes], labels[probes], bins)
    out["distributions"] = {k: {m: d[m] for m in ("expectation_margin", "intersection", "mean_pos", "mean_neg")}
                            for k, d in dists.items()}
    out["histograms"] = {k: {"bin_edges": d["bin_edges"], "hist_pos": d["hist_pos"], "hist_neg": d["hist_neg"]}
                         for k, d in dists.items()}
    return out


def plot_easy_hard(report: dict, path: str) -> None:
    """Positive/negative similarity histograms of the easy and each hard set (cf. Fig. 6)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hists = report["histograms"]
    fig, ax = plt.subplots(1, len(hists), figsize=(4.2 * len(hists), 3.4), squeeze=False)
    for a, (name, h) in zip(ax[0], hists.items()):
        edges = np.array(h["bin_edges"])
        mid = (edges[:-1] + edges[1:]) / 2
        a.plot(mid, h["hist_pos"], label="positive")
        a.plot(mid, h["hist_neg"], label="negative")
        d = report["distributions"][name]
        margin = "n/a" if d["expectation_margin"] is None else f"{d['expectation_margin']:.3f}"
        a.set_title(f"{name}: margin {margin}, ∩ {d['intersection']:.3f}", fontsize=9)
        a.set_xlabel("cosine")
    ax[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)



def check_easy_hard(source, options: dict) -> None:
    """--easy_hard_attribute must be a column of the list and --easy_hard_ranges give easy and ≥ 1 hard range."""
    if options.get("attribute") not in source.attributes or len(options.get("ranges", ())) < 2:
        columns = ", ".join(source.attributes) or "none"
        raise ConfigError(f"--protocol=easy_hard needs --easy_hard_attribute (a column of "
                          f"{options.get('list_file', 'the list')}; it has {columns}) and "
                          "--easy_hard_ranges=easy,hard[,hard…].")


def easy_hard_protocol_report(emb: np.ndarray, labels: np.ndarray, source, out_dir: str, options: dict) -> dict:
    """``--protocol=easy_hard``: easy-gallery / hard-probe identification and distributions, ``easy_hard.png``."""
    ranges = [parse_range(r, "--easy_hard_ranges") for r in options["ranges"]]
    split = easy_hard_split(labels, np.asarray(source.attributes[options["attribute"]], float), ranges,
                            options.get("use_abs", True))
    report = easy_hard_report(emb, labels, split)
    plot_easy_hard(report, os.path.join(out_dir, "easy_hard.png"))
    return report


register_list_protocol(ListProtocol("easy_hard", easy_hard_protocol_report, check_easy_hard))

register_method(Method("ddl", train_ddl, restore_backbone, "Huang et al. 2020: head loss + distribution distillation "
                       "from easy to hard partitions (the --ddl_* flags)"))
