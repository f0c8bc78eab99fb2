"""FTL training program (Yin et al., CVPR 2019, Sec. 3.4 and Algorithm 1).

Pre-train Enc, Dec, R and FC with Eq. 4; then alternate every N_iter steps between
  stage 1 (Enc, Dec frozen; R and FC trained on a hard regular batch, a UR batch and the UR batch's
           transferred features, Eqs. 2–3 and 7; UpdateStats first) and
  stage 2 (FC frozen; Enc, Dec and R trained with Eq. 4 on normal batches).
Each phase is a :class:`~tfface.training.trainer.Trainer` with its own Adam optimiser; all share one
checkpoint layout, so a run resumes anywhere, also mid-alternation (stage-1 statistics are recomputed
from the frozen encoder, giving the same values).

Choices the paper leaves open (ours): pixels in [0, 1] for Eq. 1; the classifier FC is ``--ftl_head``
(softmax, Eq. 2, by default — m-L2 cannot act on a normalised head, so it is refused there).
FTL is its own program: the standard program's loss, optimiser and method flags are refused, not ignored.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from tfface.data import pipeline
from tfface.data.build import train_input
from tfface.errors import ConfigError
from tfface.heads.classifier import MARGIN_SETTINGS, MarginHead, margin_unread, refuse_mlreg_on_normalised_head
from tfface.heads.margins import MARGINS
from tfface.models.ftl import build_decoder, build_encoder, build_filter
from tfface.registry import Method, register_method
from tfface.runtime.program import TEMPLATE_SECTIONS, Built, Program
from tfface.runtime.run import PRINT, Run, make_trainer, random_access_source, verification_hook
from tfface.runtime.workdir import read_workdir
from tfface.settings import ANY, NON_NEGATIVE, POSITIVE, Limit, RunConfig, Section, at_least, section, setting
from tfface.training.checkpoints import latest_step
from tfface.training.optim import make_optimizer
from tfface.training.tasks import Task
from tfface.training.terms import head_cross_entropy
from tfface.transforms.ftl import FTLStats, encode_all, transfer, update_stats

MODULES = ("encoder", "decoder", "filter", "head")


@section("ftl", prefix="ftl_")
class FTLSettings(Section):
    """FTL (Yin et al. 2019): the method's modules, stages and Eq. 4 weights."""

    head: str = setting("softmax", "FTL: the classifier FC (Eq. 2 is a linear softmax; m-L2, Eq. 3, only acts on "
                        "softmax). --scale/--margin/--m1/--m3 apply to margin heads.", choices=tuple(MARGINS))
    stage1: str = setting("sequential", "FTL stage 1: sequential = Algorithm 1's three updates per step (hard regular "
                          "batch, UR batch, transferred batch, in turn); joint = one update on the sum of the three "
                          "losses.", choices=("sequential", "joint"))
    filter: str = setting("paper", "FTL: the filtering network R; paper = linear → 2 deconvolutions → 2 convolutions "
                          "→ linear (Sec. 4; widths ours); linear = one linear layer (an ablation, ours).",
                          choices=("paper", "linear"), structural=True)
    rich_dim: int = setting(320, "FTL: size of the rich feature g (Enc output) and of the identity feature f (R "
                            "output).", limit=at_least(2), structural=True)
    ur_max_images: int = setting(20, "FTL: classes with at most this many images are under-represented (UR).",
                                 limit=at_least(1))
    pretrain_steps: int = setting(1000, "FTL: steps of pre-training all modules with Eq. 4.", limit=NON_NEGATIVE)
    alternate_steps: int = setting(5000, "FTL: N_iter, steps per stage in the alternation (paper 5k).",
                                   limit=at_least(1))
    lr_pretrain: float = setting(2e-4, "FTL: Adam learning rate of pre-training.", limit=POSITIVE)
    lr_alternate: float = setting(1e-5, "FTL: Adam learning rate of stages 1 and 2.", limit=POSITIVE)
    alpha_softmax: float = setting(1.0, "FTL Eq. 4: weight of the softmax loss.", limit=NON_NEGATIVE)
    alpha_recon: float = setting(1.0, "FTL Eq. 4: weight of the reconstruction loss, Eq. 1: the sum over an image's "
                                 "pixels of the squared error, pixels in [0, 1] (1/(H·W·3) gives the per-pixel "
                                 "mean).", limit=NON_NEGATIVE)
    alpha_reg: float = setting(0.25, "FTL Eq. 4: weight of the m-L2 regulariser ‖Wᵀf‖².", limit=NON_NEGATIVE)
    pca_energy: float = setting(0.95, "FTL: share of the regular-class covariance the PCA basis Q keeps.",
                                limit=Limit(0, 1, open_lo=True))
    pca_components: int = setting(0, "FTL: keep exactly this many PCA components instead (paper: 150).",
                                  limit=NON_NEGATIVE, structural=True)
    pose_attribute: str = setting("", "FTL Eq. 5: per-image attribute column (e.g. yaw) bounding which images make a "
                                  "class centre; empty = all images.")
    pose_threshold: float = setting(0.0, "FTL Eq. 5: τ, keep images with |p| + |p̄| ≤ τ.", limit=ANY)

    def unread(self, cfg) -> dict[str, str]:
        out = {}
        if not self.pose_attribute:
            out["ftl_pose_threshold"] = "it bounds the `ftl_pose_attribute` column, and none is given"
        if self.pca_components:
            out["ftl_pca_energy"] = f"`ftl_pca_components={self.pca_components}` fixes the PCA basis's size"
        return out


