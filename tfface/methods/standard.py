"""The standard program (``--method=standard``): backbone + margin head and/or metric losses, with the
DiscFace term and SFT's feature augmentation as options, trained, exported and evaluated."""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf

from tfface.data.build import training_data
from tfface.errors import ConfigError, DataError
from tfface.heads.sharded import ShardedMarginHead
from tfface.losses.center import CenterLoss
from tfface.losses.discface import DiscFaceTerm
from tfface.losses.registry import METRIC_LOSSES, metric_loss, parse_weighted
from tfface.methods.discface import DiscFaceLoss
from tfface.methods.sft import FeatureAugmenter, GeneratedLoss
from tfface.registry import Method, register_method
from tfface.runtime.model import build_model, build_optimizer, init_from
from tfface.runtime.run import PRINT, finish_run, make_trainer, start_run
from tfface.runtime.workdir import read_workdir
from tfface.settings import RunConfig
from tfface.training.sharded_head_term import ShardedHeadTerm
from tfface.training.tasks import EmbeddingTask
from tfface.training.terms import CenterTerm, HeadTerm, LossTerm, MetricLossTerm


def loss_plan(cfg: RunConfig) -> tuple[bool, list[tuple[str, float]], float]:
    """(use the margin head?, [(metric loss, weight)], centre-loss weight) from --loss and --aux_loss."""
    main = cfg.loss.split("+")
    use_head = "softmax" in main or "head" in main
    metrics = [(m, 1.0) for m in main if m not in ("softmax", "head")]
    center = 0.0
    for name, weight in parse_weighted(cfg.aux_loss, "`aux_loss`"):
        if name == "center":
            center = weight
        elif name in ("softmax", "head"):
            raise ConfigError("`aux_loss`: the margin head is part of `loss` (e.g. `loss=triplet+head`).")
        else:
            metrics.append((name, weight))
    if cfg.discface.weight and not use_head:
        raise ConfigError("`discface_lambda` needs the margin head: use `loss=softmax` or `loss=<metric>+head`.")
    for name, _ in metrics:
        if name not in METRIC_LOSSES:
            raise ConfigError(f"`loss`/`aux_loss`: {name!r} is unknown; choose softmax, head, center or one of "
                              f"{', '.join(METRIC_LOSSES)}.")
    return use_head, metrics, center


def loss_terms(cfg: RunConfig, head, num_classes: int, class_counts=None) -> list[LossTerm]:
    """The loss terms --loss, --aux_loss and the method flags describe, in the order they are summed: head,
    DiscFace, metric losses, centre loss, SFT's generated loss (call inside the strategy scope).
    ``class_counts`` (images per class) is needed by --sft_scheme=unbalanced."""
    use_head, metrics, center_weight = loss_plan(cfg)
    kind = ShardedHeadTerm if isinstance(head, ShardedMarginHead) else HeadTerm
    head_term = kind(head, cfg.head.scale_warmup_steps) if use_head else None
    metric_terms = [MetricLossTerm(name, weight, metric_loss(name, cfg.metric)) for name, weight in metrics]
    terms = [] if head_term is None else [head_term]
    bases = discface_term(cfg)
    if bases is not None:
        terms.append(DiscFaceLoss(bases, head, cfg.discface.weight))
    terms += metric_terms
    if center_weight:
        terms.append(CenterTerm(CenterLoss(num_classes, cfg.model.embedding_size, cfg.center_alpha), center_weight))
    augment = feature_augmenter(cfg, num_classes, class_counts)
    if augment is not None:
        terms.append(GeneratedLoss(augment, cfg.sft.weight, head_term, metric_terms))
    return terms


def head_sharding_obstacle(cfg: RunConfig) -> str | None:
    """Why this standard run's margin head cannot be sharded over the replicas (None if it can)."""
    if not loss_plan(cfg)[0]:
        return f"`loss={cfg.loss}` has no margin head"
    if cfg.discface.weight:
        return "`discface_lambda` reads the class weights of the batch's labels, which live on other replicas"
    if cfg.sft.transform != "none":
        return "`feature_transform` (SFT) scores generated features per sample on the whole head"
    return None


def build_task(cfg: RunConfig, backbone, head, num_classes: int, class_counts=None) -> EmbeddingTask:
    """The training task: the backbone and :func:`loss_terms` (call inside the strategy scope)."""
    return EmbeddingTask(backbone, cfg.loop.batch_size, loss_terms(cfg, head, num_classes, class_counts))


