"""The backbone + margin head most programs train: building it, starting it from an earlier run (--init_checkpoint)
and restoring it from a workdir (for export, diagnostics and IDA anchors)."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from tfface.data.build import training_data
from tfface.errors import ConfigError, DataError
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


def restore_model(workdir: str, extra_parts: Callable[[RunConfig], dict] | None = None):
    """(cfg, backbone, head, extra parts, checkpoint path) of the latest checkpoint of a workdir that trained a
    backbone and a margin head (``method=standard``, ``ddl``, or any method checkpointing ``backbone`` and
    ``head``); ``extra_parts(cfg)`` names more parts the checkpoint holds (e.g. DiscFace's bases). A clear error
    when the checkpoint does not hold them (e.g. an FTL run)."""
    cfg, num_classes, latest = read_workdir(workdir)
    backbone, head = build_model(cfg, num_classes)
    extras = extra_parts(cfg) if extra_parts else {}
    parts = {"backbone": backbone, "head": head, **{k: v for k, v in extras.items() if v is not None}}
    try:
        tf.train.Checkpoint(**parts).restore(latest).assert_existing_objects_matched().expect_partial()
    except (AssertionError, ValueError) as err:  # missing objects, or shapes that differ
        raise ConfigError(f"{workdir} (`method={cfg.method}`) holds no backbone + margin head matching its "
                          f"config.json: {str(err).splitlines()[0][:200]}") from None
    return cfg, backbone, head, extras, latest


def restore_backbone(workdir: str):
    """(backbone, export info) of a backbone + head workdir's latest checkpoint."""
    cfg, backbone, _, _, latest = restore_model(workdir)
    return backbone, {"backbone": cfg.model.backbone, "checkpoint": latest}


def head_anchors(workdir: str) -> tuple[np.ndarray, np.ndarray | None]:
    """IDA anchors from a trained margin head: its class-weight vectors (one per training class), with the
    training classes' names when the training data can be listed (None for TFRecord input)."""
    cfg, _, head, _, _ = restore_model(workdir)
    w = head.kernel.numpy().T
    source = training_data(cfg, log=lambda s: None).source
    names = None if source is None else np.asarray(source.class_names, dtype=str)
    if names is not None and len(names) != len(w):
        raise DataError(f"`ida_anchors=head`: {workdir} has {len(w)} classes but its training data now lists "
                        f"{len(names)} identities; the class names cannot be matched.")
    return w.astype(np.float32), names