def ftl_also_reads(cfg) -> list[str]:
    """The margin settings of the ``ftl_head`` classifier (none for softmax)."""
    return list(MARGIN_SETTINGS[cfg.ftl.head])


def ftl_unread(cfg) -> dict[str, str]:
    """The settings of the standard model FTL replaces by its own, and the margins its ``ftl_head`` lacks."""
    return {"embedding_size": "FTL's features are `ftl_rich_dim` wide", "head": "FTL's classifier is `ftl_head`",
            "mlreg_weight": "FTL weights m-L2 by `ftl_alpha_reg`", **margin_unread(cfg.ftl.head, "ftl_head")}


def build_modules(cfg: RunConfig, num_classes: int, replicas: int = 1) -> dict:
    """Enc, Dec, R and FC (call inside the strategy scope). FC is ``--ftl_head`` (softmax by default)
    with the m-L2 regulariser weighted by ``--ftl_alpha_reg``."""
    d = cfg.ftl.rich_dim
    m = cfg.model
    head = MarginHead(num_classes, cfg.ftl.head, **cfg.head.margin_args(), reg_weight=cfg.ftl.alpha_reg)
    refuse_mlreg_on_normalised_head(head, f"`ftl_alpha_reg={cfg.ftl.alpha_reg}`", f"`ftl_head={cfg.ftl.head}`")
    head.build((None, d))
    return {"encoder": build_encoder(m.backbone, cfg.data.image_size, d, m.dropout, m.sync_bn and replicas > 1),
            "decoder": build_decoder(d, cfg.data.image_size), "filter": build_filter(d, d, shape=cfg.ftl.filter),
            "head": head}


def embedder(modules: dict) -> keras.Model:
    """Image → identity feature f = R(Enc(x)), the model FTL exports."""
    enc = modules["encoder"]
    return keras.Model(enc.input, modules["filter"](enc.output), name="ftl_embedder")


def regular_classes(counts: np.ndarray, ur_max_images: int) -> np.ndarray:
    """True for regular classes (more than ``ur_max_images`` images), False for UR classes."""
    return np.asarray(counts) > ur_max_images


class FTLTask(Task):
    """Eq. 4 on a normal batch: α_sfmx·L_sfmx + α_recon·L_recon + α_reg·L_reg (the head adds α_reg·‖Wᵀf‖²).

    Pre-training trains every module; stage 2 (``train_head=False``) keeps FC fixed."""

    def __init__(self, modules: dict, global_batch: int, alpha_softmax: float = 1.0, alpha_recon: float = 1.0,
                 train_head: bool = True):
        super().__init__(modules, global_batch)
        self.alpha_softmax, self.alpha_recon, self.train_head = alpha_softmax, alpha_recon, train_head

    @property
    def trainable_variables(self):
        names = MODULES if self.train_head else ("encoder", "decoder", "filter")
        return [v for n in names for v in self.modules[n].trainable_variables]

    def loss(self, batch, step):
        images, labels = batch
        gb = float(self.global_batch)
        ce, reg, l_recon, acc = eq4_terms(self.modules, images, labels)
        loss = tf.reduce_sum(self.alpha_softmax * ce + reg + self.alpha_recon * l_recon) / gb
        return loss, {"ce": tf.reduce_sum(ce) / gb, "recon": tf.reduce_sum(l_recon) / gb,
                      "mlreg": tf.reduce_sum(reg) / gb, "acc": tf.reduce_sum(acc) / gb}


