"""The standard program (``--method=standard``): backbone + margin head and/or metric losses, with the
DiscFace term and SFT's feature augmentation as options, trained, exported and evaluated."""

from __future__ import annotations

from tfface.errors import ConfigError
from tfface.heads.sharded import ShardedMarginHead
from tfface.losses.center import CenterLoss
from tfface.losses.registry import METRIC_LOSSES, metric_loss, parse_weighted
from tfface.methods.discface import DiscFaceLoss, discface_term
from tfface.methods.sft import FeatureAugmenter, GeneratedLoss
from tfface.registry import Method, register_method
from tfface.runtime.model import build_model, build_optimizer, init_from, restore_backbone, restore_model
from tfface.runtime.program import TEMPLATE_SECTIONS, Built, Program
from tfface.runtime.run import PRINT, Run
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


class StandardProgram(Program):
    """Backbone + margin head and/or metric losses, with DiscFace and SFT as terms."""

    def head_obstacle(self, cfg: RunConfig) -> str | None:
        return head_sharding_obstacle(cfg)

    def check(self, cfg: RunConfig, printer=PRINT) -> None:
        loss_plan(cfg)  # a bad --loss / --aux_loss fails before any rendering or TF set-up

    def build(self, run: Run, printer=PRINT) -> Built:
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
            task = build_task(cfg, backbone, head, data.num_classes, data.class_counts)
        if loss_plan(cfg)[1] and cfg.data.sampler != "pk":
            printer(f"warning: `loss={cfg.loss}` mines pairs in the batch; `sampler={cfg.data.sampler}` gives few "
                    "positive pairs, `sampler=pk` is what it is built for.")
        info = {"backbone": cfg.model.backbone, "embedding_size": cfg.model.embedding_size, "head": cfg.head.kind}
        return Built(backbone, info, task, optimizer)


def restore_workdir(workdir: str):
    """(cfg, backbone, head, DiscFace bases or None, checkpoint path) of a standard workdir's latest
    checkpoint."""
    cfg, backbone, head, extra, latest = restore_model(workdir, lambda cfg: {"discface": discface_term(cfg)})
    return cfg, backbone, head, extra["discface"], latest


register_method(Method(
    "standard", StandardProgram().train, restore_backbone,
    reads=(*TEMPLATE_SECTIONS, "model", "head", "sharding", "init", "optim", "losses", "metric", "discface", "sft")))
