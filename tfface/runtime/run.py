"""One training run's lifecycle: start (strategy, workdir, data, seed), in-training verification, finish
(export and evaluate)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from tfface.data import pipeline
from tfface.data.build import default_workdir, training_data
from tfface.data.check import explain_decode_failure, undecodable
from tfface.errors import ConfigError, DataError
from tfface.evaluation.pairs import read_pairs, training_overlap
from tfface.evaluation.verification import evaluate_pairs
from tfface.export.saved_model import export_saved_model
from tfface.finite import check_embeddings
from tfface.runtime.lock import LOCK_FILE, WorkdirLock
from tfface.runtime.resume import ResumePlan, identities_fingerprint, plan_resume, previous_head_sharded
from tfface.runtime.sharding import head_sharding
from tfface.runtime.verify import PRINT, verify_saved_model
from tfface.settings import NON_NEGATIVE, RunConfig, Section, at_least, section, setting, untracked
from tfface.training.strategy import is_chief, make_strategy, worker_path
from tfface.training.tasks import Task
from tfface.training.trainer import Trainer, TrainerConfig


@section("run", flat=True)
class RunSettings(Section):
    """The run itself: which training program, where it writes, its seed and how often it logs and saves."""

    method: str = setting("standard", "Training program, by registered name: standard (backbone + margin head "
                          "and/or metric losses, with DiscFace and SFT as options); ftl (Yin et al. 2019: "
                          "Enc/Dec/R/FC, pre-training then two-stage alternation with feature transfer to "
                          "under-represented classes; the --ftl_* flags); ddl (Huang et al. 2020: head loss + "
                          "distribution distillation from easy to hard partitions; the --ddl_* flags); or one of "
                          "yours, registered by a module named in --imports.", structural=True)
    workdir: str | None = setting(None, "Run folder (default: a new folder under runs/).")
    seed: int = setting(0, "Seed for weights and sampling.", limit=NON_NEGATIVE)
    log_every: int = setting(50, "Progress line and TensorBoard scalars every N steps.", limit=at_least(1))
    checkpoint_every: int = setting(1000, "Checkpoint every N steps (and at the end).", limit=at_least(1))
    eval_every: int = setting(0, "In-training verification on --eval_pairs every N steps (0 = end only).",
                              limit=NON_NEGATIVE)
    restart: bool = setting(False, "Train a workdir again from step 0 when its run left results but no checkpoint "
                            "that reads back (its damaged checkpoints are moved aside, not deleted).")


_POLICIES = {"none": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


@dataclasses.dataclass
class Run:
    """What every training program shares: the strategy, the resolved config and the data."""

    cfg: RunConfig
    strategy: tf.distribute.Strategy
    chief: bool
    data: object
    pairs_file: str | None
    shard_head: bool = False  # the margin head's class weights are sharded over the replicas (Partial FC)
    lock: WorkdirLock | None = None  # the chief's hold on the workdir, released when the run ends
    resume: ResumePlan = ResumePlan()  # the step it resumes from; whether the run is already finished
    created_workdir: bool = False  # this run made the workdir (removed again if the run fails before recording)
    recorded: bool = False  # config.json is written

    def record(self) -> None:
        """Write the run's config.json (chief only), once the run is known valid and about to train."""
        if self.chief:
            with open(os.path.join(self.cfg.workdir, "config.json"), "w") as fh:
                json.dump({**self.cfg.to_dict(), "num_classes": self.data.num_classes, "head_sharded": self.shard_head,
                           "identities": identities_fingerprint(self.data.class_names)}, fh, indent=1)
        self.recorded = True

    def end(self) -> None:
        """Release the workdir (the process's end releases it too, however it ends); a workdir this run made and
        never recorded in holds nothing but the lock, and is removed."""
        if self.lock is not None:
            self.lock.release()
        if self.chief and self.created_workdir and not self.recorded:
            remove_if_only_lock(self.cfg.workdir)


