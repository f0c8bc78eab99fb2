"""The programs behind train.py and evaluate.py, as functions of a RunConfig."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from tfface.config import RunConfig
from tfface.data import pipeline
from tfface.data.build import default_workdir, training_data
from tfface.errors import ConfigError
from tfface.evaluation.pairs import read_pairs
from tfface.evaluation.verification import evaluate_pairs, save_report
from tfface.export.saved_model import export_saved_model, load_embedder
from tfface.heads.classifier import MarginHead, refuse_mlreg_on_normalised_head
from tfface.losses.center import CenterLoss
from tfface.losses.discface import DiscFaceTerm
from tfface.losses.registry import METRIC_LOSSES, metric_loss, parse_weighted
from tfface.methods.sft import FeatureAugmenter
from tfface.models.backbones import build_backbone
from tfface.training.optim import WarmupSchedule, make_optimizer
from tfface.training.strategy import is_chief, make_strategy, worker_path
from tfface.training.tasks import EmbeddingTask
from tfface.training.trainer import Trainer, TrainerConfig

PRINT = functools.partial(print, flush=True)
_POLICIES = {"none": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def loss_plan(cfg: RunConfig) -> tuple[bool, list[tuple[str, float]], float]:
    """(use the margin head?, [(metric loss, weight)], centre-loss weight) from --loss and --aux_loss."""
    main = cfg.loss.split("+")
    use_head = "softmax" in main or "head" in main
    metrics = [(m, 1.0) for m in main if m not in ("softmax", "head")]
    center = 0.0
    for name, weight in parse_weighted(cfg.aux_loss, "--aux_loss"):
        if name == "center":
            center = weight
        elif name in ("softmax", "head"):
            raise ConfigError("--aux_loss: the margin head is part of --loss (e.g. --loss=triplet+head).")
        else:
            metrics.append((name, weight))
    if cfg.discface_lambda and not use_head:
        raise ConfigError("--discface_lambda needs the margin head: use --loss=softmax or --loss=<metric>+head.")
    for name, _ in metrics:
        if name not in METRIC_LOSSES:
            raise ConfigError(f"--loss/--aux_loss: {name!r} is unknown; choose softmax, head, center or one of "
                              f"{', '.join(METRIC_LOSSES)}.")
    return use_head, metrics, center


def build_task(cfg: RunConfig, backbone, head, num_classes: int, class_counts=None) -> EmbeddingTask:
    """The training task that --loss, --aux_loss and the method flags describe (call inside the
    strategy scope). ``class_counts`` (images per class) is needed by --sft_scheme=unbalanced."""
    use_head, metrics, center_weight = loss_plan(cfg)
    terms = [(name, weight, metric_loss(name, cfg.metric)) for name, weight in metrics]
    center = CenterLoss(num_classes, cfg.embedding_size, cfg.center_alpha) if center_weight else None
    return EmbeddingTask(backbone, cfg.batch_size, head if use_head else None, terms, center, center_weight,
                         cfg.scale_warmup_steps, discface=discface_term(cfg), discface_lambda=cfg.discface_lambda,
                         augment=feature_augmenter(cfg, num_classes, class_counts), augment_lambda=cfg.sft_lambda)


def feature_augmenter(cfg: RunConfig, num_classes: int, class_counts=None) -> FeatureAugmenter | None:
    """The SFT feature augmenter --feature_transform asks for (None for none)."""
    if cfg.feature_transform == "none":
        return None
    if cfg.sft_scheme == "unbalanced" and class_counts is None:
        raise ConfigError("--sft_scheme=unbalanced needs the images per class: train from SynthFaces, a list "
                          "file or an image folder (TFRecord shards do not carry them), or use balanced.")
    if cfg.sft_targets not in ("auto", "sample", "identity"):
        raise ConfigError(f"--sft_targets={cfg.sft_targets!r}: choose auto, sample or identity.")
    per_identity = cfg.sft_targets == "identity" or (cfg.sft_targets == "auto" and bool(loss_plan(cfg)[1]))
    return FeatureAugmenter(cfg.feature_transform, num_classes, cfg.embedding_size, class_counts, cfg.sft_scheme,
                            cfg.sft_tail_threshold, cfg.sft_warmup_steps, cfg.seed, per_identity)


def discface_term(cfg: RunConfig) -> DiscFaceTerm | None:
    """The DiscFace bases a config asks for (None when --discface_lambda is 0)."""
    if not cfg.discface_lambda:
        return None
    return DiscFaceTerm(cfg.embedding_size, cfg.discface_num_bases, cfg.discface_basis_max_norm)


def build_model(cfg: RunConfig, num_classes: int, replicas: int = 1):
    """Backbone and margin head (call inside the strategy scope). Batch norm is synchronised only
    when there is more than one replica (on one device it would cost ~12% for nothing)."""
    sync = cfg.sync_bn and replicas > 1
    backbone = build_backbone(cfg.backbone, cfg.image_size, cfg.embedding_size, cfg.dropout, sync)
    head = MarginHead(num_classes, cfg.head, s=cfg.scale, m=cfg.margin, m1=cfg.m1, m3=cfg.m3,
                      reg_weight=cfg.mlreg_weight)
    refuse_mlreg_on_normalised_head(head, f"--mlreg_weight={cfg.mlreg_weight}", f"--head={cfg.head}")
    head.build((None, cfg.embedding_size))
    return backbone, head


@dataclasses.dataclass
class Run:
    """What every training program shares: the strategy, the resolved config and the data."""

    cfg: RunConfig
    strategy: tf.distribute.Strategy
    chief: bool
    data: object
    pairs_file: str | None


def random_access_source(data, who: str):
    """The training data's Source, or a clear error for TFRecord input (which cannot be indexed)."""
    if data.source is None:
        raise ConfigError(f"{who} needs random-access training data (SynthFaces, a list file or an image "
                          "folder), not --data=tfrecord.")
    return data.source