def feature_augmenter(cfg: RunConfig, num_classes: int, class_counts=None) -> FeatureAugmenter | None:
    """The SFT feature augmenter --feature_transform asks for (None for none)."""
    if cfg.sft.transform == "none":
        return None
    if cfg.sft.scheme == "unbalanced" and class_counts is None:
        raise ConfigError("`sft_scheme=unbalanced` needs the images per class of the training data.")
    if cfg.sft.targets not in ("auto", "sample", "identity"):
        raise ConfigError(f"`sft_targets={cfg.sft.targets!r}`: choose auto, sample or identity.")
    per_identity = cfg.sft.targets == "identity" or (cfg.sft.targets == "auto" and bool(loss_plan(cfg)[1]))
    return FeatureAugmenter(cfg.sft.transform, num_classes, cfg.model.embedding_size, class_counts, cfg.sft.scheme,
                            cfg.sft.tail_threshold, cfg.sft.warmup_steps, cfg.seed, per_identity)


def discface_term(cfg: RunConfig) -> DiscFaceTerm | None:
    """The DiscFace bases a config asks for (None when --discface_lambda is 0)."""
    if not cfg.discface.weight:
        return None
    return DiscFaceTerm(cfg.model.embedding_size, cfg.discface.num_bases, cfg.discface.basis_max_norm)


def train_standard(cfg: RunConfig, printer=PRINT) -> dict:
    """Train, export a SavedModel and evaluate verification; return the evaluation report."""
    metrics = loss_plan(cfg)[1]  # a bad --loss / --aux_loss fails before any rendering or TF set-up
    run = start_run(cfg, printer, head_obstacle=head_sharding_obstacle(cfg))
    cfg, strategy, data = run.cfg, run.strategy, run.data
    with strategy.scope():
        backbone, head = build_model(cfg, data.num_classes, strategy.num_replicas_in_sync,
                                     sharded_over=strategy if run.shard_head else None)
        if cfg.init.checkpoint:
            init_from(cfg.init.checkpoint, backbone, head, data.num_classes, printer)
        optimizer = build_optimizer(cfg)
        if run.shard_head:
            printer(f"margin head sharded over {strategy.num_replicas_in_sync} replica(s): {head.kernel.width} "
                    f"classes each" + (f", {cfg.sharding.sample_rate:g} of them sampled per step"
                                       if cfg.sharding.sample_rate < 1 else ""))
        counts = data.class_counts
        task = build_task(cfg, backbone, head, data.num_classes, counts)
    if metrics and cfg.data.sampler != "pk":
        printer(f"warning: `loss={cfg.loss}` mines pairs in the batch; `sampler={cfg.data.sampler}` gives few "
                "positive pairs, `sampler=pk` is what it is built for.")
    trainer = make_trainer(run, task, optimizer, lambda x: backbone(x, training=False), printer)
    t0 = time.time()
    trainer.fit(data.dataset_fn)
    printer(f"training took {time.time() - t0:.0f} s")
    return finish_run(run, backbone, {"backbone": cfg.model.backbone, "embedding_size": cfg.model.embedding_size,
                                      "head": cfg.head.kind}, printer)


def restore_workdir(workdir: str):
    """(cfg, backbone, head, discface term or None, checkpoint path) of a backbone + head workdir's latest
    checkpoint (--method=standard, ddl, or any method that checkpoints ``backbone`` and ``head``); a clear
    error when the checkpoint does not hold them (e.g. an FTL run)."""
    cfg, num_classes, latest = read_workdir(workdir)
    backbone, head = build_model(cfg, num_classes)
    discface = discface_term(cfg)
    parts = {"backbone": backbone, "head": head, **({"discface": discface} if discface is not None else {})}
    try:
        tf.train.Checkpoint(**parts).restore(latest).assert_existing_objects_matched().expect_partial()
    except (AssertionError, ValueError) as err:  # missing objects, or shapes that differ
        raise ConfigError(f"{workdir} (`method={cfg.method}`) holds no backbone + margin head matching its "
                          f"config.json: {str(err).splitlines()[0][:200]}") from None
    return cfg, backbone, head, discface, latest


def restore_backbone(workdir: str):
    """(backbone, export info) of a backbone + head workdir's latest checkpoint."""
    cfg, backbone, _, _, latest = restore_workdir(workdir)
    return backbone, {"backbone": cfg.model.backbone, "checkpoint": latest}


def head_anchors(workdir: str) -> tuple[np.ndarray, np.ndarray | None]:
    """IDA anchors from a trained margin head: its class-weight vectors (one per training class), with the
    training classes' names when the training data can be listed (None for TFRecord input)."""
    cfg, _, head, _, _ = restore_workdir(workdir)
    w = head.kernel.numpy().T
    source = training_data(cfg, log=lambda s: None).source
    names = None if source is None else np.asarray(source.class_names, dtype=str)
    if names is not None and len(names) != len(w):
        raise DataError(f"`ida_anchors=head`: {workdir} has {len(w)} classes but its training data now lists "
                        f"{len(names)} identities; the class names cannot be matched.")
    return w.astype(np.float32), names


register_method(Method(
    "standard", train_standard, restore_backbone,
    reads=("user_modules", "run", "distribute", "data", "augment", "model", "head", "sharding", "init", "loop", "optim",
           "eval", "losses", "metric", "discface", "sft")))