class TransferTask(Task):
    """Stage 1: Enc (and Dec) frozen, R and FC trained on three batches (Algorithm 1): a regular batch
    drawn from the hard list, a UR batch, and the regular batch transferred to the UR batch's classes
    by Eq. 7. ``sequential`` (the paper's order) takes one update per batch, in that order; otherwise one
    update on the sum of the three losses. ``centres`` [C, D] and ``projection`` QQᵀ [D, D] are set by
    :meth:`set_stats`."""

    def __init__(self, modules: dict, global_batch: int, num_classes: int, dim: int, alpha_softmax: float = 1.0,
                 sequential: bool = True):
        super().__init__(modules, global_batch)
        self.alpha_softmax, self.sequential = alpha_softmax, sequential
        self.centres = tf.Variable(tf.zeros([num_classes, dim]), trainable=False, name="ftl_centres")
        self.projection = tf.Variable(tf.zeros([dim, dim]), trainable=False, name="ftl_projection")

    @property
    def trainable_variables(self):
        return [v for n in ("filter", "head") for v in self.modules[n].trainable_variables]

    def set_stats(self, stats: FTLStats) -> None:
        self.centres.assign(stats.centres.astype(np.float32))
        self.projection.assign(stats.projection.astype(np.float32))

    def batches(self, batch) -> list[tuple[str, tf.Tensor, tf.Tensor]]:
        """[(name, rich features g, labels)] of the regular, UR and transferred batches (Enc frozen)."""
        (x_reg, y_reg), (x_ur, y_ur) = batch
        enc = self.modules["encoder"]
        g_reg = tf.stop_gradient(tf.cast(enc(x_reg, training=False), tf.float32))
        g_ur = tf.stop_gradient(tf.cast(enc(x_ur, training=False), tf.float32))
        c = tf.convert_to_tensor(self.centres)
        g_new = transfer(g_reg, tf.gather(c, y_reg), tf.gather(c, y_ur), self.projection)
        return [("regular", g_reg, y_reg), ("ur", g_ur, y_ur), ("transfer", g_new, y_ur)]

    def batch_loss(self, name: str, g, labels) -> tuple[tf.Tensor, dict]:
        """This replica's share of α_sfmx·L_sfmx + α_reg·L_reg (Eqs. 2–3) on one of the three batches."""
        gb = float(self.global_batch)
        ce, reg, acc = softmax_terms(self.modules, self.modules["filter"](g, training=True), labels)
        loss = tf.reduce_sum(self.alpha_softmax * ce + reg) / gb
        return loss, {f"ce_{name}": tf.reduce_sum(ce) / gb, f"acc_{name}": tf.reduce_sum(acc) / gb}

    def loss(self, batch, step):
        loss, metrics = tf.constant(0.0), {}
        for name, g, y in self.batches(batch):
            value, m = self.batch_loss(name, g, y)
            loss += value
            metrics.update(m)
        return loss, metrics

    def train_step(self, batch, step, optimizer) -> dict[str, tf.Tensor]:
        if not self.sequential:
            return super().train_step(batch, step, optimizer)
        total, metrics = tf.constant(0.0), {}
        for name, g, y in self.batches(batch):  # Algorithm 1: train the 1st, 2nd, then 3rd batch
            loss, m = self.descend(lambda: self.batch_loss(name, g, y), optimizer)  # noqa: B023
            total += loss
            metrics.update(m)
        return {"loss": total, **metrics}


def eq4_terms(modules: dict, images, labels):
    """Per-sample terms of Eq. 4 on a batch, unweighted but for the head's α_reg: (cross-entropy of FC, α_reg·‖Wᵀf‖²,
    Eq. 1's ‖x′ − x‖² over the pixels in [0, 1], top-1 correctness)."""
    g = modules["encoder"](images, training=True)
    recon = modules["decoder"](g, training=True)
    target = tf.cast(images, tf.float32) / 255.0
    l_recon = tf.reduce_sum(tf.square(tf.cast(recon, tf.float32) - target), axis=[1, 2, 3])  # Eq. 1: ‖x′ − x‖²
    ce, reg, acc = softmax_terms(modules, modules["filter"](g, training=True), labels)
    return ce, reg, l_recon, acc


def softmax_terms(modules: dict, f, labels):
    """Per-sample (cross-entropy of FC, its α_reg·‖Wᵀf‖² m-L2 term, top-1 correctness)."""
    ce, acc = head_cross_entropy(modules["head"], f, labels)
    return ce, modules["head"].regularization(f), acc