def start_run(cfg: RunConfig, printer=PRINT) -> Run:
    """Strategy, workdir (with config.json), precision policy, data and seed for a training program."""
    strategy = make_strategy(cfg.cpu_replicas)
    chief = is_chief(strategy)
    cfg = cfg.replace(workdir=cfg.workdir or default_workdir())
    os.makedirs(cfg.workdir, exist_ok=True)
    keras.mixed_precision.set_global_policy(_POLICIES[cfg.mixed_precision])
    data = training_data(cfg, log=printer)
    pipeline.check_batch_split(cfg.batch_size, strategy.num_replicas_in_sync)
    if chief:
        with open(os.path.join(cfg.workdir, "config.json"), "w") as fh:
            json.dump({**dataclasses.asdict(cfg), "num_classes": data.num_classes}, fh, indent=1)
    printer(f"{data.num_images} images of {data.num_classes} identities; {strategy.num_replicas_in_sync} "
            f"replica(s); global batch {cfg.batch_size}; workdir {cfg.workdir}")
    keras.utils.set_random_seed(cfg.seed)
    return Run(cfg, strategy, chief, data, cfg.eval_pairs or data.default_pairs)


def finish_run(run: Run, embedder: keras.Model, info: dict, printer=PRINT) -> dict:
    """Export the embedding model (chief only) and evaluate verification on the run's pairs file."""
    cfg = run.cfg
    export_dir = worker_path(cfg.workdir, "export", run.strategy)
    export_saved_model(embedder, export_dir, cfg.image_size, info)
    if not run.chief:
        shutil.rmtree(export_dir, ignore_errors=True)
        return {}
    printer(f"exported SavedModel to {export_dir}")
    if not run.pairs_file:
        return {}
    return evaluate(export_dir, run.pairs_file, cfg.eval_root, cfg.workdir, cfg.eval_flip, cfg.eval_batch, printer)


