"""DDL training program (Huang et al., ECCV 2020, Sec. 3).

``--method=ddl`` fine-tunes a backbone and margin head (optionally initialised from a standard run's
checkpoint, ``--init_checkpoint``) with L = L_DDL + L_ArcFace (Eq. 8): the head's loss on a normal
classification batch plus the distribution distillation loss over the teacher and student partitions.
Its evaluation (Sec. 4, ``--protocol=easy_hard``) is in :mod:`tfface.methods.ddl_eval`.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

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
from tfface.registry import Method, register_method
from tfface.runtime.model import build_model, build_optimizer, init_from, restore_backbone
from tfface.runtime.program import TEMPLATE_SECTIONS, Built, Program
from tfface.runtime.run import PRINT, Run, random_access_source
from tfface.settings import NON_NEGATIVE, POSITIVE, Limit, RunConfig, Section, at_least, section, setting
from tfface.training.tasks import Task
from tfface.training.terms import HeadTerm, StepState


@section("ddl", prefix="ddl_")
class DDLSettings(Section):
    """DDL (Huang et al. 2020): partitions, pair sampling and the loss of Eqs. 3–8."""

    attribute: str = setting("", "DDL: per-image attribute column defining easy/hard partitions (e.g. light_azimuth, "
                             "yaw, resolution).")
    use_abs: bool = setting(True, "DDL: compare |attribute| with the ranges.", flag="ddl_abs")
    ranges: tuple[str, ...] = setting((), "DDL: lo:hi ranges of the attribute, teacher first, then one per student "
                                      "(e.g. 0:25,60:90,90:130).")
    partition_lists: tuple[str, ...] = setting((), "DDL: instead of ranges, CSV files with a path column, teacher "
                                               "first.")
    pairs_per_replica: int = setting(8, "DDL: b, positive pairs (and distinct identities) per partition and replica; "
                                     "a replica sees 3b(K+1) DDL images plus its classification batch.",
                                     limit=at_least(1))
    pairs_per_identity: int = setting(20, "DDL: offline positive pairs kept per identity and partition.",
                                      limit=at_least(1))
    weight: float = setting(1.0, "DDL: weight of L_DDL next to the head loss (Eq. 8).", limit=NON_NEGATIVE)
    bins: int = setting(101, "DDL: R, histogram nodes in [-1, 1] (Eq. 3); ours (the paper gives none).",
                        limit=at_least(2))
    gamma: float = setting(50.0, "DDL: γ of the Gaussian kernel (Eq. 4), σ = 1/√(2γ). Ours (the paper gives none): "
                           "50, σ = 0.1 as in TFace.", limit=POSITIVE)
    lambda_pos: float = setting(0.1, "DDL: λ1, KL weight of positive pairs (Eq. 5).", limit=NON_NEGATIVE)
    lambda_neg: float = setting(0.02, "DDL: λ2, KL weight of negative pairs (Eq. 5).", limit=NON_NEGATIVE)
    lambda_order: float = setting(0.5, "DDL: λ3, order loss weight (Eq. 6).", limit=NON_NEGATIVE)
    outlier: float = setting(0.0, "DDL: positive pairs with a cosine below this are dropped as outliers.",
                             limit=Limit(-1, 1))
    distance: str = setting("kl", "DDL: distribution distance (ablation).", choices=("kl", "js", "emd"))
    terms: str = setting("both", "DDL: which terms (ablation).", choices=("both", "kl_only", "order_only"))
    negatives: str = setting("hard", "DDL: hard-mined or random negatives (ablation).", choices=("hard", "random"))
    detach_teacher: bool = setting(False, "DDL: stop gradients through the teacher histograms.")

    def unread(self, cfg) -> dict[str, str]:
        out = {}
        if self.partition_lists:
            out.update({f: "`ddl_partition_lists` gives the partitions" for f in ("ddl_attribute", "ddl_abs",
                                                                                   "ddl_ranges")})
        if self.terms == "order_only":
            out.update({f: "`ddl_terms=order_only` has no KL terms" for f in ("ddl_lambda_pos", "ddl_lambda_neg")})
        if self.terms == "kl_only":
            out["ddl_lambda_order"] = "`ddl_terms=kl_only` has no order term"
        return out


def ddl_params(cfg: RunConfig) -> DDLParams:
    return DDLParams(cfg.ddl.bins, cfg.ddl.gamma, cfg.ddl.lambda_pos, cfg.ddl.lambda_neg, cfg.ddl.lambda_order,
                     cfg.ddl.outlier, cfg.ddl.distance, cfg.ddl.terms, cfg.ddl.negatives, cfg.ddl.detach_teacher)


class DDLTask(Task):
    """One backbone pass over the classification batch and every partition's pair and identity images;
    the margin head's term on the classification batch (its global mean) + DDL over the global batch (Eq. 8)."""

    def __init__(self, backbone, head, global_batch: int, params: DDLParams, weight: float = 1.0,
                 scale_warmup_steps: int = 0):
        super().__init__({"backbone": backbone, "head": head}, global_batch)
        self.backbone, self.params, self.weight = backbone, params, weight
        self.head = HeadTerm(head, scale_warmup_steps)

    def loss(self, batch, step):
        (images, labels), parts = batch
        chunks = [images] + [x for pair_img, _, neg_img, _ in parts for x in (pair_img, neg_img)]
        emb = tf.cast(self.backbone(tf.concat(chunks, 0), training=True), tf.float32)
        pieces = tf.split(emb, [tf.shape(c)[0] for c in chunks], 0)
        head_loss, head_metrics = self.head.value(StepState(pieces[0], labels, step, self.global_batch))
        emb_parts = [(pieces[1 + 2 * k], pieces[2 + 2 * k], part[3]) for k, part in enumerate(parts)]
        distill, metrics = ddl_loss(emb_parts, self.params, step)
        return head_loss + self.weight * distill, {"ce": head_metrics["ce"], "ddl": distill,
                                                   "acc": head_metrics["acc"], **metrics}


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