@dataclasses.dataclass(frozen=True)
class Phase:
    kind: str  # "pretrain", "stage1" or "stage2"
    start: int
    end: int


def phases(total: int, pretrain: int, alternate: int) -> list[Phase]:
    """The step ranges of pre-training and the alternating stages 1, 2, 1, 2, … up to ``total``."""
    if alternate < 1:
        raise ConfigError("`ftl_alternate_steps` must be at least 1.")
    out = [Phase("pretrain", 0, min(pretrain, total))] if pretrain > 0 else []
    step, k = min(pretrain, total), 0
    while step < total:
        end = min(step + alternate, total)
        out.append(Phase("stage1" if k % 2 == 0 else "stage2", step, end))
        step, k = end, k + 1
    return out


def stage1_dataset(source, stats: FTLStats, regular: np.ndarray, cfg: RunConfig):
    """Per-replica ((hard regular images, labels), (UR images, labels)) batches for stage 1."""
    if len(stats.hard) < cfg.loop.batch_size:
        raise ConfigError(f"FTL stage 1: only {len(stats.hard)} hard regular samples for "
                          f"`batch_size={cfg.loop.batch_size}`; lower the batch or `ftl_ur_max_images`.")
    hard = source.subset(stats.hard)
    ur = source.subset(np.flatnonzero(~regular[source.labels]))
    base = dataclasses.replace(train_input(cfg), sampler="uniform")  # the run's input, augmentation included
    ur_cfg = dataclasses.replace(base, sampler="balanced", seed=cfg.seed + 1)

    def fn(start, ctx):
        return tf.data.Dataset.zip((pipeline.train_dataset(hard, base, start, ctx),
                                    pipeline.train_dataset(ur, ur_cfg, start, ctx)))

    return fn


def compute_stats(run_strategy, modules: dict, source, regular: np.ndarray, cfg: RunConfig) -> FTLStats:
    """UpdateStats (Algorithm 1) over the whole training set."""
    g, g_flip = encode_all(run_strategy, modules["encoder"], source.paths, cfg.data.image_size, cfg.eval.batch)
    pose = None
    if cfg.ftl.pose_attribute:
        if cfg.ftl.pose_attribute not in source.attributes:
            raise ConfigError(f"`ftl_pose_attribute={cfg.ftl.pose_attribute}`: no such column in the training "
                              f"list (it has: {', '.join(source.attributes) or 'none'}).")
        pose = source.attributes[cfg.ftl.pose_attribute].astype(np.float64)
    return update_stats(g, g_flip, source.labels, source.num_classes, regular, cfg.ftl.pca_energy,
                        cfg.ftl.pca_components, pose, cfg.ftl.pose_threshold if pose is not None else None)


def check_ftl_config(cfg: RunConfig, printer=print) -> None:
    """Warn when --steps leaves no stage 2."""
    kinds = [p.kind for p in phases(cfg.loop.steps, cfg.ftl.pretrain_steps, cfg.ftl.alternate_steps)]
    if "stage2" not in kinds:
        printer(f"warning: `steps={cfg.loop.steps}` with `ftl_pretrain_steps={cfg.ftl.pretrain_steps}` and "
                f"`ftl_alternate_steps={cfg.ftl.alternate_steps}` never reaches stage 2 (phases: "
                f"{', '.join(kinds) or 'none'}); raise `steps` or lower the other two for alternation cycles.")