def verification_hook(run: Run, embed, printer=PRINT) -> list:
    """The in-training verification hook (--eval_every) on the chief, if asked for."""
    cfg = run.cfg
    if not (cfg.eval_every and run.pairs_file and run.chief):
        return []
    pairs = read_pairs(run.pairs_file, cfg.eval_root)

    def hook(step):
        report, _ = evaluate_pairs(embed, pairs, cfg.image_size, cfg.eval_batch, flip=False)
        printer(f"step {step}: verification accuracy {report['accuracy'] * 100:.2f}%")
        return {"eval/accuracy": report["accuracy"], "eval/auc": report["auc"]}

    return [hook]


def train(cfg: RunConfig, printer=PRINT) -> dict:
    """Train, export a SavedModel and evaluate verification; return the evaluation report."""
    if cfg.method == "ftl":
        from tfface.methods.ftl import train_ftl

        return train_ftl(cfg, printer)
    if cfg.method == "ddl":
        from tfface.methods.ddl import train_ddl

        return train_ddl(cfg, printer)
    loss_plan(cfg)  # a bad --loss / --aux_loss fails before any rendering or TF set-up
    run = start_run(cfg, printer)
    cfg, strategy, data = run.cfg, run.strategy, run.data
    with strategy.scope():
        backbone, head = build_model(cfg, data.num_classes, strategy.num_replicas_in_sync)
        if cfg.init_checkpoint:
            init_from(cfg.init_checkpoint, backbone, head, data.num_classes, printer)
        schedule = WarmupSchedule(cfg.lr, cfg.steps, cfg.lr_schedule, cfg.warmup_steps, cfg.lr_boundaries,
                                  cfg.lr_factor)
        optimizer = make_optimizer(cfg.optimizer, schedule, cfg.momentum, cfg.weight_decay, cfg.mixed_precision)
        counts = None if data.source is None else data.source.class_counts
        task = build_task(cfg, backbone, head, data.num_classes, counts)
    if task.terms and cfg.sampler != "pk":
        printer(f"warning: --loss={cfg.loss} mines pairs in the batch; --sampler={cfg.sampler} gives few "
                "positive pairs, --sampler=pk is what it is built for.")
    trainer = Trainer(strategy, task, optimizer,
                      TrainerConfig(cfg.steps, cfg.batch_size, cfg.workdir, cfg.log_every, cfg.checkpoint_every,
                                    hook_every=cfg.eval_every, jit_compile=cfg.jit_compile),
                      hooks=verification_hook(run, lambda x: backbone(x, training=False), printer),
                      printer=printer if run.chief else (lambda s: None))
    t0 = time.time()
    trainer.fit(data.dataset_fn)
    printer(f"training took {time.time() - t0:.0f} s")
    return finish_run(run, backbone, {"backbone": cfg.backbone, "embedding_size": cfg.embedding_size,
                                      "head": cfg.head}, printer)


def evaluate(model: str, pairs_file: str, root: str | None, out_dir: str, flip: bool = True,
             batch: int = 256, printer=PRINT, density=None, tau: float = 1.0, score: str = "cosine") -> dict:
    """Verification of an exported model on a pairs file; writes eval.json and eval_roc.png (with an IDA
    ``density`` function: ``eval_<score>.json`` and its ROC, scored by log DAO)."""
    embed, size = load_embedder(model)
    pairs = read_pairs(pairs_file, root)
    report, scores = evaluate_pairs(embed, pairs, size, batch, flip, density, tau)
    report = {"model": str(model), "pairs_file": str(pairs_file), "flip": flip, "score": score, **report}
    path = save_report(report, scores, pairs.same, out_dir, "eval" if score == "cosine" else f"eval_{score}")
    tar = report["tar_at_far"].get("0.001")
    printer(f"verification on {pairs_file}: accuracy {report['accuracy'] * 100:.2f}% ± "
            f"{report['accuracy_std'] * 100:.2f}, TAR@FAR=1e-3 "
            f"{'n/a' if tar is None else f'{tar * 100:.2f}%'}, AUC {report['auc']:.4f} -> {path}")
    return report