class DDLProgram(Program):
    """Fine-tune with L_DDL + the head's loss (Eq. 8) on a batch of the training data and the partitions'
    pairs."""

    def build(self, run: Run, printer=PRINT) -> Built:
        cfg, strategy = run.cfg, run.strategy
        source = random_access_source(run.data, "`method=ddl`")
        parts = partitions_of(cfg, source)
        pairs = offline_pairs(cfg, source, parts, run.chief)
        for part, p in zip(parts, pairs):
            printer(f"DDL {part.name}: {len(part.indices)} images, "
                    f"{len(np.unique(source.labels[part.indices]))} identities, {len(p)} positive pairs")
        with strategy.scope():
            backbone, head = build_model(cfg, source.num_classes, strategy.num_replicas_in_sync)
            if cfg.init.checkpoint:
                init_from(cfg.init.checkpoint, backbone, head, source.num_classes, printer)
            optimizer = build_optimizer(cfg)
            task = DDLTask(backbone, head, cfg.loop.batch_size, ddl_params(cfg), cfg.ddl.weight,
                           cfg.head.scale_warmup_steps)
        input_cfg, b = train_input(cfg), cfg.ddl.pairs_per_replica
        info = {"method": "ddl", "backbone": cfg.model.backbone, "embedding_size": cfg.model.embedding_size,
                "head": cfg.head.kind}
        return Built(backbone, info, task, optimizer,
                     lambda start, ctx: ddl_dataset(source, parts, pairs, input_cfg, b, start, ctx))


register_method(Method(
    "ddl", DDLProgram().train, restore_backbone,
    reads=(*TEMPLATE_SECTIONS, "model", "head", "init", "optim", "ddl"),
    note="DDL trains its margin head with the DDL term; use `method=standard` for metric losses, DiscFace and SFT"))