class FTLProgram(Program):
    """Pre-train with Eq. 4, then alternate stage 1 (UpdateStats, transfer) and stage 2; export f = R(Enc(x))."""

    def check(self, cfg: RunConfig, printer=PRINT) -> None:
        check_ftl_config(cfg, printer)

    def build(self, run: Run, printer=PRINT) -> Built:
        cfg, strategy = run.cfg, run.strategy
        source = random_access_source(run.data, "`method=ftl` (UpdateStats visits every image)")
        regular = regular_classes(source.class_counts, cfg.ftl.ur_max_images)
        printer(f"FTL: {int(regular.sum())} regular and {int((~regular).sum())} under-represented classes "
                f"(≤ {cfg.ftl.ur_max_images} images)")
        if regular.all() or not regular.any():
            raise ConfigError(f"`ftl_ur_max_images={cfg.ftl.ur_max_images}` leaves no "
                              f"{'UR' if regular.all() else 'regular'} class; FTL transfers from regular to UR "
                              "classes and needs both.")
        with strategy.scope():
            modules = build_modules(cfg, source.num_classes, strategy.num_replicas_in_sync)
            optim = {k: make_optimizer("adam", lr, weight_decay=0.0, mixed_precision=cfg.mixed_precision)
                     for k, lr in (("opt_pretrain", cfg.ftl.lr_pretrain), ("opt_stage1", cfg.ftl.lr_alternate),
                                   ("opt_stage2", cfg.ftl.lr_alternate))}
            a_sm, a_rec = cfg.ftl.alpha_softmax, cfg.ftl.alpha_recon
            tasks = {"pretrain": FTLTask(modules, cfg.loop.batch_size, a_sm, a_rec),
                     "stage1": TransferTask(modules, cfg.loop.batch_size, source.num_classes, cfg.ftl.rich_dim, a_sm,
                                            sequential=cfg.ftl.stage1 == "sequential"),
                     "stage2": FTLTask(modules, cfg.loop.batch_size, a_sm, a_rec, train_head=False)}
        info = {"method": "ftl", "backbone": cfg.model.backbone, "embedding_size": cfg.ftl.rich_dim,
                "head": cfg.ftl.head}
        return Built(embedder(modules), info, parts={"source": source, "regular": regular, "modules": modules,
                                                     "optim": optim, "tasks": tasks})

    def fit(self, run: Run, built: Built, printer=PRINT) -> None:
        """Algorithm 1's schedule: one trainer per phase, sharing the checkpoint (a run resumes in any phase)."""
        cfg, p, net = run.cfg, built.parts, built.embedder
        optim, tasks = p["optim"], p["tasks"]
        embed = lambda x: net(x, training=False)  # noqa: E731
        hooks = verification_hook(run, embed, printer)  # the pairs read once
        trainers = {kind: make_trainer(run, tasks[kind], optim[key], embed, printer, hooks, optimizer_key=key,
                                       extra_checkpoint={k: v for k, v in optim.items() if k != key})
                    for kind, key in (("pretrain", "opt_pretrain"), ("stage1", "opt_stage1"),
                                      ("stage2", "opt_stage2"))}
        done = latest_step(cfg.workdir)
        resumed = done > 0
        for phase in phases(cfg.loop.steps, cfg.ftl.pretrain_steps, cfg.ftl.alternate_steps):
            if phase.end <= done:
                continue
            trainer = trainers[phase.kind]
            trainer.cfg.total_steps = phase.end
            dataset_fn = run.data.dataset_fn
            if phase.kind == "stage1":
                if resumed:  # the statistics come from the checkpoint's encoder
                    trainer.restore()
                    resumed = False
                stats = compute_stats(run.strategy, p["modules"], p["source"], p["regular"], cfg)
                tasks["stage1"].set_stats(stats)
                printer(f"FTL UpdateStats: {len(stats.hard)} hard regular samples, PCA keeps "
                        f"{stats.basis.shape[1]} components ({stats.energy * 100:.1f}% energy)")
                dataset_fn = stage1_dataset(p["source"], stats, p["regular"], cfg)
            printer(f"FTL {phase.kind}: steps {max(phase.start, done)}–{phase.end}")
            trainer.fit(dataset_fn)
            done = phase.end


def restore_ftl(workdir: str) -> tuple[RunConfig, dict, str]:
    """(cfg, modules, checkpoint path) of an FTL workdir's latest checkpoint."""
    cfg, num_classes, latest = read_workdir(workdir)
    if cfg.method != "ftl":
        raise ConfigError(f"`checkpoint={workdir}` was trained with `method={cfg.method}`; this protocol needs "
                          "an FTL run (`method=ftl`).")
    modules = build_modules(cfg, num_classes)
    tf.train.Checkpoint(**modules).restore(latest).expect_partial()
    return cfg, modules, latest


def restore_embedder(workdir: str):
    """(f = R(Enc(x)), export info) of an FTL workdir's latest checkpoint."""
    cfg, modules, latest = restore_ftl(workdir)
    return embedder(modules), {"method": "ftl", "backbone": cfg.model.backbone, "checkpoint": latest}


register_method(Method(
    "ftl", FTLProgram().train, restore_embedder,
    reads=(*TEMPLATE_SECTIONS, "model", "ftl"),
    note="FTL is its own program: its classifier is `ftl_head` (m-L2 weighted by `ftl_alpha_reg`), its loss Eq. 4 "
         "(`ftl_alpha_*`), its optimiser Adam at `ftl_lr_pretrain` / `ftl_lr_alternate`",
    also_reads=ftl_also_reads, unread=ftl_unread))