def remove_if_only_lock(workdir: str) -> None:
    """Remove a workdir that holds nothing but its lock file."""
    if os.path.isdir(workdir) and set(os.listdir(workdir)) <= {LOCK_FILE}:
        shutil.rmtree(workdir, ignore_errors=True)


def random_access_source(data, who: str):
    """The training data's Source, or a clear error for TFRecord input (which cannot be indexed)."""
    if data.source is None:
        raise ConfigError(f"{who} needs random-access training data (SynthFaces, a list file or an image "
                          "folder), not `data=tfrecord` or `data=mxrec`.")
    return data.source


def start_run(cfg: RunConfig, printer=PRINT, head_obstacle: str | None = None) -> Run:
    """Strategy, data, workdir, resume plan, precision policy, seed and head sharding for a training program
    (:class:`tfface.runtime.program.Program` calls it). Everything is checked before the workdir changes: the
    data and pairs first, then (holding the workdir's lock) the run it holds; config.json is written later, by
    :meth:`Run.record`. ``head_obstacle``: why the program cannot shard its margin head (None: it can, see
    :func:`tfface.runtime.sharding.head_sharding`)."""
    strategy = make_strategy(cfg.cpu_replicas)
    chief = is_chief(strategy)
    cfg = cfg.replace(workdir=cfg.workdir or default_workdir())
    keras.mixed_precision.set_global_policy(_POLICIES[cfg.mixed_precision])
    data = training_data(cfg, log=printer)
    pairs_file = cfg.eval.pairs or data.default_pairs
    if pairs_file and chief:
        check_pairs_file(pairs_file, cfg.eval.root, getattr(data, "source", None), printer)
    pipeline.check_batch_split(cfg.loop.batch_size, strategy.num_replicas_in_sync)
    created = not os.path.exists(cfg.workdir)
    os.makedirs(cfg.workdir, exist_ok=True)
    lock = WorkdirLock(cfg.workdir).acquire() if chief else None  # one run per workdir
    run = Run(cfg, strategy, chief, data, pairs_file, lock=lock, created_workdir=created)
    try:
        with untracked():
            run.resume = plan_resume(cfg, data.num_classes, identities_fingerprint(data.class_names), pairs_file,
                                     chief_printer(run, printer), chief)
        run.shard_head = head_sharding(cfg, strategy.num_replicas_in_sync, head_obstacle,
                                       previous_head_sharded(cfg.workdir), printer)
    except BaseException:
        run.end()
        raise
    printer(f"{data.num_images} images of {data.num_classes} identities; {strategy.num_replicas_in_sync} "
            f"replica(s); global batch {cfg.loop.batch_size}; workdir {cfg.workdir}")
    keras.utils.set_random_seed(cfg.seed)
    return run


def check_pairs_file(pairs_file: str, root: str | None, source, printer=PRINT) -> None:
    """Before the first step: the verification pairs file reads, every image of it exists and decodes (else
    an error naming the files), and what it shares with the training data is said (a warning: verification
    on training images or people measures memory, not recognition)."""
    pairs = read_pairs(pairs_file, root)
    images = sorted({*pairs.path1, *pairs.path2})
    bad = undecodable(images)
    if bad:
        raise DataError(f"`eval_pairs={pairs_file}`: {len(bad)} of its {len(images)} images do not decode, e.g. "
                        f"{bad[0][0]} ({bad[0][1]}). Fix or remove them before training (`tfface-check-data` "
                        "lists them all).")
    if source is None:
        return
    shared = training_overlap(pairs, source.paths, source.class_names)
    if shared["images"]:
        printer(f"warning: {len(shared['images'])} of the {len(images)} images of {pairs_file} are training "
                f"images (e.g. {shared['images'][0]}): its verification will look better than on new faces.")
    if shared["identities"]:
        printer(f"warning: {len(shared['identities'])} of the people in {pairs_file} (by their folder names, e.g. "
                f"{shared['identities'][0]}) are training identities: its verification will look better than on "
                "new people. `tfface-split` makes identity-disjoint lists and pairs.")


