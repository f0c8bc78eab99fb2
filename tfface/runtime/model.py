"""The backbone + margin head most programs train, and starting it from an earlier run (--init_checkpoint)."""

from __future__ import annotations

import os

import tensorflow as tf

from tfface.errors import ConfigError
from tfface.heads.classifier import MarginHead, refuse_mlreg_on_normalised_head
from tfface.heads.sharded import ShardedMarginHead
from tfface.models.backbones import build_backbone
from tfface.runtime.verify import PRINT
from tfface.runtime.workdir import read_workdir
from tfface.settings import RunConfig, Section, section, setting
from tfface.training.optim import WarmupSchedule, make_optimizer


def build_model(cfg: RunConfig, num_classes: int, replicas: int = 1,
                sharded_over: tf.distribute.Strategy | None = None):
    """Backbone and margin head (call inside the strategy scope); the head's class weights are sharded over
    the replicas of ``sharded_over`` when it is given (:class:`ShardedMarginHead`). Batch norm is synchronised
    only when there is more than one replica (on one device it would cost ~12% for nothing)."""
    m, h = cfg.model, cfg.head
    backbone = build_backbone(m.backbone, cfg.data.image_size, m.embedding_size, m.dropout, m.sync_bn and replicas > 1)
    if sharded_over is not None:
        head = ShardedMarginHead(sharded_over, num_classes, m.embedding_size, h.kind, **h.margin_args(),
                                 sample_rate=cfg.sharding.sample_rate, seed=cfg.seed)
        return backbone, head
    head = MarginHead(num_classes, h.kind, **h.margin_args(), reg_weight=h.mlreg_weight)
    refuse_mlreg_on_normalised_head(head, f"`mlreg_weight={h.mlreg_weight}`", f"`head={h.kind}`")
    head.build((None, m.embedding_size))
    return backbone, head


@section("init")
class InitSettings(Section):
    """Where the weights start."""

    checkpoint: str | None = setting(None, "Start from this train.py workdir's latest checkpoint (the backbone; the "
                                     "head too when the classes match) or from an exported SavedModel folder (the "
                                     "backbone), e.g. an ArcFace model before DDL fine-tuning.", flag="init_checkpoint")


def init_from(workdir: str, backbone, head, num_classes: int, printer=PRINT) -> None:
    """--init_checkpoint: start from a train.py workdir's latest checkpoint — the backbone always, the head
    when its number of classes matches (else it stays freshly initialised) — or from an exported
    SavedModel folder (the backbone only; the export holds no head)."""
    if os.path.isfile(os.path.join(workdir, "saved_model.pb")):
        try:
            tf.train.Checkpoint(backbone=backbone).read(os.path.join(workdir, "variables", "variables")) \
                .assert_existing_objects_matched()
        except (ValueError, AssertionError) as err:
            raise ConfigError(f"`init_checkpoint={workdir}`: its backbone does not match this run's `backbone` / "
                              f"`embedding_size` / `image_size` ({str(err).splitlines()[0][:200]}).") from None
        printer(f"initialised backbone from the SavedModel {workdir} (head freshly initialised)")
        return
    _, classes, latest = read_workdir(workdir)
    parts = {"backbone": backbone, **({"head": head} if classes == num_classes else {})}
    tf.train.Checkpoint(**parts).restore(latest).expect_partial()
    printer(f"initialised {' and '.join(parts)} from {latest}"
            + ("" if "head" in parts else f" (head re-initialised: {classes} → {num_classes} classes)"))


def build_optimizer(cfg: RunConfig):
    """--optimizer with --lr on the --lr_schedule (after --warmup_steps), --momentum and --weight_decay
    (call inside the strategy scope)."""
    o = cfg.optim
    schedule = WarmupSchedule(o.lr, cfg.loop.steps, o.lr_schedule, o.warmup_steps, o.lr_boundaries, o.lr_factor)
    return make_optimizer(o.optimizer, schedule, o.momentum, o.weight_decay, cfg.mixed_precision)