def read_workdir(workdir: str) -> tuple[RunConfig, int, str]:
    """(cfg, number of classes, latest checkpoint path) of a train.py workdir, or a clear error."""
    cfg_file = pathlib.Path(workdir) / "config.json"
    if not cfg_file.is_file():
        raise FileNotFoundError(f"--checkpoint={workdir}: no config.json; point it at a train.py workdir.")
    raw = json.loads(cfg_file.read_text())
    num_classes = raw.pop("num_classes")
    latest = tf.train.latest_checkpoint(str(pathlib.Path(workdir) / "checkpoints"))
    if not latest:
        raise FileNotFoundError(f"--checkpoint={workdir}: no checkpoint in {workdir}/checkpoints.")
    return RunConfig.from_dict(raw), num_classes, latest


def init_from(workdir: str, backbone, head, num_classes: int, printer=PRINT) -> None:
    """--init_checkpoint: start from a train.py workdir's latest checkpoint — the backbone always, the head
    when its number of classes matches (else it stays freshly initialised) — or from an exported
    SavedModel folder (the backbone only; the export holds no head)."""
    if os.path.isfile(os.path.join(workdir, "saved_model.pb")):
        try:
            tf.train.Checkpoint(backbone=backbone).read(os.path.join(workdir, "variables", "variables")) \
                .assert_existing_objects_matched()
        except (ValueError, AssertionError) as err:
            raise ConfigError(f"--init_checkpoint={workdir}: its backbone does not match this run's --backbone / "
                              f"--embedding_size / --image_size ({str(err).splitlines()[0][:200]}).") from None
        printer(f"initialised backbone from the SavedModel {workdir} (head freshly initialised)")
        return
    _, classes, latest = read_workdir(workdir)
    parts = {"backbone": backbone, **({"head": head} if classes == num_classes else {})}
    tf.train.Checkpoint(**parts).restore(latest).expect_partial()
    printer(f"initialised {' and '.join(parts)} from {latest}"
            + ("" if "head" in parts else f" (head re-initialised: {classes} → {num_classes} classes)"))


def restore_workdir(workdir: str):
    """(cfg, backbone, head, discface term or None, checkpoint path) of a train.py workdir's latest checkpoint."""
    cfg, num_classes, latest = read_workdir(workdir)
    backbone, head = build_model(cfg, num_classes)
    discface = discface_term(cfg)
    parts = {"backbone": backbone, "head": head, **({"discface": discface} if discface is not None else {})}
    tf.train.Checkpoint(**parts).restore(latest).expect_partial()
    return cfg, backbone, head, discface, latest


def checkpoint_to_saved_model(workdir: str, out: str | None = None) -> str:
    """Rebuild the backbone of a training workdir, restore its latest checkpoint and export it."""
    cfg, backbone, _, _, latest = restore_workdir(workdir)
    out = out or str(pathlib.Path(workdir) / "export_from_checkpoint")
    return export_saved_model(backbone, out, cfg.image_size, {"backbone": cfg.backbone, "checkpoint": latest})


def discface_diagnostics(workdir: str, out_dir: str, max_images: int = 2000, batch: int = 256) -> dict:
    """DiscFace Sec. 3.2 diagnostics of a trained workdir on (up to ``max_images`` of) its training data:
    directional and radial displacement discrepancy and ‖ξ_eff‖; writes ``discface.json``."""
    from tfface.evaluation.verification import embed_paths
    from tfface.methods.discface import discrepancy_report

    cfg, backbone, head, discface, latest = restore_workdir(workdir)
    source = random_access_source(training_data(cfg, log=lambda s: None), "--protocol=discface")
    pick = np.random.default_rng(0).permutation(len(source))[:max_images]
    emb = embed_paths(lambda x: backbone(x, training=False), source.paths[pick], cfg.image_size, batch)
    report = {"checkpoint": latest, "images": int(len(pick)),
              **discrepancy_report(emb, head.kernel.numpy(), source.labels[pick], discface)}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "discface.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    return report
