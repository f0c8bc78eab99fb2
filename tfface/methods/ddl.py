"""DDL training program (Huang et al., ECCV 2020, Sec. 3).

``--method=ddl`` fine-tunes a backbone and margin head (optionally initialised from a standard run's
checkpoint, ``--init_checkpoint``) with L = L_DDL + L_ArcFace (Eq. 8): the head's loss on a normal
classification batch plus the distribution distillation loss over the teacher and student partitions.
Its evaluation (Sec. 4, ``--protocol=easy_hard``) is in :mod:`tfface.methods.ddl_eval`.
"""

from __future__ import annotations

import os
import time

import numpy as np
import tensorflow as tf

from tfface.config import RunConfig
from tfface.data.build import train_input
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
from tfface.losses.ddl import DDLParams, ddl_loss
from tfface.methods.standard import restore_backbone
from tfface.registry import Method, register_method
from tfface.runtime.model import build_model, build_optimizer, init_from
from tfface.runtime.run import PRINT, finish_run, make_trainer, random_access_source, start_run
from tfface.training.tasks import Task
from tfface.training.terms import head_cross_entropy


def ddl_params(cfg: RunConfig) -> DDLParams:
    return DDLParams(cfg.ddl.bins, cfg.ddl.gamma, cfg.ddl.lambda_pos, cfg.ddl.lambda_neg, cfg.ddl.lambda_order,
                     cfg.ddl.outlier, cfg.ddl.distance, cfg.ddl.terms, cfg.ddl.negatives, cfg.ddl.detach_teacher)


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
    if cfg.ddl.partition_lists:
        parts = list_partitions(source, list(cfg.ddl.partition_lists), cfg.data.root)
    else:
        if not cfg.ddl.attribute or len(cfg.ddl.ranges) < 2:
            raise ConfigError("`method=ddl` needs `ddl_attribute` and `ddl_ranges=teacher,student[,student…]` "
                              "(e.g. `ddl_attribute=yaw` `ddl_ranges=0:20,40:90`), or `ddl_partition_lists`.")
        ranges = [parse_range(r, "`ddl_ranges`") for r in cfg.ddl.ranges]
        parts = attribute_partitions(source, cfg.ddl.attribute, ranges, cfg.ddl.use_abs)
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
        pairs = positive_pairs(source.labels, part.indices, cfg.ddl.pairs_per_identity, cfg.seed + k)
        if chief:
            save_pairs(path, source, pairs)
        out.append(pairs)
    return out


def train_ddl(cfg: RunConfig, printer=PRINT) -> dict:
    """Fine-tune with L_DDL + head loss (Eq. 8), export and evaluate verification."""
    run = start_run(cfg, printer)
    cfg, strategy, data = run.cfg, run.strategy, run.data
    source = random_access_source(data, "`method=ddl`")
    parts = partitions_of(cfg, source)
    pairs = offline_pairs(cfg, source, parts, run.chief)
    for part, p in zip(parts, pairs):
        printer(f"DDL {part.name}: {len(part.indices)} images, "
                f"{len(np.unique(source.labels[part.indices]))} identities, {len(p)} positive pairs")
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        backbone, head = build_model(cfg, source.num_classes, replicas)
        if cfg.model.init_checkpoint:
            init_from(cfg.model.init_checkpoint, backbone, head, source.num_classes, printer)
        optimizer = build_optimizer(cfg)
        task = DDLTask(backbone, head, cfg.optim.batch_size, ddl_params(cfg), cfg.ddl.weight)
    input_cfg = train_input(cfg)
    b = cfg.ddl.pairs_per_replica
    trainer = make_trainer(run, task, optimizer, lambda x: backbone(x, training=False), printer)
    t0 = time.time()
    trainer.fit(lambda start, ctx: ddl_dataset(source, parts, pairs, input_cfg, b, start, ctx))
    printer(f"training took {time.time() - t0:.0f} s")
    return finish_run(run, backbone, {"method": "ddl", "backbone": cfg.model.backbone,
                                      "embedding_size": cfg.model.embedding_size, "head": cfg.model.head}, printer)


register_method(Method("ddl", train_ddl, restore_backbone))