def finished_report(workdir: str) -> dict:
    """The verification report a finished run wrote (its eval.json; {} when it had no pairs to verify on)."""
    path = os.path.join(workdir, "eval.json")
    return json.load(open(path)) if os.path.isfile(path) else {}


def chief_printer(run: Run, printer=PRINT):
    """``printer`` on the chief, silence on the other workers."""
    return printer if run.chief else (lambda s: None)


def finish_run(run: Run, embedder: keras.Model, info: dict, printer=PRINT) -> dict:
    """Export the embedding model (chief only) and evaluate verification on the run's pairs file."""
    cfg = run.cfg
    export_dir = worker_path(cfg.workdir, "export", run.strategy)
    chips = chip_sizes(run.data.source.paths) if getattr(run.data, "source", None) is not None else None
    export_saved_model(embedder, export_dir, cfg.data.image_size,
                       {**info, **({"training_chip_sizes": chips} if chips else {})}, flip=cfg.eval.flip)
    if not run.chief:
        shutil.rmtree(export_dir, ignore_errors=True)
        return {}
    printer(f"exported SavedModel to {export_dir}")
    if not run.pairs_file:
        return {}
    return verify_saved_model(export_dir, run.pairs_file, cfg.eval.root, cfg.workdir, cfg.eval.flip, cfg.eval.batch,
                              printer, write_calibration=True)


def chip_sizes(paths, sample: int = 64, seed: int = 0) -> list[list[int]]:
    """The distinct [width, height] of a seeded sample of the training images (read from their headers): what
    :func:`tfface.load` takes as the chips the model was trained on."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    picked = rng.choice(len(paths), min(sample, len(paths)), replace=False)
    sizes = set()
    for i in picked:
        with Image.open(paths[i]) as img:
            sizes.add(tuple(img.size))
    return [list(size) for size in sorted(sizes)]


def verification_hook(run: Run, embed, printer=PRINT) -> list:
    """The in-training verification hook (--eval_every) on the chief, if asked for."""
    cfg = run.cfg
    if not (cfg.eval_every and run.pairs_file and run.chief):
        return []
    pairs = read_pairs(run.pairs_file, cfg.eval.root)

    def hook(step):
        report, _ = evaluate_pairs(embed, pairs, cfg.data.image_size, cfg.eval.batch, flip=False)
        printer(f"step {step}: verification accuracy {report['accuracy'] * 100:.2f}%")
        return {"eval/accuracy": report["accuracy"], "eval/auc": report["auc"]}

    return [hook]


def trainer_config(cfg: RunConfig, **overrides) -> TrainerConfig:
    """The loop settings (--steps, --batch_size, --log_every, --checkpoint_every, --eval_every, --jit_compile,
    --steps_per_loop)."""
    return TrainerConfig(cfg.loop.steps, cfg.loop.batch_size, cfg.workdir, cfg.log_every, cfg.checkpoint_every,
                         hook_every=cfg.eval_every, jit_compile=cfg.jit_compile,
                         **{"steps_per_loop": cfg.steps_per_loop, **overrides})


def make_trainer(run: Run, task: Task, optimizer, embed, printer=PRINT, hooks: list | None = None,
                 **kwargs) -> Trainer:
    """The program's Trainer: --steps and the other loop flags, the verification hook on ``embed`` (or the
    ``hooks`` given, e.g. one hook shared by several trainers), logs on the chief only (``kwargs`` go to
    :class:`Trainer`)."""
    hooks = verification_hook(run, embed, printer) if hooks is None else hooks
    source = getattr(run.data, "source", None)
    if source is not None:
        kwargs.setdefault("explain_input_error", lambda err: explain_decode_failure(err, source.paths, printer))
    if embed is not None:  # no checkpoint of a model whose embeddings overflow: it is no place to resume from
        kwargs.setdefault("check_model", lambda what, advice: check_embeddings(embed, run.cfg.data.image_size, what,
                                                                              advice))
    return Trainer(run.strategy, task, optimizer, trainer_config(run.cfg), hooks=hooks,
                   printer=chief_printer(run, printer), **kwargs)
